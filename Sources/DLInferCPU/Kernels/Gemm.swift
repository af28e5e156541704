import DLInferCore

func makeGemmKernel(_ a: Gemm, _ node: Node, _ graph: Graph) throws -> HostKernel {
    GemmKernel(a, weight: node.inputs[1].flatMap { graph.constants[$0] })
}

func makeMatMulKernel(_ a: MatMul, _ node: Node, _ graph: Graph) throws -> HostKernel {
    MatMulKernel(a, left: node.inputs[0].flatMap { graph.constants[$0] }, right: node.inputs[1].flatMap { graph.constants[$0] })
}

/// Gemm as one sgemm call. A constant B (a Dense layer's weights) is packed on the first run with more than one
/// row: a single row is a matrix-vector product that streams B as it is, and packing would double the layer's
/// memory for nothing. C becomes a per-row or per-column bias (pre-scaled by beta) fused with the activation in the
/// epilogue, or, when it is a full [M, N] matrix, is copied into Y and accumulated onto with beta.
final class GemmKernel: Kernel {
    let attrs: Gemm
    private let weight: LazyPackedWeight?

    init(_ a: Gemm, weight: Tensor?) {
        attrs = a
        self.weight = weight.flatMap { w in
            guard w.rank == 2, w.dtype == .float32 else { return nil }
            return LazyPackedWeight(w, .right, rows: a.transB ? w.shape[1] : w.shape[0],
                                    cols: a.transB ? w.shape[0] : w.shape[1], transposed: a.transB)
        }
    }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let a = inputs[0]!, b = inputs[1]!
        let y = try outputs.make(0)
        let m = y.shape[0], n = y.shape[1], k = attrs.transA ? a.shape[0] : a.shape[1]
        let yp = y.pointer(Float.self)
        let opB: SGEMMOperand = weight?.packed(forExtent: m).map { .packed($0) }
            ?? .matrix(b.pointer(Float.self), ld: b.shape[1], transposed: attrs.transB)
        let opA = SGEMMOperand.matrix(a.pointer(Float.self), ld: a.shape[1], transposed: attrs.transA)

        let c = inputs.count > 2 && attrs.beta != 0 ? inputs[2] : nil
        guard let c else {
            sgemm(m: m, n: n, k: k, alpha: attrs.alpha, a: opA, b: opB, c: yp, ldc: n, activation: attrs.activation)
            return [y]
        }
        // C's extent along M and N after aligning it right against [M, N] (1 = broadcast).
        let cm = c.rank == 2 ? c.shape[0] : 1, cn = c.rank >= 1 ? c.shape[c.rank - 1] : 1
        let cp = c.pointer(Float.self), beta = attrs.beta
        if cm == m && cn == n && m * n > 1 {
            yp.update(from: cp, count: m * n)
            sgemm(m: m, n: n, k: k, alpha: attrs.alpha, a: opA, b: opB, beta: beta, c: yp, ldc: n, activation: attrs.activation)
        } else if cm == m && m > 1 {
            let bias = (0..<m).map { beta * cp[$0] }
            bias.withUnsafeBufferPointer {
                sgemm(m: m, n: n, k: k, alpha: attrs.alpha, a: opA, b: opB, c: yp, ldc: n, bias: .perRow($0.baseAddress!),
                      activation: attrs.activation)
            }
        } else {
            let bias = (0..<n).map { beta * cp[cn == 1 ? 0 : $0] }
            bias.withUnsafeBufferPointer {
                sgemm(m: m, n: n, k: k, alpha: attrs.alpha, a: opA, b: opB, c: yp, ldc: n, bias: .perColumn($0.baseAddress!),
                      activation: attrs.activation)
            }
        }
        return [y]
    }
}

/// MatMul with numpy semantics. A rank-2 constant operand is packed once. When B has no batch dims, A's batch dims
/// fold into M (one large product); otherwise each broadcast batch is its own product, run in parallel when they are
/// small.
final class MatMulKernel: Kernel {
    let attrs: MatMul
    private let left: LazyPackedWeight?
    private let right: LazyPackedWeight?

