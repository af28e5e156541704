import DLInferCore

// The ops on masks and indices (kernels/typed.cl, and Where in datamovement.cl): bools are one byte, 0 or 1, and
// 64-bit integers need a device with them (`CLDeviceDescription.supportsInt64`; placement checks).

/// The build define that names a typed kernel's source (`side` S) or destination (D) element type (kernels/typed.cl).
private func typeDefine(_ t: DType, _ side: String) throws -> String {
    switch t {
    case .float32: return "-D\(side)_FLOAT"
    case .float16: return "-D\(side)_HALF"
    case .int32: return "-D\(side)=int"
    case .int64: return "-D\(side)=long"
    case .bool: return "-D\(side)=uchar"
    default: throw DLInferError(.internal, "no OpenCL type for \(t)")
    }
}

/// The comparisons of `compare` (CMP_*).
enum ComparisonCode: Int32, KernelCode {
    static let prefix = "CMP"
    case equal, less, lessOrEqual, greater, greaterOrEqual
}

/// The ops of `logic` (LOGIC_*).
enum LogicCode: Int32, KernelCode {
    static let prefix = "LOGIC"
    case and, or, xor
}

/// The ops of `arith` (ARITH_*).
enum IntegerArithCode: Int32, KernelCode {
    static let prefix = "ARITH"
    case add, sub, mul, div, max, min
}

/// A broadcast binary launch shared by the comparisons, logic ops and integer arithmetic: c = a op b over the output
/// shape (`extra`: arguments after op).
private func launchBroadcast<C: KernelCode>(_ q: CLQueue, _ k: CLKernel, _ a: DeviceTensor, _ b: DeviceTensor, _ c: DeviceTensor,
                                            op: C, extra: [CLArg] = []) throws {
    guard c.count > 0 else { return }
    try requireInt32Indexing(a.shape, b.shape, c.shape)
    let layout = BroadcastLayout(output: c.shape, inputs: [a.shape, b.shape])
    guard layout.fits else { throw DLInferError(.unsupported, "broadcast over more than 8 dims") }
    try q.launch1D(k, c.count, [.buffer(a), .buffer(b), .buffer(c), .int(c.count), layout.dimsArg, layout.stridesArg(0),
                                layout.stridesArg(1), .code(op)] + extra)
}

/// Equal, Less, LessOrEqual, Greater, GreaterOrEqual on float32, int32, int64 (and bool for Equal), to bool.
final class CompareCL: Kernel {
    private let op: ComparisonCode, q: CLQueue
    init(_ a: Compare, _ q: CLQueue) {
        self.q = q
        switch a.kind {
        case .equal: op = .equal
        case .less: op = .less
        case .lessOrEqual: op = .lessOrEqual
        case .greater: op = .greater
        case .greaterOrEqual: op = .greaterOrEqual
        }
    }

    func run(_ inputs: DeviceInputs, _ outputs: KernelOutputs) throws -> [DeviceTensor?] {
        let a = inputs[0], b = inputs[1]
        let k = try q.kernel("typed", "compare", defines: try typeDefine(a.dtype, "S"))
        let c = try q.allocate(.bool, outputs.shape(0))
        try launchBroadcast(q, k, a, b, c, op: op)
        return [c]
    }
}

/// And, Or, Xor on bools with broadcasting, and Not.
final class LogicCL: Kernel {
    private let op: LogicCode?, q: CLQueue, k: CLKernel
    /// `kind` nil: Not.
    init(_ kind: Logic.Kind?, _ q: CLQueue) throws {
        self.q = q
        op = kind.map { k -> LogicCode in
            switch k {
            case .and: return .and
            case .or: return .or
            case .xor: return .xor
            }
        }
        k = try q.kernel("typed", op == nil ? "logic_not" : "logic")
    }

    func run(_ inputs: DeviceInputs, _ outputs: KernelOutputs) throws -> [DeviceTensor?] {
        let c = try q.allocate(.bool, outputs.shape(0))
        guard let op else {
            let x = inputs[0]
            if c.count > 0 {
                try requireInt32Indexing(x.shape)
                try q.launch1D(k, c.count, [.buffer(x), .buffer(c), .int(c.count)])
            }
            return [c]
        }
        try launchBroadcast(q, k, inputs[0], inputs[1], c, op: op)
        return [c]
    }
}

/// Add, Sub, Mul, Div (Binary) and Sum, Max, Min (Variadic, folded pairwise) on int32 and int64 tensors with
/// broadcasting, for the index arithmetic of detectors; a zero divisor fails the run (a device fault).
final class IntegerArithCL: Kernel {
    private let op: IntegerArithCode, q: CLQueue
    /// The integer types it computes on.
    static let types: Set<DType> = [.int32, .int64]

