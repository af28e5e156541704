#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A block of host memory, 64-byte aligned so SIMD loads never split cache lines. Freed when the last tensor using it goes.
public final class Storage: PooledBuffer, @unchecked Sendable {
    public let base: UnsafeMutableRawPointer
    public let byteCount: Int
    /// False for memory lent by the caller (zero-copy inputs): never freed here. Such storage only ever backs graph
    /// inputs, which the session never recycles into its pool.
    public let ownsMemory: Bool
    /// The budget this allocation counts against, until freed.
    private let budget: MemoryBudget?
    /// Whether this allocation counts against `budget`.
    public func counts(against budget: MemoryBudget) -> Bool { self.budget === budget }
    /// Whether `base` was mapped (see `mapThreshold`) rather than taken from malloc.
    private let mapped: Bool
    /// The storage a slice lies in, kept alive as long as the slice.
    private let parent: Storage?

    /// Blocks from this size up are mapped directly: they arrive zeroed without a memset and go back to the system
    /// when freed, so the resident size follows what sessions hold. From malloc, freed large blocks stay in glibc's
    /// heap once its dynamic mmap threshold has grown past them, and the resident size wanders with the input shapes.
    static let mapThreshold = 1 << 20

    /// Zero-filled allocation, counted against `budget`. The one place the library allocates tensor memory: a size
    /// that cannot be had is an `outOfMemory` error, never a crash.
    public init(byteCount: Int, budget: MemoryBudget? = nil) throws {
        guard byteCount >= 0 else { throw DLInferError(.internal, "negative allocation size \(byteCount)") }
        let size = Swift.max(byteCount, 64)
        try budget?.reserve(size)
        if size >= Storage.mapThreshold {
            // Page-aligned, so also 64-byte aligned.
            let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
            guard let p, p != MAP_FAILED else {
                budget?.release(size)
                throw DLInferError(.outOfMemory, "cannot allocate \(byteCount) bytes")
            }
            base = p
            mapped = true
        } else {
            var p: UnsafeMutableRawPointer? = nil
            guard posix_memalign(&p, 64, size) == 0, let p else {
                budget?.release(size)
                throw DLInferError(.outOfMemory, "cannot allocate \(byteCount) bytes")
            }
            memset(p, 0, size)
            base = p
            mapped = false
        }
        self.byteCount = byteCount
        self.budget = budget
        ownsMemory = true
        parent = nil
    }

    /// Wraps memory the caller owns and keeps valid for as long as any tensor uses this storage.
    public init(borrowing base: UnsafeMutableRawPointer, byteCount: Int) {
        self.base = base
        self.byteCount = byteCount
        ownsMemory = false
        budget = nil
        mapped = false
        parent = nil
    }

    /// Bytes offset ..< offset + byteCount of `parent`, for a value written straight into part of another (a Concat's
    /// input into its output). Like borrowed memory, never pooled or freed itself.
    public init(slice parent: Storage, offset: Int, byteCount: Int) {
        precondition(offset >= 0 && offset + byteCount <= parent.byteCount, "slice outside its storage")
        base = parent.base + offset
        self.byteCount = byteCount
        ownsMemory = false
        budget = nil
        mapped = false
        self.parent = parent
    }

    deinit {
        guard ownsMemory else { return }
        let size = Swift.max(byteCount, 64)
        if mapped { munmap(base, size) } else { free(base) }
        budget?.release(size)
    }
}

/// A dense row-major host tensor. Copies share storage: a reshape is metadata only.
public struct Tensor: @unchecked Sendable, CustomStringConvertible {
    public let dtype: DType
    public let shape: [Int]
    public let storage: Storage

    /// A zero-filled tensor; `outOfMemory` when the size overflows or cannot be allocated.
    public init(dtype: DType, shape: [Int], budget: MemoryBudget? = nil) throws {
        self.dtype = dtype
        self.shape = shape
        self.storage = try Storage(byteCount: try DLInferCore.byteCount(dtype, shape), budget: budget)
    }

    public init(dtype: DType, shape: [Int], storage: Storage) {
        precondition(storage.byteCount >= shape.elementCount * dtype.byteSize, "tensor larger than its storage")
        self.dtype = dtype; self.shape = shape; self.storage = storage
    }