    init(_ a: MatMul, left: Tensor?, right: Tensor?) {
        attrs = a
        // A vector operand is a matrix-vector product: packing it would only slow it down.
        self.left = left.flatMap { l in
            guard l.rank == 2, l.shape[0] > 1, l.dtype == .float32 else { return nil }
            return LazyPackedWeight(l, .left, rows: l.shape[0], cols: l.shape[1], transposed: false)
        }
        self.right = right.flatMap { r in
            guard r.rank == 2, r.shape[1] > 1, r.dtype == .float32 else { return nil }
            return LazyPackedWeight(r, .right, rows: r.shape[0], cols: r.shape[1], transposed: false)
        }
    }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let a = inputs[0]!, b = inputs[1]!
        let y = try outputs.make(0)
        switch a.dtype {
        case .float32: break
        case .float64: matMulLoops(a, b, y, Double.self); return [y]
        case .int32: matMulLoops(a, b, y, Int32.self); return [y]
        case .int64: matMulLoops(a, b, y, Int64.self); return [y]
        case .uint32: matMulLoops(a, b, y, UInt32.self); return [y]
        case .uint64: matMulLoops(a, b, y, UInt64.self); return [y]
        default: throw DLInferError.unsupported("MatMul on \(a.dtype)")
        }
        let k = a.shape[a.rank - 1]
        let m = a.rank >= 2 ? a.shape[a.rank - 2] : 1
        let n = b.rank >= 2 ? b.shape[b.rank - 1] : 1
        let aBatch = Array(a.shape.dropLast(2)), bBatch = Array(b.shape.dropLast(2))
        let ap = a.pointer(Float.self), bp = b.pointer(Float.self), yp = y.pointer(Float.self)
        let packedB = right?.packed(forExtent: aBatch.elementCount * m), packedA = left?.packed(forExtent: n)
        let opB: SGEMMOperand = packedB.map { .packed($0) } ?? .matrix(bp, ld: n, transposed: false)

        if bBatch.elementCount == 1 && packedA == nil {
            // B is one matrix: every batch of A shares it, so stack A's batches into the rows of one product.
            sgemm(m: aBatch.elementCount * m, n: n, k: k, a: .matrix(ap, ld: k, transposed: false), b: opB, c: yp, ldc: n,
                  activation: attrs.activation)
            return [y]
        }
        let batch = Array(y.shape.dropLast((a.rank >= 2 ? 1 : 0) + (b.rank >= 2 ? 1 : 0)))
        let count = batch.elementCount
        guard count > 0 else { return [y] }
        let aOffsets = batchOffsets(aBatch, in: batch, matrix: m * k)
        let bOffsets = batchOffsets(bBatch, in: batch, matrix: k * n)
        let one = { (i: Int, threads: Int?) in
            let opA: SGEMMOperand = packedA.map { .packed($0) } ?? .matrix(ap + aOffsets[i], ld: k, transposed: false)
            let opBi: SGEMMOperand = packedB == nil ? .matrix(bp + bOffsets[i], ld: n, transposed: false) : opB
            sgemm(m: m, n: n, k: k, a: opA, b: opBi, c: yp + i * m * n, ldc: n, activation: self.attrs.activation,
                  maxThreads: threads)
        }
        if count >= 2 && m * n * k < 1 << 21 {
            parallelFor(count) { range in for i in range { one(i, 1) } }
        } else {
            for i in 0..<count { one(i, nil) }
        }
        return [y]
    }
}

/// A constant operand of a product, packed for the SGEMM on the first run that multiplies it by more than one
/// vector (by any, with `packsForVectors`). Until then, and for models that only ever do (batch 1 through a Dense
/// layer), products read the constant where it is, as matrix-vector products that stream it at memory speed, and no
/// packed copy is made.
final class LazyPackedWeight {
    private let tensor: Tensor
    private let side: PackedMatrix.Side, rows: Int, cols: Int, transposed: Bool
    private let packsForVectors: Bool
    private var matrix: PackedMatrix?

    init(_ tensor: Tensor, _ side: PackedMatrix.Side, rows: Int, cols: Int, transposed: Bool,
         packsForVectors: Bool = false) {
        self.tensor = tensor; self.side = side; self.rows = rows; self.cols = cols; self.transposed = transposed
        self.packsForVectors = packsForVectors
    }

    /// The packed operand, packed now if the product's other extent (rows of A for a right operand, columns of B for
    /// a left one) is above 1 or `packsForVectors` is set; nil while only matrix-vector products have run.
    func packed(forExtent extent: Int) -> PackedMatrix? {
        if matrix == nil, extent > 1 || packsForVectors && extent == 1 {
            // The tensor holds the matrix contiguously, as rows x cols or (transposed) cols x rows.
            matrix = PackedMatrix(side, rows: rows, cols: cols, tensor.pointer(Float.self), ld: transposed ? rows : cols,
                                  transposed: transposed)
        }
        return matrix
    }
}

