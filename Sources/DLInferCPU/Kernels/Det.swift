import DLInferCore

/// Det: each matrix is copied to a float64 scratch block and reduced by Gaussian elimination with partial pivoting;
/// the determinant is the product of the pivots, negated for each row swap. Parallel over the matrices.
final class DetKernel: Kernel {
    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let x = inputs[0]!
        guard x.rank >= 2, x.shape[x.rank - 1] == x.shape[x.rank - 2] else {
            throw DLInferError.shape("Det needs square matrices [*, M, M], got shape \(x.shape)")
        }
        try expectShape(outputs.shape(0), Array(x.shape.dropLast(2)))
        let y = try outputs.make(0)
        switch x.dtype {
        case .float32: try determinants(x, y, outputs, Float.self)
        case .float64: try determinants(x, y, outputs, Double.self)
        default: throw DLInferError.unsupported("Det on \(x.dtype)")
        }
        return [y]
    }

    private func determinants<T: BinaryFloatingPoint>(_ x: Tensor, _ y: Tensor, _ outputs: KernelOutputs, _: T.Type) throws {
        let m = x.shape[x.rank - 1], count = y.count, size = m * m
        let src = UnsafePointer(x.raw.assumingMemoryBound(to: T.self)), dst = y.raw.assumingMemoryBound(to: T.self)
        guard count > 0 else { return }
        let blocks = Swift.max(1, Swift.min(Threads.count, count, count * Swift.max(size * m, 1) >> 15))
        let scratch = try outputs.make(.float64, [blocks, size])
        let base = scratch.pointer(Double.self)
        parallelFor(blocks, grain: 1) { r in
            for b in r {
                let a = base + b * size
                for t in (count * b / blocks)..<(count * (b + 1) / blocks) {
                    let s = src + t * size
                    for i in 0..<size { a[i] = Double(s[i]) }
                    dst[t] = T(DetKernel.determinant(a, m))
                }
            }
        }
        withExtendedLifetime(scratch) {}
    }

    /// The determinant of the m x m row-major matrix `a` (destroyed), as numpy's det (OpenBLAS's getrf) reaches it:
    /// the pivot is the first entry of largest magnitude in its column, NaNs passed over (the column's first entry
    /// when all are NaN), and a zero pivot means a singular matrix, whose determinant numpy reports as 0 whatever else
    /// the matrix holds.
    static func determinant(_ a: UnsafeMutablePointer<Double>, _ m: Int) -> Double {
        var det = 1.0
        for c in 0..<m {
            var p = c, best = -1.0
            for r in c..<m where abs(a[r * m + c]) > best {
                p = r; best = abs(a[r * m + c])
            }
            let pivot = a[p * m + c]
            if pivot == 0 { return 0 }
            if p != c {
                for k in c..<m { (a[c * m + k], a[p * m + k]) = (a[p * m + k], a[c * m + k]) }
                det = -det
            }
            det *= pivot
            for r in (c + 1)..<Swift.max(m, c + 1) {
                let f = a[r * m + c] / pivot
                for k in (c + 1)..<m { a[r * m + k] -= f * a[c * m + k] }
            }
        }
        return det
    }
}

extension CPUKernelFactory {
    func visit(_ _: Det, _ _: Node, _ _: Graph) -> HostKernel {
        DetKernel()
    }
}
