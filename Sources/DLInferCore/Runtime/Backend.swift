/// Whether a backend can run a node, and if not, why (shown by `dlinfer info`).
public enum Support: Sendable { case yes, no(String) }

/// A compute backend. Small on purpose: placement asks `support`, the session asks `makeKernel` once per node.
public protocol Backend: AnyObject {
    var name: String { get }
    func support(_ node: Node, in graph: Graph) -> Support
    /// Builds the node's kernel. Constant inputs (weights) are available in `graph.constants` and may be packed here,
    /// once, for every later run.
    func makeKernel(_ node: Node, in graph: Graph) throws -> Kernel
}

/// A node ready to run on one backend.
public protocol Kernel: AnyObject {
    /// Computes the node's outputs from its inputs (nil where an optional input is omitted).
    /// Returns one tensor per output slot; nil where `outputs.wanted(k)` is false.
    func run(_ inputs: [Tensor?], _ outputs: OutputAllocator) throws -> [Tensor?]
}

/// Hands a kernel its output tensors with the shapes type inference computed for this run.
public struct OutputAllocator {
    public let types: [ValueType?]
    let pool: TensorPool?
    /// Whether the run was cancelled: kernels that loop for long (Loop, Scan) check it between iterations.
    public let isCancelled: () -> Bool

    public init(types: [ValueType?], pool: TensorPool?, isCancelled: @escaping () -> Bool = { false }) {
        self.types = types; self.pool = pool; self.isCancelled = isCancelled
    }

    /// Whether output `k` is consumed by anything.
    public func wanted(_ k: Int) -> Bool { k < types.count && types[k] != nil }
    /// The concrete shape of output `k`.
    public func shape(_ k: Int) -> [Int] { types[k]!.fixedShape! }
    public func dtype(_ k: Int) -> DType { types[k]!.dtype }
    /// A new tensor for output `k`. Its contents are undefined unless `zeroed`.
    public func make(_ k: Int, zeroed: Bool = false) -> Tensor {
        let t = types[k]!
        return make(t.dtype, t.fixedShape!, zeroed: zeroed)
    }
    /// A tensor of any shape from the same pool (scratch space or outputs of data-dependent shape).
    public func make(_ dtype: DType, _ shape: [Int], zeroed: Bool = false) -> Tensor {
        let bytes = shape.elementCount * dtype.byteSize
        let s = pool?.take(bytes) ?? Storage(byteCount: bytes)
        if zeroed, pool != nil { s.base.initializeMemory(as: UInt8.self, repeating: 0, count: bytes) }
        return Tensor(dtype: dtype, shape: shape, storage: s)
    }
}

/// Recycles host buffers by byte size between nodes and runs, so steady-state runs allocate nothing.
public final class TensorPool: @unchecked Sendable {
    private var free: [Int: [Storage]] = [:]
    public private(set) var freeBytes = 0
    /// Free memory kept, at most: with input shapes that keep changing, the pool would otherwise hold every size
    /// ever used. Reaching it on a new size drops what the pool holds (buffers of shapes no longer in use).
    public let budget: Int

    public init(budget: Int? = nil) { self.budget = budget ?? max(64 << 20, Session.memoryLimit / 8) }

    public func take(_ bytes: Int) -> Storage {
        if var list = free[bytes], let s = list.popLast() {
            free[bytes] = list
            freeBytes -= s.byteCount
            return s
        }
        if freeBytes > budget {
            free.removeAll()
            freeBytes = 0
        }
        return Storage(byteCount: bytes)
    }

    public func give(_ s: Storage) {
        free[s.byteCount, default: []].append(s)
        freeBytes += s.byteCount
    }
}
