/// Why a protobuf message could not be decoded. The cases and their names are SwiftProtobuf's (BinaryDecodingError),
/// which this reader replaced, so messages read as before ("protobuf decoding failed: truncated").
enum ProtobufDecodingError: Error {
    /// The data ends inside a field.
    case truncated
    /// A tag, varint or group is not valid wire format.
    case malformedProtobuf
    /// A string field holds bytes that are not UTF-8.
    case invalidUTF8
    /// Messages nest deeper than the limit.
    case messageDepthLimit
}

/// The protobuf binary wire format, read the way SwiftProtobuf's BinaryDecoder (1.x) reads it, so a file decodes, or
/// fails, as it did when dlinfer used that library: a known field whose wire type differs from the schema's is
/// skipped as an unknown field would be; a repeated scalar field is accepted packed or not; a singular field seen twice
/// keeps the last value (a message field merges both); a closed enum's unknown value leaves the field unset; strings
/// must be UTF-8. Unknown fields are skipped, checked for valid wire format. Bytes fields are slices of the input
/// (`ProtoBytes`, no copy).
///
/// A message type decodes itself with a loop over `next()`, reading each field it knows with the typed reader of its
/// schema type and calling `skip()` for any other.
struct ProtoReader {
    enum Wire: UInt8 { case varint = 0, fixed64 = 1, lengthDelimited = 2, startGroup = 3, endGroup = 4, fixed32 = 5 }

    private let bytes: ProtoBuffer
    private var pos: Int
    private let end: Int
    /// Message levels left before `messageDepthLimit` (each message and group takes one).
    private var depthBudget: Int
    /// The current field's wire type and where its tag starts (a skipped field is re-read from its tag).
    private var wire = Wire.varint
    private var fieldStart = 0

    private init(_ bytes: ProtoBuffer, _ start: Int, _ end: Int, depthBudget: Int) {
        self.bytes = bytes; pos = start; self.end = end; self.depthBudget = depthBudget
    }

    /// Decodes a whole top-level message from `bytes` (`depthLimit`: the most nested messages, itself included).
    static func decode<M: ProtoMessage>(_: M.Type, from bytes: ProtoBuffer, depthLimit: Int) throws -> M {
        var r = ProtoReader(bytes, 0, bytes.count, depthBudget: depthLimit)
        var m = M()
        try r.enter()
        try m.decode(&r)
        return m
    }

    private var available: Int { end - pos }

    private mutating func enter() throws {
        depthBudget -= 1
        if depthBudget < 0 { throw ProtobufDecodingError.messageDepthLimit }
    }

    // MARK: tags

    /// The next field's number, or nil at the end of the message.
    mutating func next() throws -> Int? {
        guard pos < end else { return nil }
        fieldStart = pos
        let c0 = bytes[pos]
        guard let w = Wire(rawValue: c0 & 7) else { throw ProtobufDecodingError.malformedProtobuf }
        wire = w
        // Up to 5 bytes of tag (field numbers up to 2^29 - 1), as SwiftProtobuf's unrolled parser: a tag cut off by
        // the end of the message is malformed, not truncated.
        var number = Int(c0 & 0x7F) >> 3
        var k = 1
        var c = c0
        while c & 0x80 != 0 {
            guard k < 5, pos + k < end else { throw ProtobufDecodingError.malformedProtobuf }
            c = bytes[pos + k]
            if k == 4 && c > 15 { throw ProtobufDecodingError.malformedProtobuf }
            number |= Int(c & 0x7F) << (7 * k - 3)
            k += 1
        }
        pos += k
        // Field 0 does not exist; an end-group tag outside a group is invalid.
        guard number != 0, w != .endGroup else { throw ProtobufDecodingError.malformedProtobuf }
        return number
    }

    /// Skips the current field (unknown, or known with an unexpected wire type), checking its wire format.
    mutating func skip() throws {
        pos = fieldStart
        guard let (number, w) = try tagForSkip() else { throw ProtobufDecodingError.truncated }
        try skipBody(number, w)
    }

