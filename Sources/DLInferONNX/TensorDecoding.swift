import DLInferCore
#if canImport(Glibc)
import Glibc
#endif

/// Where a model's external data may be read from: locations are resolved in `folder` (the folder of the model file
/// as the caller named it), and the real path of each data file, links resolved, must lie in `realFolder` (the folder
/// of the model file's own real path). A model and its data that are both links into one folder (Hugging Face's
/// cache) load; a link to anything outside does not.
public struct ExternalDataRoot: Sendable {
    public let folder: String
    public let realFolder: String

    /// For the model file at `path`; nil if it cannot be resolved.
    public init?(modelPath path: String) {
        let dir = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        folder = dir.isEmpty ? (path.hasPrefix("/") ? "/" : ".") : dir
        guard let real = realPath(path) else { return nil }
        let realDir = real.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        realFolder = realDir.isEmpty ? "/" : realDir
    }
}

/// The canonical absolute path, links resolved; nil if it does not exist.
func realPath(_ path: String) -> String? {
    guard let p = realpath(path, nil) else { return nil }
    defer { free(p) }
    return String(cString: p)
}

/// What tensors of one model are decoded with: where external data may come from, and the memory they may take
/// (all weights of a model together).
struct TensorSource {
    let external: ExternalDataRoot?
    let budget: MemoryBudget
    static let inline = TensorSource(external: nil, budget: MemoryBudget(limit: MemoryBudget.defaultLimit))
}

/// TensorProto -> host Tensor: raw_data, the typed repeated fields, and external data files.
enum TensorDecoding {
    /// `releasing`: the tensor is decoded once (a main-graph initializer), so its bytes in the model's buffer are
    /// released once copied.
    static func decode(_ p: Onnx_TensorProto, _ source: TensorSource, releasing: Bool = false) throws -> Tensor {
        let name = p.name.isEmpty ? "<unnamed>" : p.name
        guard let dtype = DType(rawValue: p.dataType) else {
            throw DLInferError.unsupported("tensor '\(name)' has element type \(onnxTypeName(Int(p.dataType))), which dlinfer does not support")
        }
        guard dtype != .string else { throw DLInferError.unsupported("tensor '\(name)' holds strings, which dlinfer does not support") }
        guard p.dims.allSatisfy({ $0 >= 0 }) else { throw DLInferError.model("tensor '\(name)' has negative dims \(p.dims)") }
        guard p.dims.count <= maxRank else { throw DLInferError.model("tensor '\(name)' has rank \(p.dims.count), more than the maximum rank \(maxRank)") }
        let shape = p.dims.map { Int($0) }
        let (count, overflow) = shape.reduce((1, false)) { acc, d in
            let (m, o) = acc.0.multipliedReportingOverflow(by: d); return (m, acc.1 || o)
        }
        guard !overflow, count <= (1 << 40) / dtype.byteSize else { throw DLInferError.model("tensor '\(name)' is too large: dims \(p.dims)") }
        // The 2- and 4-bit types come packed: their bytes are read into the tensor, then unpacked in place.
        let packed = SubByte.bits(dtype) != nil
        let bytes = packed ? SubByte.packedBytes(dtype, count: count) : count * dtype.byteSize
        // The dims are checked against the data before anything is allocated: a few bytes of model may claim a
        // terabyte-sized tensor, and a failed allocation is a crash, not an error.
        if p.dataLocation == .external {
            return unpacked(try readExternal(p, dtype: dtype, shape: shape, bytes: bytes, source, name: name))
        }
        if p.hasRawData {
            guard p.rawData.count == bytes else {
                throw DLInferError.model("tensor '\(name)': raw_data has \(p.rawData.count) bytes, \(dtype)\(shape) needs \(bytes)")
            }
            let t = try Tensor(dtype: dtype, shape: shape, budget: source.budget)
            try p.rawData.copy(to: t.raw, releasing: releasing)
            return unpacked(t)
        }
        if packed {
            // One packed byte per int32_data entry.
            guard p.int32Data.count == bytes else {
                throw DLInferError.model("tensor '\(name)': int32_data has \(p.int32Data.count) values, \(dtype)\(shape) needs \(bytes) packed bytes")
            }
            let t = try Tensor(dtype: dtype, shape: shape, budget: source.budget)
            for i in 0..<bytes { t.raw.storeBytes(of: UInt8(truncatingIfNeeded: p.int32Data[i]), toByteOffset: i, as: UInt8.self) }
            return unpacked(t)
        }
        let (field, given) = typedField(p, dtype)
        guard given == count else {
            throw DLInferError.model("tensor '\(name)': \(field) has \(given) values, shape \(shape) needs \(count)")
        }
        let t = try Tensor(dtype: dtype, shape: shape, budget: source.budget)
        func fill<S, D: TensorElement>(_ src: [S], _: D.Type, _ convert: (S) -> D) {
            let dst = t.pointer(D.self)
            for i in 0..<count { dst[i] = convert(src[i]) }
        }
        switch dtype {
        case .float32: fill(p.floatData, Float.self) { $0 }
        case .float64: fill(p.doubleData, Double.self) { $0 }
        case .int64: fill(p.int64Data, Int64.self) { $0 }
        case .int32: fill(p.int32Data, Int32.self) { $0 }
        case .int16: fill(p.int32Data, Int16.self) { Int16(truncatingIfNeeded: $0) }
        case .int8: fill(p.int32Data, Int8.self) { Int8(truncatingIfNeeded: $0) }
        case .float8e4m3fn, .float8e4m3fnuz, .float8e5m2, .float8e5m2fnuz, .float8e8m0:
            // The 8-bit floats' bits, one per int32_data entry (there is no Swift element type to fill).
            let dst = t.raw.assumingMemoryBound(to: UInt8.self)
            for i in 0..<count { dst[i] = UInt8(truncatingIfNeeded: p.int32Data[i]) }
        case .uint8: fill(p.int32Data, UInt8.self) { UInt8(truncatingIfNeeded: $0) }
        case .uint16, .float16, .bfloat16: fill(p.int32Data, UInt16.self) { UInt16(truncatingIfNeeded: $0) }
        case .bool: fill(p.int32Data, Bool.self) { $0 != 0 }
        case .uint32: fill(p.uint64Data, UInt32.self) { UInt32(truncatingIfNeeded: $0) }
        case .uint64: fill(p.uint64Data, UInt64.self) { $0 }
        case .string, .uint4, .int4, .float4e2m1, .uint2, .int2: break  // handled above
        }
        return t
    }

