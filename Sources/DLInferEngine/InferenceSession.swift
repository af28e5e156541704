import DLInferCore
import DLInferCPU

/// Options a session is created with; the C API's string keys map onto these.
public struct SessionOptions: Sendable {
    public var device: String? = nil
    public var fallbackToCPU = false
    /// Host memory the session may hold at once, and plans kept for distinct input shapes.
    public var limits = Session.Limits()
    /// CPU threads the session's runs use (nil: every thread the process has, `Threads.available`).
    public var threads: Int? = nil
    /// How an OpenCL device stores float32 tensors (see `Devices.resolve`).
    public enum Precision: String, Sendable { case fp32, fp16 }
    public var precision = Precision.fp32
    public init() {}

    /// Sets an option from its string form, as the C API and the CLI pass them.
    public mutating func set(_ key: String, _ value: String) throws {
        switch key {
        case "max_memory":
            guard let bytes = SessionOptions.byteSize(value), bytes > 0 else {
                throw DLInferError.invalid("option max_memory='\(value)' must be a positive number of bytes, optionally with K, M or G (1024-based)")
            }
            limits.maxMemory = bytes
        case "plan_cache":
            guard let n = Int(value), n >= 1, n <= 4096 else {
                throw DLInferError.invalid("option plan_cache='\(value)' must be a number of plans from 1 to 4096")
            }
            limits.planCacheSize = n
        case "threads":
            guard let n = Int(value.trimmingSpaces), n >= 0, n <= 4096 else {
                throw DLInferError.invalid("option threads='\(value)' must be a number of threads from 1 to 4096, or 0 for all")
            }
            threads = n == 0 ? nil : n
        case "device": device = value
        case "precision":
            guard let p = Precision(rawValue: value) else {
                throw DLInferError.invalid("option precision='\(value)' must be 'fp32' or 'fp16'")
            }
            precision = p
        case "fallback":
            switch value {
            case "cpu": fallbackToCPU = true
            case "none": fallbackToCPU = false
            default: throw DLInferError.invalid("option fallback='\(value)' must be 'cpu' or 'none'")
            }
        default: throw DLInferError.invalid("unknown option '\(key)'; known: device, fallback, max_memory, plan_cache, precision, threads")
        }
    }

    /// "1048576", "512K", "64M", "2G" as bytes; nil if malformed or overflowing.
    static func byteSize(_ text: String) -> Int? {
        let t = text.trimmingSpaces.uppercased()
        let units: [Character: Int] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30]
        guard let last = t.last else { return nil }
        let (digits, unit) = units[last].map { (String(t.dropLast()), $0) } ?? (t, 1)
        guard let n = Int(digits), n >= 0 else { return nil }
        let (bytes, overflow) = n.multipliedReportingOverflow(by: unit)
        return overflow ? nil : bytes
    }
}

/// A model bound to a device: one per thread; holds plans and buffers between runs.
public final class InferenceSession: @unchecked Sendable {
    public let model: Model
    public let device: DeviceRequest
    /// Why the device in use differs from what was asked, if it does.
    public let deviceNote: String?
    /// The device in use and its index in `Devices.list()`.
    public let deviceInfo: DeviceInfo
    public let deviceIndex: Int
    /// CPU threads a run uses at most (nil: all the process has).
    public let threads: Int?
    let session: Session
    public private(set) var lastOutputs: [Tensor] = []
    /// Inputs given one at a time (the C API's set/bind), in model order; bound ones are dropped after each run.
    private var staged: [Tensor?]
    private var bound: [Bool]

    public init(model: Model, options: SessionOptions = SessionOptions()) throws {
        self.model = model
        let r = try Devices.resolve(options)
        if options.precision == .fp16, r.index != 0 { try Devices.checkHalfStorage(model.graph) }
        device = r.request
        deviceNote = r.note
        deviceIndex = r.index
        deviceInfo = Devices.info(r.index)
        threads = options.threads
        session = try Session(graph: model.graph, host: r.host, device: r.device, limits: options.limits)
        staged = Array(repeating: nil, count: model.inputs.count)
        bound = Array(repeating: false, count: model.inputs.count)
    }

    /// The device actually running the model: "cpu", or "opencl:N (device name)".
    public var deviceName: String { deviceInfo.kind == .cpu ? "cpu" : "\(deviceInfo.id) (\(deviceInfo.name))" }
    public var placements: [Placement] { session.placements }
    /// Nodes that run on the CPU backend.
    public var cpuNodeCount: Int { session.placements.filter { $0.backend == "cpu" }.count }
    /// Tensors the last run moved between host and device (see `Session.Transfers`).
    public var lastRunTransfers: Session.Transfers { session.lastTransfers }

    /// Runs with inputs in model order; outputs in model order.
    public func run(_ inputs: [Tensor]) throws -> [Tensor] {
        session.recycle(&lastOutputs)
        lastOutputs = try Threads.withLimit(threads) { try session.run(inputs) }
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

    /// Keeps `tensor` as input `index` for every later `run()` until it is replaced.
    public func setInput(_ index: Int, _ tensor: Tensor) throws {
        try model.checkInput(index, dtype: tensor.dtype, shape: tensor.shape)
        staged[index] = tensor
        bound[index] = false
    }

    /// Uses `tensor` (typically borrowed caller memory) as input `index` for the next `run()` only.
    public func bindInput(_ index: Int, _ tensor: Tensor) throws {
        try model.checkInput(index, dtype: tensor.dtype, shape: tensor.shape)
        staged[index] = tensor
        bound[index] = true
    }

    /// Runs on the inputs given with `setInput`/`bindInput`. Outputs never alias borrowed memory, so they stay
    /// valid after the caller reclaims it.
    public func run() throws {
        defer {
            for i in bound.indices where bound[i] { staged[i] = nil; bound[i] = false }
        }
        let inputs = try staged.enumerated().map { i, t -> Tensor in
            guard let t else {
                throw DLInferError.invalid("input '\(model.inputs[i].name)' (index \(i)) was not set before run")
            }
            return t
        }
        session.recycle(&lastOutputs)
        lastOutputs = try Threads.withLimit(threads) { try session.run(inputs) }.map { $0.storage.ownsMemory ? $0 : try $0.copy() }
    }

    public func cancel() { session.cancel() }
    /// Per-node timing (see `Session.profiling`); `nodeTimes` are seconds per node in graph order.
    public var profiling: Bool {
        get { session.profiling }
        set { session.profiling = newValue }
    }
    public var nodeTimes: [Double] { session.nodeTimes }

    /// Host memory the session holds now (buffers, pooled free ones, outputs not yet freed), and its plans.
    public var memoryInUse: Int { session.memoryInUse }
    public var memory: MemoryBudget { session.memory }
    public var cachedPlans: Int { session.cachedPlans }
    /// Host bytes the last run had to allocate because no pooled buffer could serve them (0 in steady state).
    public var lastRunAllocatedBytes: Int { session.lastRunAllocatedBytes }
}
