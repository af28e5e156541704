import DLInferCore
import DLInferEngine
import DLInferONNX
import Foundation
import SwiftProtobuf
import XCTest

/// The library reads ONNX's protobuf with its own decoder (Sources/DLInferONNX/Proto); these tests hold it to
/// SwiftProtobuf's: damaged models are refused, with the same error, exactly when SwiftProtobuf refuses them, and what
/// decodes reads the same; packed and unpacked repeated fields, unknown fields and groups are read as protobuf says.
final class ProtoDecodingTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/models").path

    /// Seeds: small fixture models, and one built here with a subgraph, a model-local function, typed-field
    /// initializers and every attribute kind the importer reads.
    private func seeds() throws -> [[UInt8]] {
        var out = try ["efficientnet_fp16", "keras_gru_forecaster", "keras_digits_cnn"].map {
            [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(Self.fixtures)/\($0)/model.onnx")))
        }
        var b = ModelBuilder(opset: 20)
        b.input("x", .float32, [.symbol("n"), .fixed(3)])
        b.output("y", .float32)
        var w = Onnx_TensorProto()
        w.name = "w"; w.dataType = DType.float32.rawValue; w.dims = [3]; w.floatData = [1, -2, 0.5]
        b.graph.initializer.append(w)
        var k = Onnx_TensorProto()
        k.name = "k"; k.dataType = DType.int64.rawValue; k.dims = [2]; k.int64Data = [-1, 3]
        b.graph.initializer.append(k)
        var thenG = Onnx_GraphProto(), elseG = Onnx_GraphProto()
        thenG.name = "then"; elseG.name = "else"
        var t = Onnx_NodeProto(); t.opType = "Identity"; t.input = ["x"]; t.output = ["t"]; thenG.node = [t]
        var e = Onnx_NodeProto(); e.opType = "Neg"; e.input = ["x"]; e.output = ["e"]; elseG.node = [e]
        var to = Onnx_ValueInfoProto(); to.name = "t"; thenG.output = [to]
        var eo = Onnx_ValueInfoProto(); eo.name = "e"; elseG.output = [eo]
        b.node("Mul", ["x", "w"], ["m"])
        b.node("ReduceSum", ["m"], ["c"], [attr("keepdims", 0)])
        b.node("Cast", ["c"], ["cb"], [attr("to", Int(DType.bool.rawValue))])
        b.node("If", ["cb"], ["i"], [attr("then_branch", thenG), attr("else_branch", elseG)])
        b.node("LeakyRelu", ["i"], ["l"], [attr("alpha", Float(0.1))])
        b.node("Transpose", ["l"], ["p"], [attr("perm", [1, 0])])
        b.node("Gelu", ["p"], ["r"], [attr("approximate", "tanh")])
        b.node("Scale2", ["r"], ["y"], domain: "local")
        var f = Onnx_FunctionProto()
        f.name = "Scale2"; f.domain = "local"; f.input = ["a"]; f.output = ["b"]
        var opset = Onnx_OperatorSetIdProto(); opset.version = 20
        f.opsetImport = [opset]
        var add = Onnx_NodeProto(); add.opType = "Add"; add.input = ["a", "a"]; add.output = ["b"]
        f.node = [add]
        b.functions = [f]
        var m = Onnx_ModelProto()
        m.irVersion = 8; m.producerName = "tests"; m.producerVersion = "1"; m.docString = "doc"
        m.opsetImport = [opset]
        var d = Onnx_OperatorSetIdProto(); d.domain = "local"; d.version = 1
        m.opsetImport.append(d)
        var meta = Onnx_StringStringEntryProto(); meta.key = "k"; meta.value = "v"
        m.metadataProps = [meta]
        m.graph = b.graph
        m.functions = b.functions
        out.append([UInt8](try m.serializedData()))
        return out
    }

    /// What the library's summary should say of a model SwiftProtobuf decoded.
    private func expectedSummary(_ m: Onnx_ModelProto) -> (opset: Int?, producer: String, graph: String, tensors: Int, ops: [String: Int]) {
        var ops = [String: Int]()
        func isDefault(_ d: String) -> Bool { d.isEmpty || d == "ai.onnx" }
        func graph(_ g: Onnx_GraphProto) { for n in g.node { node(n) } }
        func node(_ n: Onnx_NodeProto) {
            ops[isDefault(n.domain) ? n.opType : "\(n.domain).\(n.opType)", default: 0] += 1
            for a in n.attribute {
                if a.hasG { graph(a.g) }
                for g in a.graphs { graph(g) }
            }
        }
        graph(m.graph)
        for f in m.functions { for n in f.node { node(n) } }
        var opset: Int? = nil
        for imp in m.opsetImport where isDefault(imp.domain) { opset = Int(imp.version) }
        return (opset, [m.producerName, m.producerVersion].filter { !$0.isEmpty }.joined(separator: " "), m.graph.name,
                m.graph.initializer.count, ops)
    }

    /// Compares the two decoders on one input; returns whether it decoded.
    @discardableResult
    private func compare(_ bytes: [UInt8], _ label: String, file: StaticString = #filePath, line: UInt = #line) -> Bool {
        var options = BinaryDecodingOptions()
        options.messageDepthLimit = 64
        let reference: Result<Onnx_ModelProto, Error> = Result { try Onnx_ModelProto(serializedBytes: bytes, options: options) }
        let got: Result<ONNXModelSummary, Error> = Result { try ONNXImporter.summary(bytes: bytes) }
        switch (reference, got) {
        case (.failure(let e), .failure(let g)):
            XCTAssertEqual((g as? DLInferError)?.message, "not a valid ONNX model (protobuf decoding failed: \(e))", label,
                           file: file, line: line)
            return false
        case (.failure(let e), .success):
            XCTFail("\(label): SwiftProtobuf refuses it (\(e)), the library decodes it", file: file, line: line)
            return false
        case (.success, .failure(let g)):
            XCTFail("\(label): SwiftProtobuf decodes it, the library refuses it: \(g)", file: file, line: line)
            return true
        case (.success(let m), .success(let s)):
            let want = expectedSummary(m)
            XCTAssertEqual(s.opset, want.opset, label, file: file, line: line)
            XCTAssertEqual(s.producer, want.producer, label, file: file, line: line)
            XCTAssertEqual(s.graphName, want.graph, label, file: file, line: line)
            XCTAssertEqual(s.parameterTensors, want.tensors, label, file: file, line: line)
            XCTAssertEqual(Dictionary(uniqueKeysWithValues: s.opCounts.map { ($0.op, $0.count) }), want.ops, label,
                           file: file, line: line)
            return true
        }
    }

    func testSeedsDecodeAndLoad() throws {
        for (k, seed) in try seeds().enumerated() {
            XCTAssertTrue(compare(seed, "seed \(k)"))
            XCTAssertNoThrow(try Model.load(bytes: seed), "seed \(k)")
        }
    }

    /// Damaged copies of the seeds (bytes changed, cut, inserted, repeated): each is refused or read as SwiftProtobuf
    /// does. DLINFER_PROTO_MUTATIONS sets how many per seed (default 400).
    func testDamagedModelsDecodeAsSwiftProtobufDoes() throws {
        let perSeed = ProcessInfo.processInfo.environment["DLINFER_PROTO_MUTATIONS"].flatMap { Int($0) } ?? 400
        var rng = SplitMix64(seed: 0x5EED)
        var decoded = 0, refused = 0
        for (k, seed) in try seeds().enumerated() {
            for i in 0..<perSeed {
                var m = seed
                for _ in 0...Int(rng.next() % 3) {
                    let at = Int(rng.next() % UInt64(m.count))
                    switch rng.next() % 6 {
                    case 0: m[at] ^= UInt8(1 << (rng.next() % 8))
                    case 1: m[at] = UInt8(truncatingIfNeeded: rng.next())
                    case 2: m.removeSubrange(at...)
                    case 3: m.insert(contentsOf: (0..<1 + Int(rng.next() % 4)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, at: at)
                    case 4: m.insert(contentsOf: m[at..<min(m.count, at + 1 + Int(rng.next() % 64))], at: at)
                    default:
                        // A plausible tag: a small field number with a random wire type.
                        m[at] = UInt8(truncatingIfNeeded: (rng.next() % 30) << 3 | rng.next() % 8)
                    }
                    if m.isEmpty { m = [0x08] }
                }
                if compare(m, "seed \(k) mutation \(i)") { decoded += 1 } else { refused += 1 }
            }
        }
        print("damaged models: \(decoded) decoded, \(refused) refused, by both decoders alike")
        XCTAssertGreaterThan(decoded, 0)
        XCTAssertGreaterThan(refused, 0)
    }

    /// Hand-encoded fields SwiftProtobuf's encoder never writes: packed repeated scalars, unknown fields of every wire
    /// type (a group among them), a known field with the wrong wire type, a field given twice.
    func testPackedUnknownAndRepeatedFields() throws {
        func varint(_ v: UInt64) -> [UInt8] {
            var v = v, out = [UInt8]()
            while v >= 0x80 { out.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
            return out + [UInt8(v)]
        }
        func tag(_ field: UInt64, _ wire: UInt64) -> [UInt8] { varint(field << 3 | wire) }
        func delimited(_ field: UInt64, _ body: [UInt8]) -> [UInt8] { tag(field, 2) + varint(UInt64(body.count)) + body }
        let floats: [Float] = [1.5, -2, 3.25, 0, 7, 8]
        var p = [UInt8]()
        p += delimited(1, varint(2) + varint(1))  // dims, packed: [2, 1]
        p += tag(1, 0) + varint(3)  // dims, one more unpacked: [2, 1, 3]
        p += tag(2, 0) + varint(UInt64(DType.float32.rawValue))  // data_type
        p += delimited(4, floats[0..<4].flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) })  // float_data, packed
        p += tag(4, 5) + withUnsafeBytes(of: floats[4].bitPattern.littleEndian, Array.init)  // float_data, unpacked
        p += tag(4, 5) + withUnsafeBytes(of: floats[5].bitPattern.littleEndian, Array.init)
        p += delimited(8, Array("first".utf8)) + delimited(8, Array("t".utf8))  // name twice: the last one counts
        p += tag(2, 5) + [0, 0, 0, 0]  // data_type with a fixed32 wire type: an unknown field
        p += tag(99, 0) + varint(1 << 40) + tag(98, 1) + [UInt8](repeating: 9, count: 8) + delimited(97, [1, 2, 3])
        p += tag(96, 3) + tag(1, 0) + varint(5) + tag(2, 3) + tag(2, 4) + tag(96, 4)  // a group holding a group
        let reference = try Onnx_TensorProto(serializedBytes: p)
        XCTAssertEqual(reference.dims, [2, 1, 3])
        XCTAssertEqual(reference.floatData, floats)
        let (name, t) = try ONNXTensorFile.read(p)
        XCTAssertEqual(name, "t")
        XCTAssertEqual(t.shape, [2, 1, 3])
        XCTAssertEqual(t.array(Float.self), floats)

        // A packed float run that is not a whole number of values, a group that never ends, an end-group tag alone,
        // a string that is not UTF-8, a varint of 11 bytes: the same error as SwiftProtobuf's.
        let bad: [[UInt8]] = [
            delimited(4, [0, 0, 0]),
            tag(96, 3) + tag(1, 0) + varint(5),
            tag(96, 4),
            delimited(8, [0xC3, 0x28]),
            tag(1, 0) + [UInt8](repeating: 0xFF, count: 10) + [1],
            tag(1, 0) + [0x80],
            delimited(9, [1]).dropLast(),
        ]
        for b in bad {
            let e = try XCTUnwrap(Result { try Onnx_TensorProto(serializedBytes: b) }.failureValue, "\(b)")
            XCTAssertThrowsError(try ONNXTensorFile.read(b), "\(b)") { g in
                XCTAssertEqual((g as? DLInferError)?.message, "not a TensorProto: \(e)", "\(b)")
            }
        }
    }
}

private extension Result {
    var failureValue: Failure? { if case .failure(let e) = self { return e } else { return nil } }
}
