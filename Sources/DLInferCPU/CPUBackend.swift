import DLInferCore

/// Runs every op. The switch has no `default`: a new `Op` case does not compile until the CPU can run it.
public final class CPUBackend: Backend {
    public init() {}
    public var name: String { "cpu" }

    public func support(_ node: Node, in graph: Graph) -> Support { .yes }

    public func makeKernel(_ node: Node, in graph: Graph) throws -> Kernel {
        switch node.op {
        case .conv(let a): return try makeConvKernel(a, node, graph)
        case .convTranspose(let a): return try makeConvTransposeKernel(a, node, graph)
        case .deformConv(let a): return DeformConvKernel(a)
        case .pool(let a): return try makePoolKernel(a, node, graph)
        case .globalPool(let a): return try makeGlobalPoolKernel(a, node, graph)
        case .maxUnpool(let a): return MaxUnpoolKernel(a)
        case .col2Im(let a): return Col2ImKernel(a)
        case .gemm(let a): return try makeGemmKernel(a, node, graph)
        case .matMul(let a): return try makeMatMulKernel(a, node, graph)
        case .matMulInteger: return MatMulIntegerKernel()
        case .einsum(let a): return EinsumKernel(a)
        case .recurrent(let a): return try makeRecurrentKernel(a, node, graph)
        case .batchNorm(let a): return try makeBatchNormKernel(a, node, graph)
        case .layerNorm(let a): return LayerNormKernel(a)
        case .groupNorm(let a): return GroupNormKernel(a)
        case .meanVarianceNorm(let a): return MeanVarianceNormKernel(a)
        case .lpNorm(let a): return LpNormKernel(a)
        case .lrn(let a): return try makeLRNKernel(a, node, graph)
        case .unary(let a): return UnaryKernel(a)
        case .clip: return ClipKernel()
        case .binary(let a): return BinaryKernel(a)
        case .variadic(let a): return VariadicKernel(a)
        case .softmax(let a): return try makeSoftmaxKernel(a, node, graph)
        case .hardmax(let a): return HardmaxKernel(a)
        case .reshape(let a): return try makeReshapeKernel(a, node, graph)
        case .flatten(let a): return try makeFlattenKernel(a, node, graph)
        case .squeeze(let a): return try makeSqueezeKernel(a, node, graph)
        case .unsqueeze(let a): return try makeUnsqueezeKernel(a, node, graph)
        case .transpose(let a): return try makeTransposeKernel(a, node, graph)
        case .spaceDepth(let a): return try makeSpaceDepthKernel(a, node, graph)
        case .trilu(let a): return try makeTriluKernel(a, node, graph)
        case .reverseSequence(let a): return try makeReverseSequenceKernel(a, node, graph)
        case .concat(let a): return try makeConcatKernel(a, node, graph)
        case .split(let a): return try makeSplitKernel(a, node, graph)
        case .slice(let a): return try makeSliceKernel(a, node, graph)
        case .gather(let a): return try makeGatherKernel(a, node, graph)
        case .gatherElements(let a): return try makeGatherElementsKernel(a, node, graph)
        case .gatherND(let a): return try makeGatherNDKernel(a, node, graph)
        case .scatterElements(let a): return try makeScatterElementsKernel(a, node, graph)
        case .scatterND(let a): return try makeScatterNDKernel(a, node, graph)
        case .compress(let a): return try makeCompressKernel(a, node, graph)
        case .nonZero(let a): return try makeNonZeroKernel(a, node, graph)
        case .shape(let a): return ShapeKernel(a)
        case .size(let a): return SizeKernel(a)
        case .cast(let a): return try makeCastKernel(a, node, graph)
        case .constantOfShape(let a): return try makeConstantOfShapeKernel(a, node, graph)
        case .expand(let a): return try makeExpandKernel(a, node, graph)
        case .range(let a): return try makeRangeKernel(a, node, graph)
        case .eyeLike(let a): return try makeEyeLikeKernel(a, node, graph)
        case .oneHot(let a): return try makeOneHotKernel(a, node, graph)
        case .tile(let a): return try makeTileKernel(a, node, graph)
        case .pad(let a): return try makePadKernel(a, node, graph)
        case .centerCropPad(let a): return try makeCenterCropPadKernel(a, node, graph)
        case .resize(let a): return try makeResizeKernel(a, node, graph)
        case .gridSample(let a): return GridSampleKernel(a)
        case .affineGrid(let a): return AffineGridKernel(a)
        case .roiAlign(let a): return RoiAlignKernel(a)
        case .maxRoiPool(let a): return MaxRoiPoolKernel(a)
        case .nonMaxSuppression(let a): return NonMaxSuppressionKernel(a)
        case .reduce(let a): return try makeReduceKernel(a, node, graph)
        case .argMax(let a): return try makeArgMaxKernel(a, node, graph)
        case .topK(let a): return try makeTopKKernel(a, node, graph)
        case .unique(let a): return try makeUniqueKernel(a, node, graph)
        case .cumulative(let a): return CumulativeKernel(a)
        case .dft(let a): return DFTKernel(a)
        case .stft(let a): return STFTKernel(a)
        case .cosineWindow(let a): return CosineWindowKernel(a)
        case .melWeightMatrix(let a): return MelWeightMatrixKernel(a)
        case .det: return DetKernel()
        case .loss(let a): return LossKernel(a)
        case .bitCast(let a): return BitCastKernel(a)
        case .randomFill(let a): return RandomFillKernel(a)
        case .bernoulli(let a): return BernoulliKernel(a)
        case .multinomial(let a): return MultinomialKernel(a)
        case .identity, .dropout: return PassThroughKernel()
        case .ifElse(let a): return try IfKernel(a)
        case .loop(let a): return try LoopKernel(a)
        case .scan(let a): return try ScanKernel(a)
        }
    }

    /// Evaluates one node on constant inputs (constant folding at load).
    public func evaluate(_ node: Node, in graph: Graph) throws -> [Tensor?] {
        let ins = node.inputs.map { $0.flatMap { graph.constants[$0] } }
        let types = node.outputs.map { $0.map { graph.values[$0].type } }
        try Session.checkAllocation(types, node, graph)
        return try makeKernel(node, in: graph).run(ins, OutputAllocator(types: types, pool: nil))
    }
}
