/// Where one node runs, and why it is not on the preferred backend when it is not.
public struct Placement: Sendable {
    public var backend: String
    public var reason: String?
}

/// A node's kernel on the backend that runs it.
enum NodeKernel {
    case host(Kernel)
    /// With the inputs the kernel reads on the host (shape-like parameters, and weights it prepacked).
    case device(DeviceKernel, hostInputs: Set<Int>)
}

/// The partitioner: puts each node on the first backend (in preference order) that supports it, builds its kernel
/// once, and records why each earlier backend declined. Values cross between host and device where a node reads a
/// value the other side made; the session moves them at that point and counts each move (`Session.Transfers`).
struct Partition {
    let kernels: [NodeKernel]
    let placements: [Placement]
    /// The one device backend among `backends`, and the host backend (which also folds device nodes' constants).
    let device: DeviceBackend?
    let hostBackend: Backend?

    init(graph: Graph, backends: [Backend]) throws {
        let devices = backends.compactMap { $0 as? DeviceBackend }
        guard devices.count <= 1 else { throw DLInferError(.internal, "a session runs on at most one device backend") }
        device = devices.first
        hostBackend = backends.first { !($0 is DeviceBackend) }
        var kernels = [NodeKernel](), placements = [Placement]()
        for node in graph.nodes {
            var reasons = [String]()
            var made: (NodeKernel, String)? = nil
            for b in backends {
                switch b.support(node, in: graph) {
                case .yes:
                    if let d = b as? DeviceBackend {
                        let k = try d.makeDeviceKernel(node, in: graph)
                        // Weights the kernel packed at creation stay on the host: nothing to upload.
                        let packed = k.prepackedInputs.filter { $0 < node.inputs.count && node.inputs[$0].map { graph.constants[$0] != nil } == true }
                        made = (.device(k, hostInputs: d.hostInputs(node).union(packed)), b.name)
                    }
                    else { made = (.host(try b.makeKernel(node, in: graph)), b.name) }
                case .no(let why): reasons.append("\(b.name): \(why)")
                }
                if made != nil { break }
            }
            guard let (k, name) = made else {
                throw DLInferError.unsupported("\(node.label(in: graph)) has no backend: \(reasons.joined(separator: "; "))")
            }
            kernels.append(k)
            placements.append(Placement(backend: name, reason: reasons.isEmpty ? nil : reasons.joined(separator: "; ")))
        }
        self.kernels = kernels
        self.placements = placements
    }
}