    /// A tag read as a plain varint (how SwiftProtobuf re-reads the tag of a field it skips, and the tags in a group).
    private mutating func tagForSkip() throws -> (Int, Wire)? {
        guard pos < end else { return nil }
        let t = try varint()
        guard t < UInt64(UInt32.max), let w = Wire(rawValue: UInt8(t & 7)), t >> 3 != 0 else {
            throw ProtobufDecodingError.malformedProtobuf
        }
        return (Int(t >> 3), w)
    }

    private mutating func skipBody(_ number: Int, _ w: Wire) throws {
        switch w {
        case .varint: _ = try varint()
        case .fixed64: try advance(8)
        case .fixed32: try advance(4)
        case .lengthDelimited:
            let n = try varint()
            guard n <= UInt64(available) else { throw ProtobufDecodingError.truncated }
            pos += Int(n)
        case .startGroup:
            try enter()
            while true {
                guard let (inner, iw) = try tagForSkip() else { throw ProtobufDecodingError.truncated }
                if iw == .endGroup {
                    guard inner == number else { throw ProtobufDecodingError.malformedProtobuf }
                    break
                }
                try skipBody(inner, iw)
            }
            depthBudget += 1
        case .endGroup: throw ProtobufDecodingError.truncated
        }
    }

    private mutating func advance(_ n: Int) throws {
        guard available >= n else { throw ProtobufDecodingError.truncated }
        pos += n
    }

    // MARK: primitive reads

    private mutating func varint() throws -> UInt64 {
        guard pos < end else { throw ProtobufDecodingError.truncated }
        var c = bytes[pos]
        pos += 1
        if c & 0x80 == 0 { return UInt64(c) }
        var value = UInt64(c & 0x7F)
        var shift: UInt64 = 7
        while true {
            guard pos < end, shift <= 63 else { throw ProtobufDecodingError.malformedProtobuf }
            c = bytes[pos]
            pos += 1
            value |= UInt64(c & 0x7F) &<< shift
            if c & 0x80 == 0 { return value }
            shift &+= 7
        }
    }