/// MatMul of types other than float32 (float64, integers wrapping on overflow) as plain loops: numpy semantics, batch
/// dims broadcast; each task computes output rows as sums of scaled rows of B, so the inner loop walks memory.
func matMulLoops<T: ReduceElement>(_ a: Tensor, _ b: Tensor, _ y: Tensor, _: T.Type) {
    let k = a.shape[a.rank - 1]
    let m = a.rank >= 2 ? a.shape[a.rank - 2] : 1, n = b.rank >= 2 ? b.shape[b.rank - 1] : 1
    let batch = Array(y.shape.dropLast((a.rank >= 2 ? 1 : 0) + (b.rank >= 2 ? 1 : 0)))
    let count = batch.elementCount
    guard count > 0, m > 0, n > 0 else { return }
    let aOffsets = batchOffsets(Array(a.shape.dropLast(2)), in: batch, matrix: m * k)
    let bOffsets = batchOffsets(Array(b.shape.dropLast(2)), in: batch, matrix: k * n)
    let ap = UnsafePointer(a.pointer(T.self)), bp = UnsafePointer(b.pointer(T.self)), yp = y.pointer(T.self)
    parallelFor(count * m, grain: Swift.max(1, 8192 / Swift.max(1, n * k))) { r in
        for t in r {
            let bi = t / m, i = t % m
            let row = ap + aOffsets[bi] + i * k, mat = bp + bOffsets[bi], out = yp + t * n
            for j in 0..<n { out[j] = T.zero }
            for p in 0..<k {
                let v = row[p], brow = mat + p * n
                for j in 0..<n { out[j] = T.sum(out[j], T.product(v, brow[j])) }
            }
        }
    }
}

/// MatMulInteger: both operands widened to int32 less their zero points (scalar, per row of A, per column of B),
/// then the integer MatMul.
final class MatMulIntegerKernel: Kernel {
    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let a = inputs[0]!, b = inputs[1]!
        let y = try outputs.make(0)
        let za = inputs.count > 2 ? inputs[2] : nil, zb = inputs.count > 3 ? inputs[3] : nil
        let wa = try widenLessZeroPoint(a, za, rowwise: true, outputs, "MatMulInteger", "a_zero_point")
        let wb = try widenLessZeroPoint(b, zb, rowwise: false, outputs, "MatMulInteger", "b_zero_point")
        matMulLoops(wa, wb, y, Int32.self)
        return [y]
    }
}

/// The parameter's shape as it broadcasts against its operand: a vector of several values for A holds one value per
/// row, a column against A's [..., M, K] (`rowwise`); otherwise the shape as it is.
private func parameterShape(_ p: Tensor, rowwise: Bool) -> [Int] {
    rowwise && p.rank == 1 && p.count > 1 ? [p.count, 1] : p.shape
}

/// x - zero as int32 (`zero` nil: 0); the zero point must broadcast to x's shape (see `parameterShape`).
private func widenLessZeroPoint(_ x: Tensor, _ zero: Tensor?, rowwise: Bool, _ outputs: KernelOutputs, _ op: String,
                                _ role: String) throws -> Tensor {
    let w = try outputs.make(.int32, x.shape)
    let out = w.pointer(Int32.self)
    let zs = zero.map { parameterShape($0, rowwise: rowwise) } ?? [], zp = zero ?? Tensor.scalar(UInt8(0))
    guard zs.count <= Swift.max(x.rank, 1), (try? broadcastShapes([x.shape, zs])) == x.shape || zp.count == 1 else {
        throw DLInferError.shape("\(op): \(role) of shape \(zp.shape) does not fit an operand of shape \(x.shape)")
    }
    let shape = zp.count == 1 ? [] : zs
    func go<A: BinaryInteger & TensorElement, Z: BinaryInteger & TensorElement>(_: A.Type, _: Z.Type) {
        broadcastBinary(x.pointer(A.self), x.shape, zp.pointer(Z.self), shape, out, x.shape) { Int32($0) - Int32($1) }
    }
    switch (x.dtype, zp.dtype) {
    case (.uint8, .uint8): go(UInt8.self, UInt8.self)
    case (.int8, .int8): go(Int8.self, Int8.self)
    case (.int8, .uint8) where zero == nil: go(Int8.self, UInt8.self)
    default: throw DLInferError.unsupported("\(op) on \(x.dtype) with a \(zp.dtype) zero point")
    }
    return w
}

