/// Transpose: output dim i is input dim perm[i]; without `perm` the dims are reversed.
public struct Transpose: OpAttributes {
    public var computeFloatTypes: Set<DType> { .anyFloat }
    public var perm: [Int]?
    public init(perm: [Int]? = nil) { self.perm = perm }
    public var opName: String { "Transpose" }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "data")
        guard let shape = x.type.shape else {
            return [ValueType(x.type.dtype, try perm.map { try unknownDims($0.count) })]
        }
        return [ValueType(x.type.dtype, try permutation(rank: shape.count).map { shape[$0] })]
    }

    /// The permutation for an input of this rank, checked to be one.
    public func permutation(rank: Int) throws -> [Int] {
        guard let perm else { return Array((0..<rank).reversed()) }
        guard perm.count == rank, perm.sorted() == Array(0..<rank) else {
            throw DLInferError.model("perm \(perm) is not a permutation of the input's \(rank) axes")
        }
        return perm
    }
}
