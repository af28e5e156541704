/// Memory owned by a device backend (which subclasses this). The session only moves it between nodes and hands it
/// back to the backend when no value refers to it any more. A class, not a protocol, so that the session can ask
/// whether it is uniquely referenced.
open class DeviceBuffer: PooledBuffer {
    public let byteCount: Int
    public init(byteCount: Int) { self.byteCount = byteCount }
}

/// A dense row-major tensor in device memory. Reshape-like ops return another `DeviceTensor` over the same buffer.
public struct DeviceTensor {
    public let dtype: DType
    public let shape: [Int]
    public let buffer: DeviceBuffer
    /// The element type in memory: `dtype`, or float16 for a float32 tensor a backend stores as half (OpenCL's
    /// precision=fp16). Uploads and downloads convert; kernels compute in float32 either way.
    public let stored: DType
    public init(dtype: DType, shape: [Int], buffer: DeviceBuffer, stored: DType? = nil) {
        self.dtype = dtype; self.shape = shape; self.buffer = buffer; self.stored = stored ?? dtype
    }
    public var count: Int { shape.elementCount }
    public var byteCount: Int { count * stored.byteSize }
    public var type: ValueType { ValueType(dtype, fixed: shape) }
    /// The same memory seen with another shape of the same element count (no copy).
    public func reshaped(_ shape: [Int]) -> DeviceTensor {
        DeviceTensor(dtype: dtype, shape: shape, buffer: buffer, stored: stored)
    }
    /// The same memory seen as another value type stored alike (a Cast between float16 and float32 when both are
    /// stored as half).
    public func retyped(_ dtype: DType) -> DeviceTensor {
        DeviceTensor(dtype: dtype, shape: shape, buffer: buffer, stored: stored)
    }
}

/// A backend whose kernels keep tensors in device memory. The session moves data across only where a node on the
/// other side needs it, and downloads the graph outputs once at the end of a run.
public protocol DeviceBackend: Backend where Inputs == DeviceInputs, Value == DeviceTensor {
    /// Copies a host tensor to the device.
    func upload(_ tensor: Tensor) throws -> DeviceTensor
    /// Copies a device tensor to the host, after everything queued before it has finished.
    func download(_ tensor: DeviceTensor) throws -> Tensor
    /// Takes back a buffer no value refers to any more, for reuse by later nodes and runs.
    func recycle(_ buffer: DeviceBuffer)
    /// Waits for all queued work; fails if a kernel found its data invalid (an integer division by zero, an index
    /// out of range), which device kernels report this way rather than at the node.
    func finish() throws
    /// What the backend's kernels moved themselves since it was made, as a running count: the small reads that size
    /// a data-dependent output (NonZero's count, the boxes NonMaxSuppression kept), and the transfers of the bodies
    /// of control-flow ops run on the device (counts only, no `moves`). Each run adds what it gained to its own
    /// `Session.lastTransfers`.
    var innerTransfers: Session.Transfers { get }
    /// Inputs of `node` its kernel reads on the host (shape-like parameters such as Reshape's shape, Pad's pads or
    /// Resize's scales, constants in practice); every other input is given in device memory.
    func hostInputs(_ node: Node) -> Set<Int>
}

/// A device backend's kernels.
public typealias DeviceKernel = any Kernel<DeviceInputs, DeviceTensor>

/// A device node's inputs: device tensors, except the backend's `hostInputs` slots (and the constants a kernel
/// prepacked), which hold host tensors.
public struct DeviceInputs {
    public let device: [DeviceTensor?]
    public let host: [Tensor?]
    public init(device: [DeviceTensor?], host: [Tensor?]) { self.device = device; self.host = host }
    public var count: Int { device.count }
    /// Device input `k`; present by the op's type rules (optional inputs are checked with `has`).
    public subscript(k: Int) -> DeviceTensor { device[k]! }
    public func has(_ k: Int) -> Bool { k < device.count && (device[k] != nil || host[k] != nil) }
    /// The shape of input `k`, wherever it is.
    public func shape(_ k: Int) -> [Int] { device[k]?.shape ?? host[k]!.shape }
}
