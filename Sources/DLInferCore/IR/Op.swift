/// Implemented by every op's attribute struct: the op's name for messages and its type rule.
public protocol OpAttributes: Sendable {
    /// The op's name as users know it ("Conv", "LSTM").
    var opName: String { get }
    /// Output types from input types (and input values, for the inputs that are constants).
    /// Throws `DLInferError` (`.shape`, `.unsupported`, `.modelInvalid`) with a message that needs no node name:
    /// the graph adds it.
    func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType]
    /// The float types the op's kernels compute in. Float inputs and outputs of any other float type are converted
    /// to and from float32 around the node at load (`ComputePrecision`). Data-movement ops, which never look at the
    /// values, list every float type.
    var computeFloatTypes: Set<DType> { get }
    /// Whether an output's shape can depend on input values (NonZero, TopK with a computed k, If, Loop): the plan
    /// then leaves it open and the kernel decides it at run time with `KernelOutputs.make(_:_:)`.
    var hasDataDependentShape: Bool { get }
    /// Whether the op draws random values (RandomNormal, Bernoulli, ...): its outputs differ from run to run for the
    /// same inputs, so it is never evaluated ahead of time.
    var drawsRandomValues: Bool { get }
    /// The bodies of a control-flow op (If's branches, Loop's and Scan's body), for the passes that recurse into them.
    var subgraphs: [Graph] { get }
    /// Types the bodies for these node inputs; called by `Graph.inferTypes` (at load) before `inferTypes`.
    func typeSubgraphs(_ inputs: [TypedInput?]) throws
}

public extension OpAttributes {
    var computeFloatTypes: Set<DType> { [.float32] }
    var hasDataDependentShape: Bool { false }
    var drawsRandomValues: Bool { false }
    var subgraphs: [Graph] { [] }
    func typeSubgraphs(_ inputs: [TypedInput?]) throws {}
}

public extension Set where Element == DType {
    /// Every float type: for ops that move values without computing on them.
    static var anyFloat: Set<DType> { Set(DType.floats) }
    /// Every float type but the 8-bit ones: for ops that read or write values themselves (NonZero, Range), which
    /// then get 8-bit floats widened to float32 like any op.
    static var wideFloats: Set<DType> { Set(DType.floats).subtracting(DType.float8s) }
}