    /// `t` with its packed 2- or 4-bit elements (at the start of its memory) unpacked in place; other tensors as they are.
    private static func unpacked(_ t: Tensor) -> Tensor {
        if SubByte.bits(t.dtype) != nil {
            let p = t.raw.assumingMemoryBound(to: UInt8.self)
            SubByte.unpack(p, count: t.count, t.dtype, into: p)
        }
        return t
    }

    /// The name and value count of the typed field that holds `dtype`'s values.
    private static func typedField(_ p: Onnx_TensorProto, _ dtype: DType) -> (String, Int) {
        switch dtype {
        case .float32: return ("float_data", p.floatData.count)
        case .float64: return ("double_data", p.doubleData.count)
        case .int64: return ("int64_data", p.int64Data.count)
        case .int32, .int16, .int8, .uint8, .uint16, .float16, .bfloat16, .bool, .float8e4m3fn, .float8e4m3fnuz, .float8e5m2,
             .float8e5m2fnuz, .float8e8m0:
            return ("int32_data", p.int32Data.count)
        case .uint32, .uint64: return ("uint64_data", p.uint64Data.count)
        case .string: return ("string_data", p.stringData.count)
        case .uint4, .int4, .float4e2m1, .uint2, .int2: return ("int32_data", p.int32Data.count)
        }
    }

