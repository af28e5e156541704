import DLInferCore

// Reshape, Flatten, Squeeze and Unsqueeze move no data: the output is the input's storage under the inferred shape.

func makeReshapeKernel(_ a: Reshape, _ node: Node, _ graph: Graph) throws -> HostKernel { ViewKernel() }
func makeFlattenKernel(_ a: Flatten, _ node: Node, _ graph: Graph) throws -> HostKernel { ViewKernel() }
func makeSqueezeKernel(_ a: Squeeze, _ node: Node, _ graph: Graph) throws -> HostKernel { ViewKernel() }
func makeUnsqueezeKernel(_ a: Unsqueeze, _ node: Node, _ graph: Graph) throws -> HostKernel { ViewKernel() }

final class ViewKernel: Kernel {
    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let x = inputs[0]!, shape = outputs.shape(0)
        // The shape may have been inferred before a data-dependent input size was known.
        guard shape.elementCount == x.count else {
            throw DLInferError.shape("cannot view \(x.shape) (\(x.count) elements) as \(shape)")
        }
        return [x.reshaped(shape)]
    }
}

/// Throws unless a kernel's output shape, inferred before the run, is the one its actual inputs give.
func expectShape(_ inferred: [Int], _ actual: [Int]) throws {
    guard inferred == actual else {
        throw DLInferError.shape("the inputs give output shape \(actual), but \(inferred) was inferred")
    }
}

extension CPUKernelFactory {
    func visit(_ a: Reshape, _ node: Node, _ graph: Graph) throws -> HostKernel {
        try makeReshapeKernel(a, node, graph)
    }

    func visit(_ a: Flatten, _ node: Node, _ graph: Graph) throws -> HostKernel {
        try makeFlattenKernel(a, node, graph)
    }

    func visit(_ a: Squeeze, _ node: Node, _ graph: Graph) throws -> HostKernel {
        try makeSqueezeKernel(a, node, graph)
    }

    func visit(_ a: Unsqueeze, _ node: Node, _ graph: Graph) throws -> HostKernel {
        try makeUnsqueezeKernel(a, node, graph)
    }
}
