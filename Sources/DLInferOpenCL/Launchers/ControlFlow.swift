import DLInferCore

/// If on the device: the condition is read on the host, and the chosen branch runs in its own session on this
/// queue (its nodes on OpenCL where they can, else on the host backend), taking the captured values where they are
/// and leaving its outputs on the device. A detector's NMS inside `if boxes.numel() == 0 ... else ...` then keeps
/// its boxes on the device. The branch's own transfers count towards the run's.
final class IfCL: Kernel {
    private let branches: [(body: Body, session: Session)]
    private let q: CLQueue

    init(_ a: If, _ backend: OpenCLBackend) throws {
        guard let host = backend.host else { throw DLInferError(.internal, "If on the device needs a host backend") }
        q = backend.q
        branches = try [a.thenBranch, a.elseBranch].map { body in
            (body, try Session(graph: body.graph, host: host, device: OpenCLBackend(bodyOf: backend)))
        }
    }

    func run(_ inputs: DeviceInputs, _ outputs: KernelOutputs) throws -> [DeviceTensor?] {
        guard let c = inputs.host[0] else { throw DLInferError.model("If needs cond") }
        let (body, session) = branches[try conditionValue(c, "cond") ? 0 : 1]
        let captured = try body.captures.map { k -> Session.Resident in
            if let d = inputs.device[k] { return .device(d) }
            guard k < inputs.host.count, let t = inputs.host[k] else { throw DLInferError(.internal, "captured input \(k) missing") }
            return .host(t)
        }
        let results = try session.runResident(captured)
        var moved = session.lastTransfers
        let outs = try zip(body.graph.outputs, results).map { v, r -> DeviceTensor in
            switch r {
            case .device(let d): return d
            case .host(let t):
                let d = try q.upload(t)
                moved.record(.init(value: body.graph.values[v].name, toDevice: true, shape: d.shape, bytes: d.byteCount))
                return d
            }
        }
        q.innerTransfers.add(moved)
        return outs
    }
}
