import DLInferCore

/// A body ready to run: its own session on the CPU (bodies of control-flow ops run where the op runs).
final class BodyRunner {
    let body: Body
    private let session: Session
    init(_ body: Body) throws { self.body = body; session = try Session(graph: body.graph, host: CPUBackend()) }

    /// Runs the body on its formal inputs, with the captured values taken from the node's inputs.
    func run(_ formal: [Tensor], _ nodeInputs: [Tensor?]) throws -> [Tensor] {
        let captured = try body.captures.map { k -> Tensor in
            guard k < nodeInputs.count, let t = nodeInputs[k] else { throw DLInferError(.internal, "captured input \(k) missing") }
            return t
        }
        return try session.run(formal + captured)
    }
}

final class IfKernel: Kernel {
    private let then: BodyRunner, otherwise: BodyRunner
    init(_ a: If) throws { then = try BodyRunner(a.thenBranch); otherwise = try BodyRunner(a.elseBranch) }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let branch = try conditionValue(inputs[0]!, "cond") ? then : otherwise
        return try branch.run([], inputs)
    }
}

/// Stacks same-shaped slices along a new axis `axis` (at position `reverse ? n-1-t : t` for slice t).
private func stack(_ parts: [Tensor], axis: Int, reverse: Bool, empty: ValueType, _ outputs: KernelOutputs, _ what: String) throws -> Tensor {
    guard let first = parts.first else {
        // No iteration: the per-iteration shape as far as the body's type knows it, with 0 for what it does not.
        let dims = (empty.shape ?? []).map { $0.value ?? 0 }
        let a = min(max(axis, 0), dims.count)
        return try outputs.make(empty.dtype, Array(dims[..<a]) + [0] + Array(dims[a...]))
    }
    for p in parts where p.shape != first.shape || p.dtype != first.dtype {
        throw DLInferError.shape("\(what) changes from \(first.dtype)\(first.shape) to \(p.dtype)\(p.shape) between iterations")
    }
    let a = try normalizeAxis(axis, rank: first.rank + 1, "the scan output axis")
    let shape = Array(first.shape[..<a]) + [parts.count] + Array(first.shape[a...])
    try Session.checkAllocation([ValueType(first.dtype, fixed: shape)], what)
    let y = try outputs.make(first.dtype, shape)
    let outer = first.shape[..<a].reduce(1, *), inner = first.byteCount / max(outer, 1), n = parts.count
    for (t, p) in parts.enumerated() {
        let pos = reverse ? n - 1 - t : t
        for o in 0..<outer { (y.raw + (o * n + pos) * inner).copyMemory(from: p.raw + o * inner, byteCount: inner) }
    }
    return y
}

final class LoopKernel: Kernel {
    private let a: Loop, body: BodyRunner
    init(_ a: Loop) throws { self.a = a; body = try BodyRunner(a.body) }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        var limit = Int64.max
        if let m = inputs[0] {
            guard m.count == 1 else { throw DLInferError.shape("M must have one element, has shape \(m.shape)") }
            limit = m.pointer(Int64.self).pointee
        }
        var go = try inputs.count > 1 && inputs[1] != nil ? conditionValue(inputs[1]!, "cond") : true
        var carried = (0..<a.carried).map { inputs[2 + $0]! }
        let scanTypes = Array(a.body.outputTypes.dropFirst(1 + a.carried))
        var scans = [[Tensor]](repeating: [], count: scanTypes.count)
        var i: Int64 = 0
        while go && i < limit {
            if outputs.isCancelled() { throw DLInferError(.cancelled, "run cancelled") }
            let outs = try body.run([.scalar(i), .scalar(go)] + carried, inputs)
            go = try conditionValue(outs[0], "the body's condition")
            carried = Array(outs[1...a.carried])
            for k in scans.indices { scans[k].append(outs[1 + a.carried + k]) }
            i += 1
        }
        var results: [Tensor?] = carried
        for (k, parts) in scans.enumerated() {
            results.append(try stack(parts, axis: 0, reverse: false, empty: scanTypes[k], outputs, "scan output \(k)"))
        }
        return results
    }
}

final class ScanKernel: Kernel {
    private let a: Scan, body: BodyRunner
    init(_ a: Scan) throws { self.a = a; body = try BodyRunner(a.body) }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        var states = (0..<a.stateCount).map { inputs[$0]! }
        let scanned = (0..<a.scanInputCount).map { inputs[a.stateCount + $0]! }
        let axes = try scanned.indices.map { try normalizeAxis(a.inputAxes[$0], rank: scanned[$0].rank, "scan_input_axes[\($0)]") }
        let n = scanned.first.map { $0.shape[axes[0]] } ?? 0
        for (j, x) in scanned.enumerated() where x.shape[axes[j]] != n {
            throw DLInferError.shape("scan input \(j) has \(x.shape[axes[j]]) slices along its scan axis, scan input 0 has \(n)")
        }
        let scanTypes = Array(a.body.outputTypes.dropFirst(a.stateCount))
        var parts = [[Tensor]](repeating: [], count: scanTypes.count)
        for t in 0..<n {
            if outputs.isCancelled() { throw DLInferError(.cancelled, "run cancelled") }
            let slices = try scanned.enumerated().map { j, x in try slice(x, axis: axes[j], at: a.inputReverse[j] ? n - 1 - t : t, outputs) }
            let outs = try body.run(states + slices, inputs)
            states = Array(outs[..<a.stateCount])
            for k in parts.indices { parts[k].append(outs[a.stateCount + k]) }
        }
        var results: [Tensor?] = states
        for (k, p) in parts.enumerated() {
            results.append(try stack(p, axis: a.outputAxes[k], reverse: a.outputReverse[k], empty: scanTypes[k], outputs, "scan output \(k)"))
        }
        return results
    }

    /// Slice `at` of `x` along `axis`, that axis removed.
    private func slice(_ x: Tensor, axis: Int, at: Int, _ outputs: KernelOutputs) throws -> Tensor {
        var shape = x.shape
        let n = shape.remove(at: axis)
        let outer = x.shape[..<axis].reduce(1, *), inner = shape[axis...].reduce(1, *) * x.dtype.byteSize
        let y = try outputs.make(x.dtype, shape)
        for o in 0..<outer { (y.raw + o * inner).copyMemory(from: x.raw + (o * n + at) * inner, byteCount: inner) }
        return y
    }
}

extension CPUKernelFactory {
    func visit(_ a: If, _ _: Node, _ _: Graph) throws -> HostKernel {
        try IfKernel(a)
    }

    func visit(_ a: Loop, _ _: Node, _ _: Graph) throws -> HostKernel {
        try LoopKernel(a)
    }

    func visit(_ a: Scan, _ _: Node, _ _: Graph) throws -> HostKernel {
        try ScanKernel(a)
    }
}
