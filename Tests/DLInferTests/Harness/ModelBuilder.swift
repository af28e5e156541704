import DLInferCore
import DLInferEngine
import DLInferONNX
import Foundation
import XCTest

// The shared harness for op tests: ONNX models of a few nodes built in memory and loaded through the importer, as
// users' files are, plus input generators.

extension Model {
    /// A serialized model from SwiftProtobuf or a file read with Foundation (the library takes bytes).
    static func load(data: Data) throws -> Model { try load(bytes: [UInt8](data)) }
}

/// One-graph ONNX models built in memory, loaded through the importer like a file.
struct ModelBuilder {
    let opset: Int
    var graph = Onnx_GraphProto()
    /// Model-local functions (called by nodes whose domain and op type name them).
    var functions: [Onnx_FunctionProto] = []
    init(opset: Int) { self.opset = opset }

    mutating func input(_ name: String, _ dtype: DType, _ dims: [Dim]) {
        graph.input.append(valueInfo(name, dtype, dims))
    }
    mutating func output(_ name: String, _ dtype: DType) { graph.output.append(valueInfo(name, dtype, nil)) }
    /// A graph input declared without a type (allowed for the formal inputs of control-flow bodies).
    mutating func untypedInput(_ name: String) {
        var v = Onnx_ValueInfoProto()
        v.name = name
        graph.input.append(v)
    }
    mutating func constant(_ name: String, _ t: Tensor) { graph.initializer.append(tensorProto(t, name)) }
    mutating func node(_ op: String, _ inputs: [String], _ outputs: [String], _ attrs: [Onnx_AttributeProto] = [],
                       domain: String = "") {
        var n = Onnx_NodeProto()
        n.opType = op; n.input = inputs; n.output = outputs; n.attribute = attrs; n.domain = domain
        n.name = "\(op)_\(graph.node.count)"
        graph.node.append(n)
    }

    func load() throws -> Model { try Model.load(data: try serialized()) }

    /// The model as a file holds it.
    func serialized() throws -> Data {
        var m = Onnx_ModelProto()
        m.irVersion = 8
        var o = Onnx_OperatorSetIdProto()
        o.version = Int64(opset)
        m.opsetImport = [o]
        for f in functions where !m.opsetImport.contains(where: { $0.domain == f.domain }) {
            var d = Onnx_OperatorSetIdProto()
            d.domain = f.domain; d.version = 1
            m.opsetImport.append(d)
        }
        m.graph = graph
        m.functions = functions
        return try m.serializedData()
    }

    func run(_ inputs: [Tensor]) throws -> [Tensor] { try InferenceSession(model: load()).run(inputs) }

    private func valueInfo(_ name: String, _ dtype: DType, _ dims: [Dim]?) -> Onnx_ValueInfoProto {
        var t = Onnx_TypeProto.Tensor()
        t.elemType = dtype.rawValue
        if let dims {
            var s = Onnx_TensorShapeProto()
            s.dim = dims.map { d in
                var x = Onnx_TensorShapeProto.Dimension()
                switch d {
                case .fixed(let v): x.dimValue = Int64(v)
                case .symbol(let n): x.dimParam = n
                }
                return x
            }
            t.shape = s
        }
        var v = Onnx_ValueInfoProto()
        v.name = name
        v.type.tensorType = t
        return v
    }
}

func tensorProto(_ t: Tensor, _ name: String) -> Onnx_TensorProto {
    var p = Onnx_TensorProto()
    p.name = name
    p.dataType = t.dtype.rawValue
    p.dims = t.shape.map { Int64($0) }
    p.rawData = Data(UnsafeRawBufferPointer(start: t.raw, count: t.byteCount))
    if let width = SubByte.bits(t.dtype) {
        // Packed as ONNX stores them: element i in bits (i % perByte) * width of byte i / perByte.
        let perByte = 8 / width, mask = UInt8(1 << width - 1)
        var packed = [UInt8](repeating: 0, count: (t.count + perByte - 1) / perByte)
        let src = t.raw.assumingMemoryBound(to: UInt8.self)
        for i in 0..<t.count { packed[i / perByte] |= (src[i] & mask) << UInt8(i % perByte * width) }
        p.rawData = Data(packed)
    }
    return p
}

func attr(_ name: String, _ v: Int) -> Onnx_AttributeProto {
    var a = Onnx_AttributeProto()
    a.name = name; a.type = .int; a.i = Int64(v)
    return a
}

func attr(_ name: String, _ v: [Int]) -> Onnx_AttributeProto {
    var a = Onnx_AttributeProto()
    a.name = name; a.type = .ints; a.ints = v.map { Int64($0) }
    return a
}

func attr(_ name: String, _ t: Tensor) -> Onnx_AttributeProto {
    var a = Onnx_AttributeProto()
    a.name = name; a.type = .tensor; a.t = tensorProto(t, name)
    return a
}

/// A tensor of `dtype` whose elements differ from their neighbours (bytes of a counter).
func patterned(_ dtype: DType, _ shape: [Int], seed: Int = 0) -> Tensor {
    let t = try! Tensor(dtype: dtype, shape: shape)
    let p = t.raw.assumingMemoryBound(to: UInt8.self)
    for i in 0..<t.byteCount {
        // Bools must be 0 or 1; float16 bytes stay finite.
        let v = UInt8(truncatingIfNeeded: i &* 7 &+ i / 251 &+ seed &* 13)
        p[i] = dtype == .bool ? v & 1 : v & 0x3F
    }
    return t
}

func attr(_ name: String, _ v: Float) -> Onnx_AttributeProto {
    var a = Onnx_AttributeProto()
    a.name = name; a.type = .float; a.f = v
    return a
}

func attr(_ name: String, _ v: [Float]) -> Onnx_AttributeProto {
    var a = Onnx_AttributeProto()
    a.name = name; a.type = .floats; a.floats = v
    return a
}

func attr(_ name: String, _ v: String) -> Onnx_AttributeProto {
    var a = Onnx_AttributeProto()
    a.name = name; a.type = .string; a.s = Data(v.utf8)
    return a
}

func attr(_ name: String, _ g: Onnx_GraphProto) -> Onnx_AttributeProto {
    var a = Onnx_AttributeProto()
    a.name = name; a.type = .graph; a.g = g
    return a
}

/// The tensor's bytes, for exact comparisons of any dtype.
func bytes(_ t: Tensor) -> [UInt8] { Array(UnsafeRawBufferPointer(start: t.raw, count: t.byteCount)) }