    private static func readExternal(_ p: Onnx_TensorProto, dtype: DType, shape: [Int], bytes: Int, _ source: TensorSource,
                                     name: String) throws -> Tensor {
        var info = [String: String]()
        for e in p.externalData { info[e.key] = e.value }
        guard let location = info["location"], !location.isEmpty else {
            throw DLInferError.model("tensor '\(name)' is stored externally but names no location")
        }
        guard let root = source.external else {
            throw DLInferError.invalid("tensor '\(name)' is stored in external file '\(location)'; load the model from a file path, not a buffer")
        }
        guard !location.hasPrefix("/"), !location.split(separator: "/").contains(".."), !location.utf8.contains(0) else {
            throw DLInferError.model("tensor '\(name)': external data location '\(location)' must be a relative path inside the model's folder")
        }
        let offset = Int(info["offset"] ?? "0") ?? -1
        let length = info["length"].flatMap { Int($0) } ?? bytes
        guard offset >= 0, length == bytes else {
            throw DLInferError.model("tensor '\(name)': external data offset \(info["offset"] ?? "0"), length \(length), needs \(bytes) bytes")
        }
        let path = root.folder + "/" + location
        guard let real = realPath(path) else {
            throw DLInferError(.notFound, "tensor '\(name)': external data file '\(path)' cannot be opened")
        }
        guard real.hasPrefix(root.realFolder == "/" ? "/" : root.realFolder + "/") else {
            throw DLInferError.model("tensor '\(name)': external data file '\(path)' is a link to '\(real)', outside the model's folder '\(root.realFolder)'")
        }
        // A regular file only: a FIFO or device would block or never end, a directory has no data.
        var st = stat()
        guard stat(real, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
            throw DLInferError.model("tensor '\(name)': external data '\(path)' is not a regular file")
        }
        let fd = open(real, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw DLInferError(.io, "tensor '\(name)': external data file '\(path)' cannot be opened") }
        defer { close(fd) }
        // The file opened must be the one checked (not swapped for a link or a FIFO in between).
        var opened = stat()
        guard fstat(fd, &opened) == 0, opened.st_mode & S_IFMT == S_IFREG, opened.st_dev == st.st_dev, opened.st_ino == st.st_ino else {
            throw DLInferError.model("tensor '\(name)': external data file '\(path)' changed while it was opened")
        }
        let size = Int(opened.st_size)
        guard offset <= size, bytes <= size - offset else {
            throw DLInferError(.io, "tensor '\(name)': external data file '\(path)' has \(Swift.max(size - offset, 0)) bytes at offset \(offset), \(bytes) needed")
        }
        let t = try Tensor(dtype: dtype, shape: shape, budget: source.budget)
        // Bounded reads: a short read (a file truncated meanwhile) is an error, not garbage.
        var done = 0
        while done < bytes {
            let n = pread(fd, t.raw + done, Swift.min(bytes - done, 1 << 26), off_t(offset + done))
            guard n > 0 else {
                throw DLInferError(.io, "tensor '\(name)': external data file '\(path)' ended after \(done) of \(bytes) bytes at offset \(offset)")
            }
            done += n
        }
        return t
    }
}

/// Public entry for reading a serialized TensorProto (the ONNX test data's `input_0.pb`).
public enum ONNXTensorFile {
    public static func read(_ bytes: [UInt8]) throws -> (name: String, tensor: Tensor) {
        let p: Onnx_TensorProto
        do { p = try Onnx_TensorProto(serializedBytes: bytes) } catch {
            throw DLInferError.model("not a TensorProto: \(error)")
        }
        return (p.name, try TensorDecoding.decode(p, .inline))
    }
}

/// The ONNX name of an element type code, for messages about types dlinfer lacks.
func onnxTypeName(_ code: Int) -> String {
    let names = [8: "string", 14: "complex64", 15: "complex128", 16: "bfloat16", 17: "float8e4m3fn",
                 18: "float8e4m3fnuz", 19: "float8e5m2", 20: "float8e5m2fnuz", 21: "uint4", 22: "int4",
                 23: "float4e2m1", 24: "float8e8m0", 25: "uint2", 26: "int2", 27: "float6e2m3", 28: "float6e3m2"]
    return names[code] ?? DType(rawValue: Int32(truncatingIfNeeded: code))?.description ?? "element type code \(code)"
}
