import DLInferCore

// MatMulInteger and ConvInteger (kernels/integer.cl): int8/uint8 operands less their zero points, int32 sums exact
// and wrapping as on the CPU. Zero points are device tensors like the operands (DynamicQuantizeLinear computes them
// on the device in dynamically quantized models).

/// Which operands have a zero point (ZERO_POINT_* bits): MatMulInteger's A and B, ConvInteger's x and w.
enum ZeroPoint: Int32, KernelCode {
    static let prefix = "ZERO_POINT"
    case a = 1, b = 2
}

/// The build defines for the two operand types.
private func operandDefines(_ a: DType, _ b: DType) throws -> String {
    func name(_ t: DType) throws -> String {
        switch t {
        case .int8: return "char"
        case .uint8: return "uchar"
        default: throw DLInferError(.internal, "no OpenCL integer operand type for \(t)")
        }
    }
    return "-DA=\(try name(a)) -DB=\(try name(b))"
}

/// The element strides of a tensor of `shape` read in the coordinates of `target` (right-aligned; 0 where a dim of 1
/// is broadcast), or nil when it does not broadcast to `target`.
private func broadcastStrides(_ shape: [Int], to target: [Int]) -> [Int]? {
    guard shape.count <= target.count else { return nil }
    let own = shape.contiguousStrides, lead = target.count - shape.count
    var strides = [Int](repeating: 0, count: target.count)
    for (d, size) in shape.enumerated() {
        if size == target[lead + d] { strides[lead + d] = size == 1 ? 0 : own[d] } else if size != 1 { return nil }
    }
    return strides
}

/// MatMulInteger with numpy batch broadcasting; a 1-D A is a row, a 1-D B a column. Zero points broadcast against
/// their operand as on the CPU: a scalar, one per row of A (a vector of M, or A's shape with K set to 1), one per
/// column of B (a vector of N, or B's shape with K set to 1).
final class MatMulIntegerCL: Kernel {
    private let q: CLQueue
    init(_ q: CLQueue) { self.q = q }

    func run(_ inputs: DeviceInputs, _ outputs: KernelOutputs) throws -> [DeviceTensor?] {
        let a = inputs[0], b = inputs[1]
        let za = inputs.has(2) ? inputs[2] : nil, zb = inputs.has(3) ? inputs[3] : nil
        let y = try q.allocate(.int32, outputs.shape(0))
        guard y.count > 0 else { return [y] }
        try requireInt32Indexing(a.shape, b.shape, y.shape)
        // The operands as matrices (a 1-D A as [1, K], a 1-D B as [K, 1]) and their strides (the added dim 0).
        let aShape = a.shape.count == 1 ? [1] + a.shape : a.shape, bShape = b.shape.count == 1 ? b.shape + [1] : b.shape
        let m = aShape[aShape.count - 2], k = aShape[aShape.count - 1], n = bShape[bShape.count - 1]
        guard bShape[bShape.count - 2] == k else { throw DLInferError.shape("MatMulInteger: A \(a.shape) and B \(b.shape) differ in K") }
        let batch = try broadcastShapes([Array(aShape.dropLast(2)), Array(bShape.dropLast(2))])
        guard batch.count <= 8, batch.elementCount * m * n == y.count else {
            throw DLInferError.shape("MatMulInteger: A \(a.shape) and B \(b.shape) do not give \(y.shape)")
        }
        /// The strides of `t` (operand A or B, or its zero point) in the matrix coordinates of the operand: a 1-D A
        /// gains its M dim in front, a 1-D B its N dim behind; A's zero point as a vector of several values is a column.
        func strides(_ t: DeviceTensor, of operand: DeviceTensor, isA: Bool, zeroPoint: Bool, _ role: String) throws -> [Int] {
            let own = isA && zeroPoint && t.shape.count == 1 && t.count > 1 ? [t.count, 1] : t.shape
            guard let s = t.count == 1 ? [Int](repeating: 0, count: operand.shape.count) : broadcastStrides(own, to: operand.shape) else {
                throw DLInferError.shape("MatMulInteger: \(role) of shape \(t.shape) does not fit an operand of shape \(operand.shape)")
            }
            guard operand.shape.count == 1 else { return s }
            return isA ? [0] + s : s + [0]
        }
        /// The batch part of matrix strides, right-aligned to `batch`, padded to the kernel's 8 dims.
        func batchStrides(_ s: [Int], _ shape: [Int]) -> [Int] {
            let own = Array(zip(shape.dropLast(2), s.dropLast(2)).map { $0.0 == 1 ? 0 : $0.1 })
            return BroadcastLayout.pad([Int](repeating: 0, count: batch.count - own.count) + own, with: 0)
        }
        let sa = try strides(a, of: a, isA: true, zeroPoint: false, "A")
        let sb = try strides(b, of: b, isA: false, zeroPoint: false, "B")
        let none = [Int](repeating: 0, count: 2)
        let sza = try za.map { try strides($0, of: a, isA: true, zeroPoint: true, "a_zero_point") }
        let szb = try zb.map { try strides($0, of: b, isA: false, zeroPoint: true, "b_zero_point") }
        let (zaM, zaK) = sza.map { ($0[$0.count - 2], $0[$0.count - 1]) } ?? (0, 0)
        let (zbK, zbN) = szb.map { ($0[$0.count - 2], $0[$0.count - 1]) } ?? (0, 0)
        let steps = [sa[sa.count - 2], sa[sa.count - 1], sb[sb.count - 2], sb[sb.count - 1], zaM, zaK, zbK, zbN]
        let k0 = try q.kernel("integer", "matmul_integer", defines: try operandDefines(a.dtype, b.dtype))
        try q.launch1D(k0, y.count, [
            .buffer(a), .buffer(b), .buffer(za ?? a), .buffer(zb ?? b), .buffer(y), .int(y.count), .int(m), .int(n), .int(k),
            .int8(BroadcastLayout.pad(batch, with: 1)), .int8(batchStrides(sa, aShape)), .int8(batchStrides(sb, bShape)),
            .int8(batchStrides(sza ?? none, aShape)), .int8(batchStrides(szb ?? none, bShape)), .int8(steps),
            .int(ZeroPoint.mask((za == nil ? [] : [.a]) + (zb == nil ? [] : [.b]))),
        ])
        return [y]
    }
}

