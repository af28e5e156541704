// STUB: owned by the Conv family implementer (Conv, Gemm, MatMul epilogues).
public struct FuseActivations: Pass {
    public init() {}
    public var name: String { "fuse-activations" }
    public func run(_ graph: Graph, _ ctx: PassContext) throws -> Bool { false }
}