    private mutating func littleEndian<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let size = MemoryLayout<T>.size
        guard available >= size else { throw ProtobufDecodingError.truncated }
        var v: T = 0
        for k in 0..<size { v |= T(bytes[pos + k]) << (8 * k) }
        pos += size
        return v
    }

    /// A length-delimited field's body (strings, bytes and messages may not reach 2 GB).
    private mutating func body() throws -> Range<Int> {
        let n = try varint()
        guard n < 0x7FFF_FFFF else { throw ProtobufDecodingError.malformedProtobuf }
        guard n <= UInt64(available) else { throw ProtobufDecodingError.truncated }
        defer { pos += Int(n) }
        return pos..<pos + Int(n)
    }

    // MARK: typed fields (each returns nil, the field skipped, when its wire type is not the schema's)

    mutating func int64() throws -> Int64? {
        guard wire == .varint else { try skip(); return nil }
        return Int64(bitPattern: try varint())
    }

    mutating func int32() throws -> Int32? {
        guard wire == .varint else { try skip(); return nil }
        return Int32(truncatingIfNeeded: try varint())
    }

    mutating func float() throws -> Float? {
        guard wire == .fixed32 else { try skip(); return nil }
        return Float(bitPattern: try littleEndian(UInt32.self))
    }

    /// A closed (proto2) enum: a value the enum does not define leaves the field as it was.
    mutating func enumValue<E: RawRepresentable>(_: E.Type) throws -> E? where E.RawValue == Int {
        guard wire == .varint else { try skip(); return nil }
        return E(rawValue: Int(Int32(truncatingIfNeeded: try varint())))
    }

    mutating func string() throws -> String? {
        guard wire == .lengthDelimited else { try skip(); return nil }
        let r = try body()
        guard let s = String(validating: UnsafeRawBufferPointer(rebasing: bytes.bytes[r]), as: UTF8.self) else {
            throw ProtobufDecodingError.invalidUTF8
        }
        return s
    }

    mutating func bytesField() throws -> ProtoBytes? {
        guard wire == .lengthDelimited else { try skip(); return nil }
        return ProtoBytes(buffer: bytes, range: try body())
    }

    /// A singular message field: decoded into `value` (created if absent), so a second occurrence merges into the first.
    /// False when the wire type is not a message's (the field skipped, `value` unchanged).
    @discardableResult
    mutating func message<M: ProtoMessage>(_ value: inout M?) throws -> Bool {
        guard wire == .lengthDelimited else { try skip(); return false }
        var m = value ?? M()
        try decodeNested(&m)
        value = m
        return true
    }

    /// One element of a repeated message field.
    mutating func message<M: ProtoMessage>(appendingTo list: inout [M]) throws {
        guard wire == .lengthDelimited else { try skip(); return }
        var m = M()
        try decodeNested(&m)
        list.append(m)
    }

    /// A message whose content is only checked (a field dlinfer does not read); false as for `message(_:)`.
    @discardableResult
    mutating func checkMessage<M: ProtoMessage>(_: M.Type) throws -> Bool {
        var unused: M? = nil
        return try message(&unused)
    }

    private mutating func decodeNested<M: ProtoMessage>(_ m: inout M) throws {
        let r = try body()
        var sub = ProtoReader(bytes, r.lowerBound, r.upperBound, depthBudget: depthBudget)
        try sub.enter()
        try m.decode(&sub)
    }

    // Repeated scalars: one value per field, or packed (a length-delimited run of values).

    mutating func int64s(appendingTo list: inout [Int64]) throws {
        try varints { list.append(Int64(bitPattern: $0)) }
    }

    mutating func int32s(appendingTo list: inout [Int32]) throws {
        try varints { list.append(Int32(truncatingIfNeeded: $0)) }
    }

    mutating func uint64s(appendingTo list: inout [UInt64]) throws {
        try varints { list.append($0) }
    }

    private mutating func varints(_ append: (UInt64) -> Void) throws {
        switch wire {
        case .varint: append(try varint())
        case .lengthDelimited:
            let r = try body()
            var sub = ProtoReader(bytes, r.lowerBound, r.upperBound, depthBudget: depthBudget)
            while sub.pos < sub.end { append(try sub.varint()) }
        default: try skip()
        }
    }

    mutating func floats(appendingTo list: inout [Float]) throws {
        try fixed(UInt32.self, .fixed32) { list.reserveCapacity(list.count + $0) } _: { list.append(Float(bitPattern: $0)) }
    }

    mutating func doubles(appendingTo list: inout [Double]) throws {
        try fixed(UInt64.self, .fixed64) { list.reserveCapacity(list.count + $0) } _: { list.append(Double(bitPattern: $0)) }
    }

    /// A repeated fixed-size field: one value, or a packed run (whose length must be a whole number of values).
    private mutating func fixed<T: FixedWidthInteger>(_: T.Type, _ single: Wire, _ reserve: (Int) -> Void,
                                                      _ append: (T) -> Void) throws {
        if wire == single {
            append(try littleEndian(T.self))
        } else if wire == .lengthDelimited {
            let size = MemoryLayout<T>.size
            let n = try varint()
            guard n % UInt64(size) == 0, n <= UInt64(available) else { throw ProtobufDecodingError.truncated }
            let start = pos, count = Int(n) / size
            reserve(count)
            let b = bytes.bytes
            for k in 0..<count { append(T(littleEndian: b.loadUnaligned(fromByteOffset: start + k * size, as: T.self))) }
            pos += Int(n)
        } else {
            try skip()
        }
    }

    mutating func strings(appendingTo list: inout [String]) throws {
        if let s = try string() { list.append(s) }
    }

    mutating func bytesFields(appendingTo list: inout [ProtoBytes]) throws {
        if let b = try bytesField() { list.append(b) }
    }
}

/// A message type the reader can decode (merging into an existing value, as protobuf does for repeated occurrences).
protocol ProtoMessage {
    init()
    mutating func decode(_ r: inout ProtoReader) throws
}