/// ConvInteger over 1 to 3 spatial dims with every Conv attribute, one work-item per output element.
final class ConvIntegerCL: Kernel {
    private let conv: Conv, q: CLQueue
    init(_ a: ConvInteger, _ q: CLQueue) { conv = a.conv; self.q = q }

    func run(_ inputs: DeviceInputs, _ outputs: KernelOutputs) throws -> [DeviceTensor?] {
        let x = inputs[0], w = inputs[1]
        let xz = inputs.has(2) ? inputs[2] : nil, wz = inputs.has(3) ? inputs[3] : nil
        guard x.shape.count >= 3, x.shape.count <= 5, w.shape.count == x.shape.count else {
            throw DLInferError.shape("ConvInteger: x \(x.shape) and w \(w.shape) must have the same rank, 3 to 5 on OpenCL")
        }
        let c = x.shape[1], m = w.shape[0], group = conv.group, cg = w.shape[1]
        guard group >= 1, cg * group == c, m % group == 0 else {
            throw DLInferError.shape("ConvInteger: x has \(c) channels and w \(w.shape) with group \(group) does not match")
        }
        if let xz, xz.count != 1 { throw DLInferError.shape("ConvInteger: x_zero_point must be a single value, got shape \(xz.shape)") }
        if let wz, wz.count != 1, wz.shape != [m] {
            throw DLInferError.shape("ConvInteger: w_zero_point must be a single value or one per output channel (\(m)), got shape \(wz.shape)")
        }
        let inner = Array(x.shape[2...]), kernel = Array(w.shape[2...])
        let window = try conv.window(weightSpatial: kernel)
        let (out, padBegin) = try window.resolve(inner)
        let y = try q.allocate(.int32, outputs.shape(0))
        guard y.shape == [x.shape[0], m] + out else { throw DLInferError.shape("ConvInteger gives \([x.shape[0], m] + out), not \(y.shape)") }
        guard y.count > 0 else { return [y] }
        try requireInt32Indexing(x.shape, w.shape, y.shape)
        let k = try q.kernel("integer", "conv_integer", defines: try operandDefines(x.dtype, w.dtype))
        let zeroPoints: [CLArg] = [.buffer(xz ?? x), .buffer(wz ?? w), .int(ZeroPoint.mask((xz == nil ? [] : [.a]) + (wz == nil ? [] : [.b]))),
                                   .int(wz.map { $0.count == 1 ? 0 : 1 } ?? 0)]
        try q.launch1D(k, y.count, [.buffer(x), .buffer(w)] + zeroPoints
            + [.buffer(y), .int(y.count), .int(c), .int(m), .int(cg), .int(m / group)]
            + WindowArgs(input: inner, output: out, window: window, padBegin: padBegin).args)
        return [y]
    }
}
