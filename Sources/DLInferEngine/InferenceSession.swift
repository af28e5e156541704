import DLInferCore
import DLInferCPU

/// Options a session is created with; the C API's string keys map onto these.
public struct SessionOptions: Sendable {
    public var device: String? = nil
    public var fallbackToCPU = false
    public init() {}

    /// Sets an option from its string form, as the C API and the CLI pass them.
    public mutating func set(_ key: String, _ value: String) throws {
        switch key {
        case "device": device = value
        case "fallback":
            switch value {
            case "cpu": fallbackToCPU = true
            case "none": fallbackToCPU = false
            default: throw DLInferError.invalid("option fallback='\(value)' must be 'cpu' or 'none'")
            }
        default: throw DLInferError.invalid("unknown option '\(key)'; known: device, fallback")
        }
    }
}

/// A model bound to a device: one per thread; holds plans and buffers between runs.
public final class InferenceSession: @unchecked Sendable {
    public let model: Model
    public let device: DeviceRequest
    /// Why the device in use differs from what was asked, if it does.
    public let deviceNote: String?
    let session: Session
    public private(set) var lastOutputs: [Tensor] = []

    public init(model: Model, options: SessionOptions = SessionOptions()) throws {
        self.model = model
        let (request, backends, note) = try Devices.resolve(option: options.device, fallbackToCPU: options.fallbackToCPU)
        device = request
        deviceNote = note
        session = try Session(graph: model.graph, backends: backends)
    }

    /// Name of the backend actually running the model ("cpu", later "opencl:<device>").
    public var deviceName: String { session.placements.first?.backend ?? "cpu" }
    public var placements: [Placement] { session.placements }
    /// Nodes that run on the CPU backend.
    public var cpuNodeCount: Int { session.placements.filter { $0.backend == "cpu" }.count }

    /// Runs with inputs in model order; outputs in model order.
    public func run(_ inputs: [Tensor]) throws -> [Tensor] {
        lastOutputs = []
        lastOutputs = try session.run(inputs)
        return lastOutputs
    }

    /// Runs with named inputs (every model input must be given exactly once).
    public func run(_ named: [String: Tensor]) throws -> [String: Tensor] {
        for name in named.keys where model.inputIndex(name) == nil {
            throw DLInferError.invalid("model has no input named '\(name)'; inputs: \(model.inputs.map(\.name).joined(separator: ", "))")
        }
        let ins = try model.inputs.map { v -> Tensor in
            guard let t = named[v.name] else { throw DLInferError.invalid("input '\(v.name)' was not given") }
            return t
        }
        let outs = try run(ins)
        return Dictionary(uniqueKeysWithValues: zip(model.outputs.map(\.name), outs))
    }

    public func cancel() { session.cancel() }
}
