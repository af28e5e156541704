import DLInferCore

/// Runs every op: `CPUKernelFactory` conforms to `OpVisitor`, so a new `Op` case does not compile until the CPU can
/// run it.
public final class CPUBackend: Backend {
    public init() {}
    public var name: String { "cpu" }

    public func support(_ node: Node, in graph: Graph) -> Support { .yes }

    public func makeKernel(_ node: Node, in graph: Graph) throws -> HostKernel {
        try node.op.accept(CPUKernelFactory(), node, graph)
    }

    /// Evaluates one node on constant inputs (constant folding at load).
    public func evaluate(_ node: Node, in graph: Graph) throws -> [Tensor?] {
        let ins = node.inputs.map { $0.flatMap { graph.constants[$0] } }
        let types = node.outputs.map { $0.map { graph.values[$0].type } }
        try Session.checkAllocation(types, node, graph)
        return try makeKernel(node, in: graph).run(ins, KernelOutputs(types: types, pool: nil))
    }
}

/// Makes the CPU kernel for each op; its `visit` methods sit beside the kernels, one extension per kernel file.
struct CPUKernelFactory: OpVisitor {
    typealias Result = HostKernel
}