/// The closed set of operations dlinfer runs. The CPU backend, which runs every op, makes its kernels through an
/// `OpVisitor`, so adding a case is a compile-time checklist.
public enum Op: Sendable {
    case conv(Conv)
    case convTranspose(ConvTranspose)
    case deformConv(DeformConv)
    case causalConvWithState(CausalConvWithState)
    case pool(Pool)
    case globalPool(GlobalPool)
    case maxUnpool(MaxUnpool)
    case col2Im(Col2Im)
    case gemm(Gemm)
    case matMul(MatMul)
    case matMulInteger(MatMulInteger)
    case qLinearMatMul(QLinearMatMul)
    case convInteger(ConvInteger)
    case qLinearConv(QLinearConv)
    case quantizeLinear(QuantizeLinear)
    case dequantizeLinear(DequantizeLinear)
    case dynamicQuantizeLinear(DynamicQuantizeLinear)
    case einsum(Einsum)
    case attention(Attention)
    case linearAttention(LinearAttention)
    /// Made by the FuseAttention pass from the exporters' decomposed attention.
    case fusedAttention(FusedAttention)
    case rotaryEmbedding(RotaryEmbedding)
    case recurrent(Recurrent)
    case batchNorm(BatchNorm)
    case layerNorm(LayerNorm)
    case groupNorm(GroupNorm)
    case meanVarianceNorm(MeanVarianceNorm)
    case lpNorm(LpNorm)
    case lrn(LRN)
    case unary(Unary)
    case unaryMath(UnaryMath)
    case floatClass(FloatClass)
    case clip(Clip)
    case binary(Binary)
    case mod(Mod)
    case pRelu(PRelu)
    case bitwise(Bitwise)
    case compare(Compare)
    case logic(Logic)
    /// Where (named for what it does: `where` is a Swift keyword).
    case select(Where)
    case variadic(Variadic)
    case swiGLU(SwiGLU)
    case softmax(Softmax)
    case hardmax(Hardmax)
    case reshape(Reshape)
    case flatten(Flatten)
    case squeeze(Squeeze)
    case unsqueeze(Unsqueeze)
    case transpose(Transpose)
    case spaceDepth(SpaceDepth)
    case trilu(Trilu)
    case reverseSequence(ReverseSequence)
    case concat(Concat)
    case split(Split)
    case slice(Slice)
    case gather(Gather)
    case gatherElements(GatherElements)
    case gatherND(GatherND)
    case scatterElements(ScatterElements)
    case scatterND(ScatterND)
    case tensorScatter(TensorScatter)
    case compress(Compress)
    case nonZero(NonZero)
    case shape(ShapeOf)
    case size(SizeOf)
    case cast(Cast)
    case castLike(CastLike)
    case constantOfShape(ConstantOfShape)
    case expand(Expand)
    case range(Arange)
    case eyeLike(EyeLike)
    case oneHot(OneHot)
    case tile(Tile)
    case pad(Pad)
    case centerCropPad(CenterCropPad)
    case resize(Resize)
    case gridSample(GridSample)
    case affineGrid(AffineGrid)
    case roiAlign(RoiAlign)
    case maxRoiPool(MaxRoiPool)
    case nonMaxSuppression(NonMaxSuppression)
    case reduce(Reduce)
    case argMax(ArgMax)
    case topK(TopK)
    case unique(Unique)
    case cumulative(Cumulative)
    case dft(DFT)
    case stft(STFT)
    case cosineWindow(CosineWindow)
    case melWeightMatrix(MelWeightMatrix)
    case det(Det)
    case loss(Loss)
    case bitCast(BitCast)
    case randomFill(RandomFill)
    case bernoulli(Bernoulli)
    case multinomial(Multinomial)
    case identity(Identity)
    case dropout(Dropout)
    case ifElse(If)
    case loop(Loop)
    case scan(Scan)

    public var attributes: any OpAttributes {
        switch self {
        case .conv(let a): return a
        case .convTranspose(let a): return a
        case .deformConv(let a): return a
        case .causalConvWithState(let a): return a
        case .pool(let a): return a
        case .globalPool(let a): return a
        case .maxUnpool(let a): return a
        case .col2Im(let a): return a
        case .gemm(let a): return a
        case .matMul(let a): return a
        case .matMulInteger(let a): return a
        case .qLinearMatMul(let a): return a
        case .convInteger(let a): return a
        case .qLinearConv(let a): return a
        case .quantizeLinear(let a): return a
        case .dequantizeLinear(let a): return a
        case .dynamicQuantizeLinear(let a): return a
        case .einsum(let a): return a
        case .attention(let a): return a
        case .linearAttention(let a): return a
        case .fusedAttention(let a): return a
        case .rotaryEmbedding(let a): return a
        case .recurrent(let a): return a
        case .batchNorm(let a): return a
        case .layerNorm(let a): return a
        case .groupNorm(let a): return a
        case .meanVarianceNorm(let a): return a
        case .lpNorm(let a): return a
        case .lrn(let a): return a
        case .unary(let a): return a
        case .unaryMath(let a): return a
        case .floatClass(let a): return a
        case .clip(let a): return a
        case .binary(let a): return a
        case .mod(let a): return a
        case .pRelu(let a): return a
        case .bitwise(let a): return a
        case .compare(let a): return a
        case .logic(let a): return a
        case .select(let a): return a
        case .variadic(let a): return a
        case .swiGLU(let a): return a
        case .softmax(let a): return a
        case .hardmax(let a): return a
        case .reshape(let a): return a
        case .flatten(let a): return a
        case .squeeze(let a): return a
        case .unsqueeze(let a): return a
        case .transpose(let a): return a
        case .spaceDepth(let a): return a
        case .trilu(let a): return a
        case .reverseSequence(let a): return a
        case .concat(let a): return a
        case .split(let a): return a
        case .slice(let a): return a
        case .gather(let a): return a
        case .gatherElements(let a): return a
        case .gatherND(let a): return a
        case .scatterElements(let a): return a
        case .scatterND(let a): return a
        case .tensorScatter(let a): return a
        case .compress(let a): return a
        case .nonZero(let a): return a
        case .shape(let a): return a
        case .size(let a): return a
        case .cast(let a): return a
        case .castLike(let a): return a
        case .constantOfShape(let a): return a
        case .expand(let a): return a
        case .range(let a): return a
        case .eyeLike(let a): return a
        case .oneHot(let a): return a
        case .tile(let a): return a
        case .pad(let a): return a
        case .centerCropPad(let a): return a
        case .resize(let a): return a
        case .gridSample(let a): return a
        case .affineGrid(let a): return a
        case .roiAlign(let a): return a
        case .maxRoiPool(let a): return a
        case .nonMaxSuppression(let a): return a
        case .reduce(let a): return a
        case .argMax(let a): return a
        case .topK(let a): return a
        case .unique(let a): return a
        case .cumulative(let a): return a
        case .dft(let a): return a
        case .stft(let a): return a
        case .cosineWindow(let a): return a
        case .melWeightMatrix(let a): return a
        case .det(let a): return a
        case .loss(let a): return a
        case .bitCast(let a): return a
        case .randomFill(let a): return a
        case .bernoulli(let a): return a
        case .multinomial(let a): return a
        case .identity(let a): return a
        case .dropout(let a): return a
        case .ifElse(let a): return a
        case .loop(let a): return a
        case .scan(let a): return a
        }
    }

