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

/// The closed set of operations dlinfer runs. Backends switch over it exhaustively, with no `default`,
/// so adding a case is a compile-time checklist.
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
