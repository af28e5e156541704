import DLInferCore

/// The expected output of a pure data-movement op: element `o` comes from element `source(o)` of `x`.
func movedElements(_ x: Tensor, outShape: [Int], _ source: ([Int]) -> [Int]) -> Tensor {
    movedElements(x, outShape: outShape, sources: [x]) { (0, source($0)) }
}

func movedElements(_ x: Tensor, outShape: [Int], sources: [Tensor], _ source: ([Int]) -> (Int, [Int])) -> Tensor {
    let y = try! Tensor(dtype: x.dtype, shape: outShape), esz = x.dtype.byteSize
    for flat in 0..<y.count {
        var o = [Int](repeating: 0, count: outShape.count), r = flat
        for d in outShape.indices.reversed() { o[d] = r % outShape[d]; r /= outShape[d] }
        let (k, i) = source(o)
        let src = sources[k]
        let at = zip(i, src.shape).reduce(0) { $0 * $1.1 + $1.0 }
        (y.raw + flat * esz).copyMemory(from: src.raw + at * esz, byteCount: esz)
    }
    return y
}

/// The elements of an integer tensor as Ints.
func integerValues(_ t: Tensor) -> [Int] {
    switch t.dtype {
    case .uint8: return t.array(UInt8.self).map(Int.init)
    case .int8: return t.array(Int8.self).map(Int.init)
    case .int16: return t.array(Int16.self).map(Int.init)
    case .int32: return t.array(Int32.self).map(Int.init)
    default: fatalError("integerValues(\(t.dtype))")
    }
}

/// Σ over every assignment of the letters of an explicit equation (letters only); a dim of 1 against a larger one
/// broadcasts.
func einsumReference(_ equation: String, _ xs: [Tensor]) throws -> ([Double], [Int]) {
    let parts = equation.split(separator: "-", omittingEmptySubsequences: false)
    let terms = parts[0].split(separator: ",", omittingEmptySubsequences: false).map { Array($0) }
    let output: [Character]
    if parts.count > 1 { output = Array(parts[1].dropFirst()) } else {
        let all = terms.joined()
        output = Set(all).filter { c in all.filter { $0 == c }.count == 1 }.sorted()
    }
    var size = [Character: Int]()
    for (t, x) in zip(terms, xs) { for (c, d) in zip(t, x.shape) where size[c] == nil || size[c] == 1 { size[c] = d } }
    let letters = Array(size.keys).sorted()
    let vals = xs.map(elementValues)
    let outShape = output.map { size[$0]! }
    var out = [Double](repeating: 0, count: outShape.elementCount)
    let total = letters.map { size[$0]! }.elementCount
    for flat in 0..<total {
        var at = [Character: Int](), rem = flat
        for c in letters.reversed() { at[c] = rem % size[c]!; rem /= size[c]! }
        var p = 1.0
        for (k, t) in terms.enumerated() {
            var off = 0
            for (c, d) in zip(t, xs[k].shape) { off = off * d + (d == 1 ? 0 : at[c]!) }
            p *= vals[k][off]
        }
        var o = 0
        for c in output { o = o * size[c]! + at[c]! }
        out[o] += p
    }
    return (out, outShape)
}

/// The bytes of a tensor of `shape` whose element at output coordinates o is x's element at `source(o)` (or
/// `fill`'s first element, zero bytes by default, where it is nil).
func movedBytes(_ x: Tensor, _ shape: [Int], fill: Tensor? = nil, _ source: ([Int]) -> [Int]?) -> [UInt8] {
    let size = x.dtype.byteSize
    var out = [UInt8]()
    for flat in 0..<shape.elementCount {
        var o = [Int](repeating: 0, count: shape.count), r = flat
        for d in shape.indices.reversed() { o[d] = r % shape[d]; r /= shape[d] }
        guard let i = source(o) else { out += fill.map { Array(bytes($0).prefix(size)) } ?? [UInt8](repeating: 0, count: size); continue }
        let at = zip(i, x.shape).reduce(0) { $0 * $1.1 + $1.0 }
        out += (0..<size).map { x.raw.load(fromByteOffset: at * size + $0, as: UInt8.self) }
    }
    return out
}
