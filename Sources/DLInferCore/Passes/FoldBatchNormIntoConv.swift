// STUB: owned by the Conv family implementer.
public struct FoldBatchNormIntoConv: Pass {
    public init() {}
    public var name: String { "fold-batchnorm" }
    public func run(_ graph: Graph, _ ctx: PassContext) throws -> Bool { false }
}
