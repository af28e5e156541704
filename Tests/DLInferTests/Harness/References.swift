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
