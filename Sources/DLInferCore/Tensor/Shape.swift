/// One dimension of a value's type: known at load, or named and bound when `run` sees real inputs.
public enum Dim: Hashable, Sendable, CustomStringConvertible {
    case fixed(Int)
    /// A dimension whose size is only known at run time; the name is the model's (`batch`) or made up (`?`).
    case symbol(String)

    public var value: Int? { if case .fixed(let v) = self { return v } else { return nil } }
    public var description: String {
        switch self {
        case .fixed(let v): return String(v)
        case .symbol(let s): return s
        }
    }
    public static let unknown = Dim.symbol("?")
}

/// Static type of a graph value: element type and, when known, rank and dimensions.
public struct ValueType: Hashable, Sendable, CustomStringConvertible {
    public var dtype: DType
    /// `nil` when even the rank is unknown until run time.
    public var shape: [Dim]?

    public init(_ dtype: DType, _ shape: [Dim]?) { self.dtype = dtype; self.shape = shape }
    public init(_ dtype: DType, fixed: [Int]) { self.dtype = dtype; self.shape = fixed.map { .fixed($0) } }

    public var rank: Int? { shape?.count }
    /// All dimensions as integers, or nil if any is still symbolic.
    public var fixedShape: [Int]? {
        guard let shape else { return nil }
        var out = [Int](); out.reserveCapacity(shape.count)
        for d in shape { guard let v = d.value else { return nil }; out.append(v) }
        return out
    }
    public var description: String {
        guard let shape else { return "\(dtype)[*]" }
        return "\(dtype)[\(shape.map(\.description).joined(separator: ","))]"
    }
}

public extension Array where Element == Int {
    /// Product of the dimensions (1 for a scalar).
    var elementCount: Int { reduce(1, *) }
    /// Row-major strides in elements.
    var contiguousStrides: [Int] {
        var s = [Int](repeating: 1, count: count)
        var acc = 1
        for i in stride(from: count - 1, through: 0, by: -1) { s[i] = acc; acc *= self[i] }
        return s
    }
}
