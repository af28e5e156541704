import DLInferCore

/// unary_f32's ops (UNARY_*).
enum UnaryCode: Int32, KernelCode {
    static let prefix = "UNARY"
    case activation, exp, sqrt
}

/// binary_f32's ops (BIN_*). PRelu is x < 0 ? slope * x : x, the slope broadcast to X.
enum BinaryCode: Int32, KernelCode {
    static let prefix = "BIN"
    case add, sub, mul, div, pow, max, min, prelu
}

/// Unary ops, Clip (bounds read on the host), Add/Sub/Mul/Div/Pow and PRelu with broadcasting, and Sum/Max/Min as a
/// chain of pairwise launches.
final class UnaryCL: Kernel {
    private let q: CLQueue, k: CLKernel
    private let op: UnaryCode, act: CLActivation

    init(_ a: Unary, _ q: CLQueue) throws {
        self.q = q
        k = try q.kernel("elementwise", "unary_f32")
        switch a.kind {
        case .activation(let f): (op, act) = (.activation, CLActivation(f))
        case .exp: (op, act) = (.exp, CLActivation(nil))
        case .sqrt: (op, act) = (.sqrt, CLActivation(nil))
        }
    }

    init(clipKernelOn q: CLQueue) throws {
        self.q = q
        k = try q.kernel("elementwise", "unary_f32")
        (op, act) = (.activation, CLActivation(nil))
    }

    func run(_ inputs: DeviceInputs, _ outputs: KernelOutputs) throws -> [DeviceTensor?] {
        try [apply(inputs[0], act)]
    }

    func apply(_ x: DeviceTensor, _ act: CLActivation) throws -> DeviceTensor {
        let y = try q.allocate(.float32, x.shape)
        try q.launch1D(k, x.count, [.buffer(x), .buffer(y), .int(x.count), .code(op)] + act.args)
        return y
    }
}

/// Clip's bounds are optional scalar inputs, read on the host (they are constants in practice).
final class ClipCL: Kernel {
    private let unary: UnaryCL
    init(_ q: CLQueue) throws { unary = try UnaryCL(clipKernelOn: q) }

    func run(_ inputs: DeviceInputs, _ outputs: KernelOutputs) throws -> [DeviceTensor?] {
        let lo = inputs.host.count > 1 ? inputs.host[1].map { $0.floats[0] } : nil
        let hi = inputs.host.count > 2 ? inputs.host[2].map { $0.floats[0] } : nil
        return [try unary.apply(inputs[0], CLActivation(.clip(min: lo ?? -.infinity, max: hi ?? .infinity)))]
    }
}

final class BinaryCL: Kernel {
    private let q: CLQueue, general: CLKernel, same: CLKernel
    private let op: BinaryCode

    init(op: BinaryCode, _ q: CLQueue) throws {
        self.q = q
        self.op = op
        general = try q.kernel("elementwise", "binary_f32")
        same = try q.kernel("elementwise", "binary_same_f32")
    }

    convenience init(_ a: Binary, _ q: CLQueue) throws {
        let op: BinaryCode
        switch a.kind {
        case .add: op = .add
        case .sub: op = .sub
        case .mul: op = .mul
        case .div: op = .div
        case .pow: op = .pow
        }
        try self.init(op: op, q)
    }

    func run(_ inputs: DeviceInputs, _ outputs: KernelOutputs) throws -> [DeviceTensor?] {
        [try apply(inputs[0], inputs[1], outputs.shape(0))]
    }

    func apply(_ a: DeviceTensor, _ b: DeviceTensor, _ shape: [Int], act: CLActivation = CLActivation(nil)) throws -> DeviceTensor {
        let c = try q.allocate(.float32, shape)
        if a.shape == shape && b.shape == shape {
            try q.launch1D(same, c.count, [.buffer(a), .buffer(b), .buffer(c), .int(c.count), .code(op)] + act.args)
            return c
        }
        let layout = BroadcastLayout(output: shape, inputs: [a.shape, b.shape])
        guard layout.fits else { throw DLInferError(.unsupported, "broadcast over more than 8 dims") }
        try q.launch1D(general, c.count, [.buffer(a), .buffer(b), .buffer(c), .int(c.count), layout.dimsArg,
                                          layout.stridesArg(0), layout.stridesArg(1), .code(op)] + act.args)
        return c
    }
}

final class VariadicCL: Kernel {
    private let binary: BinaryCL
    private let q: CLQueue

    init(_ a: Variadic, _ q: CLQueue) throws {
        self.q = q
        switch a.kind {
        case .sum: binary = try BinaryCL(op: .add, q)
        case .max: binary = try BinaryCL(op: .max, q)
        case .min: binary = try BinaryCL(op: .min, q)
        case .mean: throw DLInferError(.internal, "Mean has no OpenCL kernel")
        }
    }

    func run(_ inputs: DeviceInputs, _ outputs: KernelOutputs) throws -> [DeviceTensor?] {
        let given = inputs.device.compactMap { $0 }
        let shape = outputs.shape(0)
        guard given.count > 1 else {
            // One input: the output is that input broadcast to itself, i.e. a copy.
            let y = try q.allocate(.float32, shape)
            try q.copy(given[0], to: y, bytes: y.byteCount)
            return [y]
        }
        var acc = try binary.apply(given[0], given[1], broadcastShapes(given[0].shape, given[1].shape))
        for t in given.dropFirst(2) { acc = try binary.apply(acc, t, broadcastShapes(acc.shape, t.shape)) }
        return [acc]
    }

    private func broadcastShapes(_ a: [Int], _ b: [Int]) -> [Int] {
        let r = max(a.count, b.count)
        let pa = Array(repeating: 1, count: r - a.count) + a, pb = Array(repeating: 1, count: r - b.count) + b
        return zip(pa, pb).map { $0 == 1 ? $1 : $0 }
    }
}
