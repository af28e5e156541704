/// BitCast (opset 26): the input's bytes read as element type `to`, which must have the same size as the input's
/// (little-endian, as dlinfer's tensors always are); the shape is unchanged and no value is converted (NaN payloads
/// and signed zeros survive). A bool holds only 0 or 1, so bytes cast to bool become `byte != 0` (numpy would keep
/// other byte values as "true" bools, which no kernel expects); every other cast is exact and shares the input's memory.
public struct BitCast: OpAttributes {
    public var computeFloatTypes: Set<DType> { .anyFloat }
    public var to: DType
    public init(to: DType) { self.to = to }
    public var opName: String { "BitCast" }

    public func inferTypes(_ inputs: [TypedInput?]) throws -> [ValueType] {
        let x = try inputs.required(0, "input")
        try requireDType(x.type.dtype, DType.numeric, "input")
        try requireDType(to, DType.numeric, "the target type")
        guard x.type.dtype.byteSize == to.byteSize else {
            throw DLInferError.model("BitCast from \(x.type.dtype) (\(x.type.dtype.byteSize * 8) bits) to \(to) (\(to.byteSize * 8) bits): the sizes must match")
        }
        return [ValueType(to, x.type.shape)]
    }
}
