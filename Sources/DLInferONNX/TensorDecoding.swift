import DLInferCore
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import SwiftProtobuf

/// TensorProto -> host Tensor: raw_data, the typed repeated fields, and external data files.
enum TensorDecoding {
    static func decode(_ p: Onnx_TensorProto, baseDirectory: String?) throws -> Tensor {
        let name = p.name.isEmpty ? "<unnamed>" : p.name
        guard let dtype = DType(rawValue: p.dataType) else {
            throw DLInferError.unsupported("tensor '\(name)' has element type code \(p.dataType), which dlinfer does not support")
        }
        guard dtype != .string else { throw DLInferError.unsupported("tensor '\(name)' holds strings, which dlinfer does not support") }
        guard p.dims.allSatisfy({ $0 >= 0 }) else { throw DLInferError.model("tensor '\(name)' has negative dims \(p.dims)") }
        let shape = p.dims.map { Int($0) }
        let (count, overflow) = shape.reduce((1, false)) { acc, d in
            let (m, o) = acc.0.multipliedReportingOverflow(by: d); return (m, acc.1 || o)
        }
        guard !overflow, count <= (1 << 40) / dtype.byteSize else { throw DLInferError.model("tensor '\(name)' is too large: dims \(p.dims)") }
        let t = Tensor(dtype: dtype, shape: shape)
        let bytes = count * dtype.byteSize

        if p.dataLocation == .external {
            try readExternal(p, into: t, bytes: bytes, baseDirectory: baseDirectory, name: name)
            return t
        }
        if p.hasRawData {
            guard p.rawData.count == bytes else {
                throw DLInferError.model("tensor '\(name)': raw_data has \(p.rawData.count) bytes, \(dtype)\(shape) needs \(bytes)")
            }
            p.rawData.withUnsafeBytes { if bytes > 0 { t.raw.copyMemory(from: $0.baseAddress!, byteCount: bytes) } }
            return t
        }
        func fill<S, D: TensorElement>(_ src: [S], _: D.Type, _ field: String, _ convert: (S) -> D) throws {
            guard src.count == count else {
                throw DLInferError.model("tensor '\(name)': \(field) has \(src.count) values, shape \(shape) needs \(count)")
            }
            let dst = t.pointer(D.self)
            for i in 0..<count { dst[i] = convert(src[i]) }
        }
        switch dtype {
        case .float32: try fill(p.floatData, Float.self, "float_data") { $0 }
        case .float64: try fill(p.doubleData, Double.self, "double_data") { $0 }
        case .int64: try fill(p.int64Data, Int64.self, "int64_data") { $0 }
        case .int32: try fill(p.int32Data, Int32.self, "int32_data") { $0 }
        case .int16: try fill(p.int32Data, Int16.self, "int32_data") { Int16(truncatingIfNeeded: $0) }
        case .int8: try fill(p.int32Data, Int8.self, "int32_data") { Int8(truncatingIfNeeded: $0) }
        case .uint8: try fill(p.int32Data, UInt8.self, "int32_data") { UInt8(truncatingIfNeeded: $0) }
        case .uint16, .float16: try fill(p.int32Data, UInt16.self, "int32_data") { UInt16(truncatingIfNeeded: $0) }
        case .bool: try fill(p.int32Data, Bool.self, "int32_data") { $0 != 0 }
        case .uint32: try fill(p.uint64Data, UInt32.self, "uint64_data") { UInt32(truncatingIfNeeded: $0) }
        case .uint64: try fill(p.uint64Data, UInt64.self, "uint64_data") { $0 }
        case .string: break
        }
        return t
    }

    private static func readExternal(_ p: Onnx_TensorProto, into t: Tensor, bytes: Int, baseDirectory: String?, name: String) throws {
        var info = [String: String]()
        for e in p.externalData { info[e.key] = e.value }
        guard let location = info["location"], !location.isEmpty else {
            throw DLInferError.model("tensor '\(name)' is stored externally but names no location")
        }
        guard let base = baseDirectory else {
            throw DLInferError.invalid("tensor '\(name)' is stored in external file '\(location)'; load the model from a file path, not a buffer")
        }
        guard !location.hasPrefix("/"), !location.split(separator: "/").contains("..") else {
            throw DLInferError.model("tensor '\(name)': external data location '\(location)' must be a relative path inside the model's folder")
        }
        let offset = Int(info["offset"] ?? "0") ?? -1
        let length = info["length"].flatMap { Int($0) } ?? bytes
        guard offset >= 0, length == bytes else {
            throw DLInferError.model("tensor '\(name)': external data offset \(info["offset"] ?? "0"), length \(length), needs \(bytes) bytes")
        }
        let path = base + "/" + location
        guard let f = fopen(path, "rb") else {
            throw DLInferError(.notFound, "tensor '\(name)': external data file '\(path)' cannot be opened")
        }
        defer { fclose(f) }
        let got = fseeko(f, off_t(offset), SEEK_SET) == 0 ? fread(t.raw, 1, bytes, f) : 0
        guard got == bytes else {
            throw DLInferError(.io, "tensor '\(name)': external data file '\(path)' has \(got) bytes at offset \(offset), \(bytes) needed")
        }
    }
}

/// Public entry for reading a serialized TensorProto (the ONNX test data's `input_0.pb`).
public enum ONNXTensorFile {
    public static func read(_ bytes: [UInt8]) throws -> (name: String, tensor: Tensor) {
        let p: Onnx_TensorProto
        do { p = try Onnx_TensorProto(serializedBytes: bytes) } catch {
            throw DLInferError.model("not a TensorProto: \(error)")
        }
        return (p.name, try TensorDecoding.decode(p, baseDirectory: nil))
    }
}
