/// Whether a backend can run a node, and if not, why (shown by `dlinfer info`).
public enum Support: Sendable { case yes, no(String) }

/// A compute backend, on the host or on a device: what it keeps its tensors in (`Value`) and what its kernels are
/// given (`Inputs`) are its associated types, so host and device backends share one contract. Small on purpose:
/// placement asks `support`, the session asks `makeKernel` once per node.
public protocol Backend<Inputs, Value>: AnyObject {
    associatedtype Inputs
    associatedtype Value
    var name: String { get }
    func support(_ node: Node, in graph: Graph) -> Support
    /// Builds the node's kernel. Constant inputs (weights) are available in `graph.constants` and may be packed here,
    /// once, for every later run.
    func makeKernel(_ node: Node, in graph: Graph) throws -> any Kernel<Inputs, Value>
}

/// A node ready to run on one backend.
public protocol Kernel<Inputs, Value>: AnyObject {
    associatedtype Inputs
    associatedtype Value
    /// Constant inputs (weights) the kernel re-laid-out into its own memory when it was made and never reads at run
    /// time: the session need not move them to the kernel's side.
    var prepackedInputs: Set<Int> { get }
    /// Computes the node's outputs from its inputs (nil where an optional input is omitted).
    /// Returns one value per output slot; nil where `outputs.wanted(k)` is false.
    func run(_ inputs: Inputs, _ outputs: KernelOutputs) throws -> [Value?]
}

public extension Kernel {
    var prepackedInputs: Set<Int> { [] }
}

/// A plan's room for one node's prepared value (see `KernelOutputs.prepared`).
public final class PreparedSlot {
    var value: Any?
    public init() {}
}

/// The host backend and its kernels: tensors in host memory, inputs as one optional tensor per slot.
public typealias HostBackend = any Backend<[Tensor?], Tensor>
public typealias HostKernel = any Kernel<[Tensor?], Tensor>

/// What a kernel is told about its outputs: the types type inference computed for this run, whether the run was
/// cancelled, host memory from the session's pool (a host kernel's results, any kernel's scratch), and what the
/// kernel prepared for the plan's shapes. A class: a plan keeps one per node, handed to the kernel on every run
/// without counting the references of its arrays and closure one by one.
public final class KernelOutputs {
    public let types: [ValueType?]
    /// The types' concrete shapes (nil for an output nothing reads or whose shape the data decides): `make` and
    /// `shape` read them instead of building an array from the type's dims on every run.
    let shapes: [[Int]?]?
    let pool: TensorPool?
    /// Whether the run was cancelled: kernels that loop for long (Loop, Scan) check it between iterations.
    public let isCancelled: () -> Bool
    let slot: PreparedSlot?
    /// Per output, the tensor `make` returns instead of new memory (a slice of a Concat's output), where the plan
    /// placed one.
    let placed: [Tensor?]?

    public init(types: [ValueType?], shapes: [[Int]?]? = nil, pool: TensorPool?,
                isCancelled: @escaping () -> Bool = { false }, prepared: PreparedSlot? = nil, placed: [Tensor?]? = nil) {
        self.types = types; self.shapes = shapes; self.pool = pool; self.isCancelled = isCancelled; slot = prepared
        self.placed = placed
    }

    /// The same outputs, written into `placed` where it has a tensor.
    func placing(_ placed: [Tensor?]) -> KernelOutputs {
        KernelOutputs(types: types, shapes: shapes, pool: pool, isCancelled: isCancelled, prepared: slot, placed: placed)
    }

    /// What the kernel derives from its input and output shapes alone (a convolution's window, output size and
    /// path, a launch's geometry): `make` runs on a plan's first run and the plan keeps the result for every later
    /// one. Where the plan leaves a shape to the data, `make` runs each time.
    public func prepared<T>(_ make: () throws -> T) rethrows -> T {
        guard let slot else { return try make() }
        if let v = slot.value as? T { return v }
        let v = try make()
        slot.value = v
        return v
    }

    /// Whether output `k` is consumed by anything.
    public func wanted(_ k: Int) -> Bool { k < types.count && types[k] != nil }
    /// The concrete shape of output `k`.
    public func shape(_ k: Int) -> [Int] { shapes?[k] ?? types[k]!.fixedShape! }
    public func dtype(_ k: Int) -> DType { types[k]!.dtype }
    /// A new host tensor for output `k`. Its contents are undefined unless `zeroed`.
    public func make(_ k: Int, zeroed: Bool = false) throws -> Tensor {
        if let placed, let p = placed[k] {
            if zeroed { p.raw.initializeMemory(as: UInt8.self, repeating: 0, count: p.byteCount) }
            return p
        }
        return try make(types[k]!.dtype, shapes?[k] ?? types[k]!.fixedShape!, zeroed: zeroed)
    }

    /// Whether `t` has output k's type exactly, as the plan fixed it.
    func fits(_ t: Tensor, _ k: Int) -> Bool {
        guard let shapes else { return false }
        return types[k]?.dtype == t.dtype && shapes[k] == t.shape
    }
    /// A host tensor of any shape from the same pool (scratch space or outputs of data-dependent shape). Throws
    /// `outOfMemory` when the size overflows, exceeds the session's memory limit or cannot be allocated.
    public func make(_ dtype: DType, _ shape: [Int], zeroed: Bool = false) throws -> Tensor {
        let bytes = try byteCount(dtype, shape)
        let s = try pool?.take(bytes) ?? Storage(byteCount: bytes)
        if zeroed, pool != nil { s.base.initializeMemory(as: UInt8.self, repeating: 0, count: bytes) }
        return Tensor(dtype: dtype, shape: shape, storage: s)
    }
}