/// QLinearMatMul: MatMulInteger's exact int32 product, then each element times its multiplier (a_scale * b_scale /
/// y_scale in float32; one per output element when a or b is quantized per row or column) in double, rounded half
/// to even, plus y's zero point, saturated.
final class QLinearMatMulKernel: Kernel {
    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let a = inputs[0]!, aScale = inputs[1]!, b = inputs[3]!, bScale = inputs[4]!, yScale = inputs[6]!, yZero = inputs[7]!
        for (t, role) in [(yScale, "y_scale"), (yZero, "y_zero_point")] where t.count != 1 {
            throw DLInferError.shape("QLinearMatMul: \(role) must be a single value, got shape \(t.shape)")
        }
        let y = try outputs.make(0)
        let acc = try outputs.make(.int32, y.shape)
        let wa = try widenLessZeroPoint(a, inputs[2]!, rowwise: true, outputs, "QLinearMatMul", "a_zero_point")
        let wb = try widenLessZeroPoint(b, inputs[5]!, rowwise: false, outputs, "QLinearMatMul", "b_zero_point")
        matMulLoops(wa, wb, acc, Int32.self)
        let ys = yScale.pointer(Float.self)[0]
        var multipliers: Tensor? = nil
        if aScale.count != 1 || bScale.count != 1 {
            guard a.rank >= 2, b.rank >= 2 else {
                throw DLInferError.shape("QLinearMatMul: per-row or per-column scales need matrices, got a \(a.shape) and b \(b.shape)")
            }
            // A's scales vary along its rows (K set to 1), B's along its columns.
            var aRows = a.shape, bColumns = b.shape
            aRows[a.rank - 1] = 1
            bColumns[b.rank - 2] = 1
            let sa = parameterShape(aScale, rowwise: true), sb = parameterShape(bScale, rowwise: false)
            for (s, target, role) in [(sa, aRows, "a_scale"), (sb, bColumns, "b_scale")] where s.elementCount != 1 {
                guard s.count <= target.count, (try? broadcastShapes([target, s])) == target else {
                    throw DLInferError.shape("QLinearMatMul: \(role) of shape \(s) is neither a single value nor one per \(role == "a_scale" ? "row of a" : "column of b")")
                }
            }
            let m = try outputs.make(.float32, y.shape)
            broadcastBinary(aScale.pointer(Float.self), aScale.count == 1 ? [] : sa, bScale.pointer(Float.self),
                            bScale.count == 1 ? [] : sb, m.pointer(Float.self), y.shape) { ($0 * $1) / ys }
            multipliers = m
        }
        let single = (aScale.pointer(Float.self)[0] * bScale.pointer(Float.self)[0]) / ys
        let mp = multipliers.map { UnsafePointer($0.pointer(Float.self)) }
        let cp = UnsafePointer(acc.pointer(Int32.self)), n = y.count
        func store<Y: FixedWidthInteger & TensorElement>(_: Y.Type) {
            let yp = y.pointer(Y.self), zero = Double(yZero.integerValue(at: 0)), lo = Double(Y.min), hi = Double(Y.max)
            parallelFor(n, grain: 1 << 14) { r in
                for i in r {
                    let v = (Double(cp[i]) * Double(mp?[i] ?? single)).rounded(.toNearestOrEven) + zero
                    yp[i] = Y(truncatingIfNeeded: Int32(v.isNaN ? zero : Swift.min(Swift.max(v, lo), hi)))
                }
            }
        }
        if y.dtype == .int8 { store(Int8.self) } else { store(UInt8.self) }
        return [y]
    }
}

/// Element offset of each output batch's matrix in an operand whose batch dims `dims` broadcast to `batch`.
private func batchOffsets(_ dims: [Int], in batch: [Int], matrix: Int) -> [Int] {
    let padded = [Int](repeating: 1, count: batch.count - dims.count) + dims
    let strides = padded.contiguousStrides.enumerated().map { i, s in padded[i] == 1 ? 0 : s * matrix }
    var offsets = [Int](repeating: 0, count: batch.elementCount)
    var index = [Int](repeating: 0, count: batch.count)
    for o in offsets.indices {
        offsets[o] = zip(index, strides).reduce(0) { $0 + $1.0 * $1.1 }
        var d = batch.count - 1
        while d >= 0 {
            index[d] += 1
            if index[d] < batch[d] { break }
            index[d] = 0
            d -= 1
        }
    }
    return offsets
}

extension CPUKernelFactory {
    func visit(_ a: Gemm, _ node: Node, _ graph: Graph) throws -> HostKernel {
        try makeGemmKernel(a, node, graph)
    }

    func visit(_ a: MatMul, _ node: Node, _ graph: Graph) throws -> HostKernel {
        try makeMatMulKernel(a, node, graph)
    }

    func visit(_ _: MatMulInteger, _ _: Node, _ _: Graph) -> HostKernel {
        MatMulIntegerKernel()
    }

    func visit(_ _: QLinearMatMul, _ _: Node, _ _: Graph) -> HostKernel {
        QLinearMatMulKernel()
    }
}
