#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What passes may ask of the world outside the graph: evaluating a node on constant inputs (the CPU backend does it;
/// Core itself knows no kernels).
public struct PassContext {
    public let evaluate: (Node, Graph) throws -> [Tensor?]
    public init(evaluate: @escaping (Node, Graph) throws -> [Tensor?]) { self.evaluate = evaluate }
}

/// A graph rewrite. Returns whether it changed anything; types are re-inferred after each change.
public protocol Pass {
    var name: String { get }
    func run(_ graph: Graph, _ ctx: PassContext) throws -> Bool
}

public enum PassManager {
    /// The default pipeline, in order. Precision comes first (kernels exist only for the types it leaves; CastLike is
    /// lowered to the Cast it decides on before), fusion after folding so that folded constants feed it (attention
    /// before activations, which would otherwise take its MatMuls; residual Adds before activations, so that the Relu
    /// after a skip connection's Add follows it into the Conv). `DLINFER_DISABLE_PASSES` (comma-separated pass
    /// names, e.g. `fuse-attention`) leaves optional passes out, to compare or to rule one out; the passes that
    /// kernels rely on (precision, CastLike lowering) always run.
    public static func standard() -> [Pass] {
        let all: [Pass] = [LowerCastLike(), ComputePrecision(), RemoveIdentities(), ConstantFolding(), FoldBatchNormIntoConv(),
                           FuseAttention(), LowerAttention(), LowerEinsum(), FuseResidualAdd(),
                           FuseActivations(), DeadCodeElimination()]
        guard let s = getenv("DLINFER_DISABLE_PASSES") else { return all }
        let off = Set(String(cString: s).split(separator: ",").map { String($0.filter { !$0.isWhitespace }) })
        return all.filter { $0 is LowerCastLike || $0 is ComputePrecision || !off.contains($0.name) }
    }

    /// Optimizes the bodies of control-flow ops first (typed already by the outer graph's inference), then the graph.
    public static func optimize(_ graph: Graph, _ ctx: PassContext, passes: [Pass] = standard()) throws {
        for n in graph.nodes { for body in n.op.attributes.subgraphs { try optimize(body, ctx, passes: passes) } }
        for p in passes {
            if try p.run(graph, ctx) { try graph.inferTypes() }
        }
    }
}

extension Graph {
    /// Points every reader of `old` at `new`, including the graph's outputs (where the name is kept: the output is
    /// renamed to `old`'s name so users see the names the model declared).
    public func replaceUses(of old: ValueID, with new: ValueID) {
        for i in nodes.indices {
            nodes[i].inputs = nodes[i].inputs.map { $0 == old ? new : $0 }
        }
    }

    /// Whether `v` is one of the graph's outputs.
    public func isOutput(_ v: ValueID) -> Bool { outputs.contains(v) }
}
