/// Element types, numbered as ONNX's `TensorProto.DataType` so the C API, the importer and numpy agree.
public enum DType: Int32, Sendable, CaseIterable, CustomStringConvertible {
    case float32 = 1, uint8 = 2, int8 = 3, uint16 = 4, int16 = 5, int32 = 6, int64 = 7
    case string = 8, bool = 9, float16 = 10, float64 = 11, uint32 = 12, uint64 = 13, bfloat16 = 16
    /// The 8-bit floats (`Float8Format`): OCP/NVIDIA E4M3 and E5M2, Graphcore's "fnuz" variants, and the MX scale type.
    case float8e4m3fn = 17, float8e4m3fnuz = 18, float8e5m2 = 19, float8e5m2fnuz = 20, float8e8m0 = 24
    /// The 2- and 4-bit types (`SubByte`), held one element per byte.
    case uint4 = 21, int4 = 22, float4e2m1 = 23, uint2 = 25, int2 = 26

    public var byteSize: Int {
        switch self {
        case .uint8, .int8, .bool, .float8e4m3fn, .float8e4m3fnuz, .float8e5m2, .float8e5m2fnuz, .float8e8m0: return 1
        case .uint4, .int4, .float4e2m1, .uint2, .int2: return 1
        case .uint16, .int16, .float16, .bfloat16: return 2
        case .float32, .int32, .uint32: return 4
        case .int64, .float64, .uint64: return 8
        case .string: return MemoryLayout<Int>.size
        }
    }

    public var isFloatingPoint: Bool { DType.floats.contains(self) }
    /// Every floating-point type, float32 first. The 8-bit floats are among them: ops compute on them in float32
    /// (`ComputePrecision`), and data movement copies their bytes.
    public static let floats: [DType] = [.float32, .float16, .bfloat16, .float64] + float8s
    /// The 8-bit float types.
    public static let float8s: [DType] = [.float8e4m3fn, .float8e4m3fnuz, .float8e5m2, .float8e5m2fnuz, .float8e8m0]
    /// The encoding of an 8-bit float type; nil for the others.
    public var float8Format: Float8Format? {
        switch self {
        case .float8e4m3fn: return .e4m3fn
        case .float8e4m3fnuz: return .e4m3fnuz
        case .float8e5m2: return .e5m2
        case .float8e5m2fnuz: return .e5m2fnuz
        case .float8e8m0: return .e8m0
        default: return nil
        }
    }
    /// Every type a tensor can hold but the 2- and 4-bit ones, which only Cast, the quantization ops and data
    /// movement take (strings are not supported).
    public static let numeric: [DType] = allCases.filter { $0 != .string && SubByte.bits($0) == nil }
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
        case .float8e4m3fn: return "float8e4m3fn"
        case .float8e4m3fnuz: return "float8e4m3fnuz"
        case .float8e5m2: return "float8e5m2"
        case .float8e5m2fnuz: return "float8e5m2fnuz"
        case .float8e8m0: return "float8e8m0"
        case .uint4: return "uint4"
        case .int4: return "int4"
        case .float4e2m1: return "float4e2m1"
        case .uint2: return "uint2"
        case .int2: return "int2"
        }
    }
}