    public var name: String { attributes.opName }
    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] { try attributes.inferTypes(inputs) }

    /// Whether the op reads nothing of its input but the shape (Shape, Size): see `valueFromShape`.
    public var readsOnlyInputShape: Bool {
        switch self {
        case .shape, .size: return true
        default: return false
        }
    }

    /// The output of an op that reads only its input's shape (Shape, Size), for that shape; nil for other ops.
    public func valueFromShape(_ inputShape: [Int]) -> Tensor? {
        switch self {
        case .shape(let a): return a.evaluate(inputShape: inputShape)
        case .size(let a): return a.evaluate(inputShape: inputShape)
        default: return nil
        }
    }
}

/// One method per op, called by `Op.accept`: a backend that runs every op makes its kernels through a conforming
/// type, so a new `Op` case does not compile until that backend has a method for it (in the kernel's own file).
public protocol OpVisitor {
    associatedtype Result
    func visit(_ a: Conv, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: ConvTranspose, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: DeformConv, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: CausalConvWithState, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: Pool, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: GlobalPool, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: MaxUnpool, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: Col2Im, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: Gemm, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: MatMul, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: MatMulInteger, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: QLinearMatMul, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: ConvInteger, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: QLinearConv, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: QuantizeLinear, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: DequantizeLinear, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: DynamicQuantizeLinear, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: Einsum, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: Attention, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: LinearAttention, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: FusedAttention, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: RotaryEmbedding, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: Recurrent, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: BatchNorm, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: LayerNorm, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: GroupNorm, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: MeanVarianceNorm, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: LpNorm, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: LRN, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: Unary, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: UnaryMath, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: FloatClass, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: Clip, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: Binary, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: Mod, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: PRelu, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: Bitwise, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: Compare, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: Logic, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: Where, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: Variadic, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: SwiGLU, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: Softmax, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: Hardmax, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: Reshape, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: Flatten, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: Squeeze, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: Unsqueeze, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: Transpose, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: SpaceDepth, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: Trilu, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: ReverseSequence, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: Concat, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: Split, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: Slice, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: Gather, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: GatherElements, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: GatherND, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: ScatterElements, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: ScatterND, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: TensorScatter, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: Compress, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: NonZero, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: ShapeOf, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: SizeOf, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: Cast, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: CastLike, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: ConstantOfShape, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: Expand, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: Arange, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: EyeLike, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: OneHot, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: Tile, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: Pad, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: CenterCropPad, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: Resize, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: GridSample, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: AffineGrid, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: RoiAlign, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: MaxRoiPool, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: NonMaxSuppression, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: Reduce, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: ArgMax, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: TopK, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: Unique, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: Cumulative, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: DFT, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: STFT, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: CosineWindow, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: MelWeightMatrix, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: Det, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: Loss, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: BitCast, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: RandomFill, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: Bernoulli, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: Multinomial, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: Identity, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: Dropout, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: If, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: Loop, _ node: Node, _ graph: Graph) throws -> Result
    func visit(_ a: Scan, _ node: Node, _ graph: Graph) throws -> Result
}