    /// A tensor holding `values` (already in memory, so small enough to copy: a failure here means the machine ran
    /// out of memory at this very moment, and stops the process rather than return garbage).
    public init<T: TensorElement>(_ values: [T], shape: [Int]) {
        precondition(values.count == shape.elementCount, "value count \(values.count) != shape \(shape)")
        do { try self.init(dtype: T.dtype, shape: shape) } catch { fatalError("dlinfer: out of memory copying \(values.count) values") }
        values.withUnsafeBytes { storage.base.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    }

    public static func scalar<T: TensorElement>(_ v: T) -> Tensor { Tensor([v], shape: []) }

    public var count: Int { shape.elementCount }
    public var rank: Int { shape.count }
    public var byteCount: Int { count * dtype.byteSize }
    public var type: ValueType { ValueType(dtype, fixed: shape) }
    public var raw: UnsafeMutableRawPointer { storage.base }

    /// Typed view of the elements; `T` must match `dtype`.
    public func pointer<T: TensorElement>(_: T.Type) -> UnsafeMutablePointer<T> {
        precondition(T.dtype == dtype, "tensor is \(dtype), read as \(T.dtype)")
        return storage.base.assumingMemoryBound(to: T.self)
    }
    public func buffer<T: TensorElement>(_: T.Type) -> UnsafeMutableBufferPointer<T> {
        UnsafeMutableBufferPointer(start: pointer(T.self), count: count)
    }
    public var floats: UnsafeMutableBufferPointer<Float> { buffer(Float.self) }

    public func array<T: TensorElement>(_: T.Type) -> [T] { Array(buffer(T.self)) }

    /// Same storage, new shape with the same element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        precondition(newShape.elementCount == count, "reshape \(shape) -> \(newShape)")
        return Tensor(dtype: dtype, shape: newShape, storage: storage)
    }

    /// Deep copy.
    public func copy() throws -> Tensor {
        let t = try Tensor(dtype: dtype, shape: shape)
        t.raw.copyMemory(from: raw, byteCount: byteCount)
        return t
    }

    /// Integer elements widened to Int (for shape-like inputs: Reshape's shape, Slice's starts, ...).
    public func intValues() -> [Int]? {
        switch dtype {
        case .int64: return buffer(Int64.self).map { Int($0) }
        case .int32: return buffer(Int32.self).map { Int($0) }
        default: return nil
        }
    }

    /// Floating-point elements widened to Double (for scalar attributes given as inputs: Clip's min, Pad's value, ...).
    public func doubleValues() -> [Double]? {
        switch dtype {
        case .float32: return buffer(Float.self).map { Double($0) }
        case .float64: return buffer(Double.self).map { $0 }
        case .float16: return buffer(Half.self).map { Double($0.float) }
        case .bfloat16: return buffer(BFloat16.self).map { Double($0.float) }
        case .int64: return buffer(Int64.self).map { Double($0) }
        case .int32: return buffer(Int32.self).map { Double($0) }
        case .float8e4m3fn, .float8e4m3fnuz, .float8e5m2, .float8e5m2fnuz, .float8e8m0:
            let table = dtype.float8Format!.table, bytes = raw.assumingMemoryBound(to: UInt8.self)
            return (0..<count).map { Double(table[Int(bytes[$0])]) }
        case .float4e2m1:
            let table = SubByte.table(dtype), bytes = raw.assumingMemoryBound(to: UInt8.self)
            return (0..<count).map { Double(table[Int(bytes[$0])]) }
        default: return nil
        }
    }

    public var description: String { "Tensor(\(dtype), \(shape))" }
}

/// Swift types that can be tensor elements.
public protocol TensorElement { static var dtype: DType { get } }
extension Float: TensorElement { public static var dtype: DType { .float32 } }
extension Double: TensorElement { public static var dtype: DType { .float64 } }
extension Int64: TensorElement { public static var dtype: DType { .int64 } }
extension Int32: TensorElement { public static var dtype: DType { .int32 } }
extension Int16: TensorElement { public static var dtype: DType { .int16 } }
extension Int8: TensorElement { public static var dtype: DType { .int8 } }
extension UInt8: TensorElement { public static var dtype: DType { .uint8 } }
extension UInt16: TensorElement { public static var dtype: DType { .uint16 } }
extension UInt32: TensorElement { public static var dtype: DType { .uint32 } }
extension UInt64: TensorElement { public static var dtype: DType { .uint64 } }
extension Bool: TensorElement { public static var dtype: DType { .bool } }