    init(_ a: Binary, _ q: CLQueue) throws {
        switch a.kind {
        case .add: op = .add
        case .sub: op = .sub
        case .mul: op = .mul
        case .div: op = .div
        case .pow: throw DLInferError(.internal, "\(a.opName) has no integer OpenCL kernel")
        }
        self.q = q
    }

    init(_ a: Variadic, _ q: CLQueue) throws {
        switch a.kind {
        case .sum: op = .add
        case .max: op = .max
        case .min: op = .min
        case .mean: throw DLInferError(.internal, "\(a.opName) has no integer OpenCL kernel")
        }
        self.q = q
    }

    func run(_ inputs: DeviceInputs, _ outputs: KernelOutputs) throws -> [DeviceTensor?] {
        let given = inputs.device.compactMap { $0 }
        guard let first = given.first else { throw DLInferError(.internal, "no inputs") }
        let k = try q.kernel("typed", "arith", defines: "\(try typeDefine(first.dtype, "S")) -DU=u\(first.dtype == .int64 ? "long" : "int")")
        guard given.count > 1 else {
            let y = try q.allocate(first.dtype, outputs.shape(0))
            try q.copy(first, to: y, bytes: y.byteCount)
            return [y]
        }
        var acc = first
        for (n, b) in given.dropFirst().enumerated() {
            let shape = n == given.count - 2 ? outputs.shape(0) : try broadcastShapes([acc.shape, b.shape])
            let c = try q.allocate(first.dtype, shape)
            try launchBroadcast(q, k, acc, b, c, op: op, extra: [.buffer(try q.faults())])
            acc = c
        }
        return [acc]
    }
}

/// Where: X where the condition holds, else Y, with broadcasting; any element type, copied as bits.
final class WhereCL: Kernel {
    private let q: CLQueue
    init(_ q: CLQueue) { self.q = q }

    func run(_ inputs: DeviceInputs, _ outputs: KernelOutputs) throws -> [DeviceTensor?] {
        let c = inputs[0], x = inputs[1], y = inputs[2]
        let out = try q.allocate(x.dtype, outputs.shape(0))
        guard out.count > 0 else { return [out] }
        try requireInt32Indexing(c.shape, x.shape, y.shape, out.shape)
        let layout = BroadcastLayout(output: out.shape, inputs: [c.shape, x.shape, y.shape])
        guard layout.fits else { throw DLInferError(.unsupported, "broadcast over more than 8 dims") }
        let k = try q.kernel("datamovement", "where_select", defines: bitsDefine(x))
        try q.launch1D(k, out.count, [.buffer(c), .buffer(x), .buffer(y), .buffer(out), .int(out.count), layout.dimsArg,
                                      layout.stridesArg(0), layout.stridesArg(1), layout.stridesArg(2)])
        return [out]
    }
}

/// Cast among float32, float16, int32, int64 and bool, as the CPU casts (see kernels/typed.cl). A cast to the same
/// type is a view, and so is one between float16 and float32 when both are stored as half (precision=fp16): the
/// precision pass's casts around the compute nodes of a float16 model then cost nothing.
final class CastCL: Kernel {
    private let a: Cast, q: CLQueue
    /// The types CastCL converts between.
    static let types: Set<DType> = [.float32, .float16, .int32, .int64, .bool]
    init(_ a: Cast, _ q: CLQueue) { self.a = a; self.q = q }

    func run(_ inputs: DeviceInputs, _ outputs: KernelOutputs) throws -> [DeviceTensor?] {
        let x = inputs[0], to = outputs.dtype(0)
        if x.stored == q.storage(to) { return [x.retyped(to)] }
        let y = try q.allocate(to, x.shape)
        guard y.count > 0 else { return [y] }
        try requireInt32Indexing(x.shape)
        let kind: String
        switch (x.dtype, to) {
        case (_, .bool): kind = "-DTO_BOOL"
        case (.float32, .int32), (.float16, .int32): kind = "-DFLOAT_TO_INT"
        case (.float32, .int64), (.float16, .int64): kind = "-DFLOAT_TO_LONG"
        case (_, .float32), (_, .float16): kind = "-DTO_FLOAT"
        default: kind = ""
        }
        let k = try q.kernel("typed", "cast_values", defines: "\(try typeDefine(x.dtype, "S")) \(try typeDefine(to, "D")) \(kind)")
        try q.launch1D(k, y.count, [.buffer(x), .buffer(y), .int(y.count)])
        return [y]
    }
}
