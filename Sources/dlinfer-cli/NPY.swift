import DLInferCore

/// Reads and writes NumPy .npy files (format versions 1 to 3), C order, little-endian, for dlinfer's dtypes.
enum NPY {
    private static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // "\x93NUMPY"

    private static let descrs: [(String, DType)] = [
        ("f4", .float32), ("f8", .float64), ("f2", .float16), ("u1", .uint8), ("i1", .int8), ("u2", .uint16),
        ("i2", .int16), ("i4", .int32), ("i8", .int64), ("u4", .uint32), ("u8", .uint64), ("b1", .bool),
    ]

    /// `raw`: the type a 'V<n>' (raw bytes) array holds, n its size. numpy saves ml_dtypes' arrays (bfloat16,
    /// the 8-bit floats, int4, ...) that way, without their type.
    static func read(path: String, raw: DType? = nil) throws -> Tensor { try decode(Files.read(path), name: path, raw: raw) }

    static func decode(_ bytes: [UInt8], name: String, raw: DType? = nil) throws -> Tensor {
        func bad(_ why: String) -> DLInferError { .invalid("'\(name)' is not a usable .npy file: \(why)") }
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else { throw bad("missing the \\x93NUMPY magic") }
        let major = bytes[6]
        let headerStart: Int, headerLength: Int
        switch major {
        case 1:
            headerStart = 10
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        case 2, 3:
            guard bytes.count >= 12 else { throw bad("truncated header") }
            headerStart = 12
            headerLength = (8..<12).reduce(0) { $0 | Int(bytes[$1]) << (8 * ($1 - 8)) }
        default: throw bad("format version \(major) is not supported")
        }
        guard headerStart + headerLength <= bytes.count else { throw bad("truncated header") }
        guard let header = String(validating: bytes[headerStart..<headerStart + headerLength], as: UTF8.self) else {
            throw bad("the header is not text")
        }
        guard let descr = value(of: "descr", in: header), let fortran = value(of: "fortran_order", in: header),
              let shapeText = value(of: "shape", in: header) else { throw bad("header '\(header)' lacks descr, fortran_order or shape") }
        guard fortran == "False" else {
            throw bad("fortran_order is \(fortran); only C-order arrays are supported (save np.ascontiguousarray(a))")
        }
        let d = descr.trimmingQuotes
        let known = descrs.first(where: { $0.0 == d.dropFirst() })?.1
        guard let order = d.first, let dtype = known ?? raw.flatMap({ d.dropFirst() == "V\($0.byteSize)" ? $0 : nil }) else {
            throw bad("dtype '\(d)' is not supported; use one of \(descrs.map(\.1.description).joined(separator: ", "))"
                      + (raw.map { ", or raw bytes (V\($0.byteSize)) for this \($0) input" } ?? ""))
        }
        guard order == "<" || order == "|" || (order == "=" && dtype.byteSize == 1) else {
            throw bad("dtype '\(d)' is not little-endian")
        }
        let shape = try parseShape(shapeText, bad)
        var bytesNeeded = dtype.byteSize
        for n in shape {
            let (p, overflow) = bytesNeeded.multipliedReportingOverflow(by: n)
            guard !overflow else { throw bad("shape \(shape) is too large") }
            bytesNeeded = p
        }
        let start = headerStart + headerLength
        guard bytes.count - start == bytesNeeded else {
            throw bad("\(dtype) \(shape) needs \(bytesNeeded) data bytes, the file has \(bytes.count - start)")
        }
        let t = try Tensor(dtype: dtype, shape: shape)
        bytes.withUnsafeBytes { t.raw.copyMemory(from: $0.baseAddress! + start, byteCount: bytesNeeded) }
        if dtype == .bool {
            let b = t.raw.assumingMemoryBound(to: UInt8.self)
            for i in 0..<bytesNeeded where b[i] > 1 { b[i] = 1 }
        }
        return t
    }

    static func encode(_ t: Tensor) -> [UInt8] {
        // Types numpy lacks are written as raw bytes, as numpy saves ml_dtypes' arrays: view them as the type.
        let descr = (t.dtype.byteSize == 1 ? "|" : "<") + (descrs.first { $0.1 == t.dtype }?.0 ?? "V\(t.dtype.byteSize)")
        let shape = t.shape.count == 1 ? "(\(t.shape[0]),)" : "(\(t.shape.map(String.init).joined(separator: ", ")))"
        var header = Array("{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shape), }".utf8)
        // Pad so that the data starts on a 64-byte boundary, as numpy does.
        let total = 10 + header.count + 1
        header += Array(repeating: UInt8(ascii: " "), count: (64 - total % 64) % 64) + [UInt8(ascii: "\n")]
        var out = magic + [1, 0, UInt8(header.count & 0xFF), UInt8(header.count >> 8)] + header
        out += UnsafeRawBufferPointer(start: t.raw, count: t.byteCount)
        return out
    }

    static func write(_ t: Tensor, path: String) throws {
        guard t.dtype != .string else { throw DLInferError.invalid("cannot write a string tensor as .npy") }
        try Files.write(encode(t), to: path)
    }

    /// The text of `'key': value` in the header dict, up to the next top-level comma.
    private static func value(of key: String, in header: String) -> String? {
        guard let r = header.firstRange(of: "'\(key)':") else { return nil }
        var depth = 0
        var out = ""
        for c in header[r.upperBound...] {
            if c == "(" { depth += 1 }
            if c == ")" { depth -= 1 }
            if (c == "," && depth == 0) || c == "}" { break }
            out.append(c)
        }
        return out.trimmingSpaces
    }

    private static func parseShape(_ text: String, _ bad: (String) -> DLInferError) throws -> [Int] {
        guard text.hasPrefix("("), text.hasSuffix(")") else { throw bad("shape '\(text)' is not a tuple") }
        return try text.dropFirst().dropLast().split(separator: ",").map { $0.trimmingSpaces }.filter { !$0.isEmpty }.map {
            guard let n = Int($0), n >= 0 else { throw bad("shape '\(text)' has a bad dimension '\($0)'") }
            return n
        }
    }
}

extension StringProtocol {
    var trimmingQuotes: String {
        var s = Substring(self)
        if s.first == "'" || s.first == "\"" { s.removeFirst() }
        if s.last == "'" || s.last == "\"" { s.removeLast() }
        return String(s)
    }
}
