/// Element types, numbered as ONNX's `TensorProto.DataType` so the C API, the importer and numpy agree.
public enum DType: Int32, Sendable, CaseIterable, CustomStringConvertible {
    case float32 = 1, uint8 = 2, int8 = 3, uint16 = 4, int16 = 5, int32 = 6, int64 = 7
    case string = 8, bool = 9, float16 = 10, float64 = 11, uint32 = 12, uint64 = 13, bfloat16 = 16

    public var byteSize: Int {
        switch self {
        case .uint8, .int8, .bool: return 1
        case .uint16, .int16, .float16, .bfloat16: return 2
        case .float32, .int32, .uint32: return 4
        case .int64, .float64, .uint64: return 8
        case .string: return MemoryLayout<Int>.size
        }
    }

    public var isFloatingPoint: Bool { DType.floats.contains(self) }
    /// Every floating-point type, float32 first.
    public static let floats: [DType] = [.float32, .float16, .bfloat16, .float64]
    /// Every type a tensor can hold (strings are not supported).
    public static let numeric: [DType] = allCases.filter { $0 != .string }
    /// The integer types, signed then unsigned.
    public static let integers: [DType] = [.int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .uint64]
    public var isInteger: Bool {
        switch self {
        case .uint8, .int8, .uint16, .int16, .int32, .int64, .uint32, .uint64: return true
        default: return false
        }
    }

    public var description: String {
        switch self {
        case .float32: return "float32"
        case .uint8: return "uint8"
        case .int8: return "int8"
        case .uint16: return "uint16"
        case .int16: return "int16"
        case .int32: return "int32"
        case .int64: return "int64"
        case .string: return "string"
        case .bool: return "bool"
        case .float16: return "float16"
        case .float64: return "float64"
        case .uint32: return "uint32"
        case .uint64: return "uint64"
        case .bfloat16: return "bfloat16"
        }
    }
}