public extension Op {
    /// Calls the visitor's method for this op's attributes.
    func accept<V: OpVisitor>(_ visitor: V, _ node: Node, _ graph: Graph) throws -> V.Result {
        switch self {
        case .conv(let a): return try visitor.visit(a, node, graph)
        case .convTranspose(let a): return try visitor.visit(a, node, graph)
        case .deformConv(let a): return try visitor.visit(a, node, graph)
        case .causalConvWithState(let a): return try visitor.visit(a, node, graph)
        case .pool(let a): return try visitor.visit(a, node, graph)
        case .globalPool(let a): return try visitor.visit(a, node, graph)
        case .maxUnpool(let a): return try visitor.visit(a, node, graph)
        case .col2Im(let a): return try visitor.visit(a, node, graph)
        case .gemm(let a): return try visitor.visit(a, node, graph)
        case .matMul(let a): return try visitor.visit(a, node, graph)
        case .matMulInteger(let a): return try visitor.visit(a, node, graph)
        case .qLinearMatMul(let a): return try visitor.visit(a, node, graph)
        case .convInteger(let a): return try visitor.visit(a, node, graph)
        case .qLinearConv(let a): return try visitor.visit(a, node, graph)
        case .quantizeLinear(let a): return try visitor.visit(a, node, graph)
        case .dequantizeLinear(let a): return try visitor.visit(a, node, graph)
        case .dynamicQuantizeLinear(let a): return try visitor.visit(a, node, graph)
        case .einsum(let a): return try visitor.visit(a, node, graph)
        case .attention(let a): return try visitor.visit(a, node, graph)
        case .linearAttention(let a): return try visitor.visit(a, node, graph)
        case .fusedAttention(let a): return try visitor.visit(a, node, graph)
        case .rotaryEmbedding(let a): return try visitor.visit(a, node, graph)
        case .recurrent(let a): return try visitor.visit(a, node, graph)
        case .batchNorm(let a): return try visitor.visit(a, node, graph)
        case .layerNorm(let a): return try visitor.visit(a, node, graph)
        case .groupNorm(let a): return try visitor.visit(a, node, graph)
        case .meanVarianceNorm(let a): return try visitor.visit(a, node, graph)
        case .lpNorm(let a): return try visitor.visit(a, node, graph)
        case .lrn(let a): return try visitor.visit(a, node, graph)
        case .unary(let a): return try visitor.visit(a, node, graph)
        case .unaryMath(let a): return try visitor.visit(a, node, graph)
        case .floatClass(let a): return try visitor.visit(a, node, graph)
        case .clip(let a): return try visitor.visit(a, node, graph)
        case .binary(let a): return try visitor.visit(a, node, graph)
        case .mod(let a): return try visitor.visit(a, node, graph)
        case .pRelu(let a): return try visitor.visit(a, node, graph)
        case .bitwise(let a): return try visitor.visit(a, node, graph)
        case .compare(let a): return try visitor.visit(a, node, graph)
        case .logic(let a): return try visitor.visit(a, node, graph)
        case .select(let a): return try visitor.visit(a, node, graph)
        case .variadic(let a): return try visitor.visit(a, node, graph)
        case .swiGLU(let a): return try visitor.visit(a, node, graph)
        case .softmax(let a): return try visitor.visit(a, node, graph)
        case .hardmax(let a): return try visitor.visit(a, node, graph)
        case .reshape(let a): return try visitor.visit(a, node, graph)
        case .flatten(let a): return try visitor.visit(a, node, graph)
        case .squeeze(let a): return try visitor.visit(a, node, graph)
        case .unsqueeze(let a): return try visitor.visit(a, node, graph)
        case .transpose(let a): return try visitor.visit(a, node, graph)
        case .spaceDepth(let a): return try visitor.visit(a, node, graph)
        case .trilu(let a): return try visitor.visit(a, node, graph)
        case .reverseSequence(let a): return try visitor.visit(a, node, graph)
        case .concat(let a): return try visitor.visit(a, node, graph)
        case .split(let a): return try visitor.visit(a, node, graph)
        case .slice(let a): return try visitor.visit(a, node, graph)
        case .gather(let a): return try visitor.visit(a, node, graph)
        case .gatherElements(let a): return try visitor.visit(a, node, graph)
        case .gatherND(let a): return try visitor.visit(a, node, graph)
        case .scatterElements(let a): return try visitor.visit(a, node, graph)
        case .scatterND(let a): return try visitor.visit(a, node, graph)
        case .tensorScatter(let a): return try visitor.visit(a, node, graph)
        case .compress(let a): return try visitor.visit(a, node, graph)
        case .nonZero(let a): return try visitor.visit(a, node, graph)
        case .shape(let a): return try visitor.visit(a, node, graph)
        case .size(let a): return try visitor.visit(a, node, graph)
        case .cast(let a): return try visitor.visit(a, node, graph)
        case .castLike(let a): return try visitor.visit(a, node, graph)
        case .constantOfShape(let a): return try visitor.visit(a, node, graph)
        case .expand(let a): return try visitor.visit(a, node, graph)
        case .range(let a): return try visitor.visit(a, node, graph)
        case .eyeLike(let a): return try visitor.visit(a, node, graph)
        case .oneHot(let a): return try visitor.visit(a, node, graph)
        case .tile(let a): return try visitor.visit(a, node, graph)
        case .pad(let a): return try visitor.visit(a, node, graph)
        case .centerCropPad(let a): return try visitor.visit(a, node, graph)
        case .resize(let a): return try visitor.visit(a, node, graph)
        case .gridSample(let a): return try visitor.visit(a, node, graph)
        case .affineGrid(let a): return try visitor.visit(a, node, graph)
        case .roiAlign(let a): return try visitor.visit(a, node, graph)
        case .maxRoiPool(let a): return try visitor.visit(a, node, graph)
        case .nonMaxSuppression(let a): return try visitor.visit(a, node, graph)
        case .reduce(let a): return try visitor.visit(a, node, graph)
        case .argMax(let a): return try visitor.visit(a, node, graph)
        case .topK(let a): return try visitor.visit(a, node, graph)
        case .unique(let a): return try visitor.visit(a, node, graph)
        case .cumulative(let a): return try visitor.visit(a, node, graph)
        case .dft(let a): return try visitor.visit(a, node, graph)
        case .stft(let a): return try visitor.visit(a, node, graph)
        case .cosineWindow(let a): return try visitor.visit(a, node, graph)
        case .melWeightMatrix(let a): return try visitor.visit(a, node, graph)
        case .det(let a): return try visitor.visit(a, node, graph)
        case .loss(let a): return try visitor.visit(a, node, graph)
        case .bitCast(let a): return try visitor.visit(a, node, graph)
        case .randomFill(let a): return try visitor.visit(a, node, graph)
        case .bernoulli(let a): return try visitor.visit(a, node, graph)
        case .multinomial(let a): return try visitor.visit(a, node, graph)
        case .identity(let a): return try visitor.visit(a, node, graph)
        case .dropout(let a): return try visitor.visit(a, node, graph)
        case .ifElse(let a): return try visitor.visit(a, node, graph)
        case .loop(let a): return try visitor.visit(a, node, graph)
        case .scan(let a): return try visitor.visit(a, node, graph)
        }
    }
}
