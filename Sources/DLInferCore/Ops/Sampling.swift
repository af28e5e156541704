/// GridSample (opsets 16, 20 and 22): Y[n, c, o...] samples X[n, c] at the location grid[n, o..., :] gives, as
/// PyTorch's grid_sample, onnxruntime and the ONNX reference do. X is [N, C, D1, ..., Dr] (r = 2 at opset 16, any
/// r >= 1 since opset 20), grid [N, O1, ..., Or, r] with the coordinates innermost axis first (x, then y, ...),
/// normalised to [-1, 1]; Y is [N, C, O1, ..., Or].
///
/// A coordinate g maps to the pixel position (g + 1) / 2 * (D - 1) with align_corners, else ((g + 1) * D - 1) / 2.
/// nearest rounds it half to even. Positions outside [-0.5, D - 0.5] ([0, D - 1] with align_corners) are then
/// clamped to [0, D - 1] (border) or reflected about those bounds until inside (reflection); zeros leaves them.
/// linear blends the 2^r neighbours with weights 1 - |t| and |t|, cubic the 4^r neighbours with Keys' kernel
/// (a = -0.75); a neighbour outside X counts as 0 (zeros), the nearest edge pixel (border) or its reflection
/// (reflection). A coordinate that is NaN or infinite (after padding) contributes 0.
public struct GridSample: OpAttributes {
    public enum Mode: String, Sendable { case linear, nearest, cubic }
    public enum Padding: String, Sendable { case zeros, border, reflection }
    public var mode: Mode
    public var padding: Padding
    public var alignCorners: Bool
    /// The number of spatial axes the opset allows (2 at opset 16); nil: any.
    public var spatialRank: Int?
    public init(mode: Mode = .linear, padding: Padding = .zeros, alignCorners: Bool = false, spatialRank: Int? = nil) {
        self.mode = mode; self.padding = padding; self.alignCorners = alignCorners; self.spatialRank = spatialRank
    }
    public var opName: String { "GridSample" }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "X"), grid = try inputs.required(1, "grid")
        try requireDType(x.type.dtype, [.float32], "X")
        try requireDType(grid.type.dtype, [.float32], "grid")
        let rank = x.type.rank ?? grid.type.rank
        guard let rank else { return [ValueType(x.type.dtype, nil)] }
        guard rank >= 3, spatialRank.map({ rank == $0 + 2 }) ?? true else {
            throw DLInferError.shape("X must have rank \(spatialRank.map { "\($0 + 2)" } ?? "3 or more") (N, C and spatial axes), got \(rank)")
        }
        if let xr = x.type.rank, let gr = grid.type.rank, xr != gr {
            throw DLInferError.shape("grid must have the rank of X (\(xr)), got \(gr)")
        }
        var out = [Dim](repeating: .unknown, count: rank)
        if let xs = x.type.shape { out[0] = xs[0]; out[1] = xs[1] }
        if let gs = grid.type.shape {
            if let r = gs[rank - 1].value, r != rank - 2 {
                throw DLInferError.shape("grid's last dim must be \(rank - 2) (one coordinate per spatial axis), got \(r)")
            }
            if let a = out[0].value, let b = gs[0].value, a != b {
                throw DLInferError.shape("X has batch \(a) but grid \(b)")
            }
            if out[0].value == nil { out[0] = gs[0] }
            for a in 2..<rank { out[a] = gs[a - 1] }
        }
        return [ValueType(x.type.dtype, out)]
    }
}

/// AffineGrid (opset 20): the sampling grid of an affine transform, for GridSample. theta is [N, 2, 3] (2-D) or
/// [N, 3, 4] (3-D); size the int64 vector (N, C, H, W) or (N, C, D, H, W). grid[n, h, w] = theta[n] * (x_w, y_h, 1)
/// (3-D: (x_w, y_h, z_d, 1)), where each axis of length L spans [-1, 1]: position i is -1 + 2i / (L - 1) with
/// align_corners (-1 when L is 1), else -1 + (2i + 1) / L. Output [N, H, W, 2] or [N, D, H, W, 3], computed in
/// double precision and rounded once.
public struct AffineGrid: OpAttributes {
    public var alignCorners: Bool
    public init(alignCorners: Bool = false) { self.alignCorners = alignCorners }
    public var opName: String { "AffineGrid" }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let theta = try inputs.required(0, "theta"), size = try inputs.required(1, "size")
        try requireDType(theta.type.dtype, [.float32], "theta")
        let sizes = try size.intVector("size")
        let n = sizes?.count ?? size.vectorLength
        if let n, n != 4 && n != 5 { throw DLInferError.shape("size must hold 4 (N, C, H, W) or 5 (N, C, D, H, W) values, got \(n)") }
        if let t = theta.type.shape {
            guard t.count == 3 else { throw DLInferError.shape("theta must have rank 3, got \(dimsText(t))") }
            if let r = t[1].value, let c = t[2].value, !(r == 2 && c == 3) && !(r == 3 && c == 4) {
                throw DLInferError.shape("theta must be [N, 2, 3] or [N, 3, 4], got \(dimsText(t))")
            }
            if let n, let r = t[1].value, r != n - 2 {
                throw DLInferError.shape("theta \(dimsText(t)) does not fit a size of \(n) values")
            }
        }
        guard let sizes else {
            guard let n else { return [ValueType(theta.type.dtype, nil)] }
            return [ValueType(theta.type.dtype, [theta.type.shape?[0] ?? .unknown] + Array(repeating: .unknown, count: n - 2) + [.fixed(n - 2)])]
        }
        let s = try checkedShape(sizes)
        if let b = theta.type.shape?[0].value, b != s[0] {
            throw DLInferError.shape("theta has batch \(b) but size asks for \(s[0])")
        }
        return [ValueType(theta.type.dtype, fixed: try checkedShape([s[0]] + Array(s[2...]) + [s.count - 2]))]
    }
}
