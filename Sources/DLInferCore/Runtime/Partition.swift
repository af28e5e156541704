/// Where one node runs, and why it is not on the preferred backend when it is not.
public struct Placement: Sendable {
    public var backend: String
    public var reason: String?
}

/// A node's kernel on the backend that runs it.
enum NodeKernel {
    case host(HostKernel)
    /// With the inputs the kernel reads on the host (shape-like parameters, and weights it prepacked).
    case device(DeviceKernel, hostInputs: Set<Int>)

    /// Whether the kernel reads input `k` in host memory.
    func readsOnHost(_ k: Int) -> Bool {
        switch self {
        case .host: return true
        case .device(_, let h): return h.contains(k)
        }
    }

    var onDevice: Bool { if case .device = self { return true } else { return false } }
}

/// The partitioner: puts each node on the device backend when there is one and it supports the node, else on the
/// host backend, builds its kernel once, and records why the device declined. Values cross between host and device
/// where a node reads a value the other side made: the planner turns each crossing into an upload or download step.
struct Partition {
    let kernels: [NodeKernel]
    let placements: [Placement]

    init(graph: Graph, host: HostBackend, device: (any DeviceBackend)?) throws {
        var kernels = [NodeKernel](), placements = [Placement]()
        for node in graph.nodes {
            var declined: String? = nil
            if let device {
                switch device.support(node, in: graph) {
                case .yes:
                    let k = try device.makeKernel(node, in: graph)
                    // Weights the kernel packed at creation stay on the host: nothing to upload.
                    let packed = k.prepackedInputs.filter { $0 < node.inputs.count && node.inputs[$0].map { graph.constants[$0] != nil } == true }
                    kernels.append(.device(k, hostInputs: device.hostInputs(node).union(packed)))
                    placements.append(Placement(backend: device.name, reason: nil))
                    continue
                case .no(let why): declined = "\(device.name): \(why)"
                }
            }
            switch host.support(node, in: graph) {
            case .yes:
                kernels.append(.host(try host.makeKernel(node, in: graph)))
                placements.append(Placement(backend: host.name, reason: declined))
            case .no(let why):
                let reasons = (declined.map { [$0] } ?? []) + ["\(host.name): \(why)"]
                throw DLInferError.unsupported("\(node.label(in: graph)) has no backend: \(reasons.joined(separator: "; "))")
            }
        }
        self.kernels = kernels
        self.placements = placements
    }
}
