/// Det (opsets 11, 22): the determinant of each square matrix of an input `[*, M, M]`, giving `[*]` (a scalar for a
/// 2-D input). Computed in float64 by LU factorisation with partial pivoting (the row with the largest magnitude in
/// each column), whatever the input's float type, and rounded once. A 0 x 0 matrix has determinant 1 (the empty
/// product, as numpy gives). As numpy's LAPACK-based det: the pivot is the first entry of largest magnitude in its
/// column, NaNs passed over (a NaN pivot only when the whole column is NaN), a zero pivot (a singular matrix) gives 0
/// even when NaNs lie elsewhere, and otherwise NaN and infinities propagate through the elimination (so
/// [[NaN, 0], [0, 0]] gives 0 and [[1, 0], [NaN, 1]] NaN, as in numpy).
public struct Det: OpAttributes {
    public var computeFloatTypes: Set<DType> { [.float32, .float64] }
    public init() {}
    public var opName: String { "Det" }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "X")
        try requireDType(x.type.dtype, [.float32, .float64], "X")
        guard let shape = x.type.shape else { return [ValueType(x.type.dtype, nil)] }
        guard shape.count >= 2 else { throw DLInferError.shape("X must have rank 2 or more ([*, M, M]), got \(x.type)") }
        if let a = shape[shape.count - 2].value, let b = shape[shape.count - 1].value, a != b {
            throw DLInferError.shape("X's last two dims must be equal (square matrices), got \(x.type)")
        }
        return [ValueType(x.type.dtype, Array(shape.dropLast(2)))]
    }
}
