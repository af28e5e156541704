import DLInferCore

/// NonMaxSuppression: every (batch, class) pair is independent and runs in parallel. Each batch's box extents and
/// areas are computed once (the same float32 values onnxruntime computes per comparison); a pair sorts its
/// candidates once and keeps each one unless it overlaps a box it already kept too much.
final class NonMaxSuppressionKernel: Kernel {
    let attrs: NonMaxSuppression
    init(_ a: NonMaxSuppression) { attrs = a }

    func run(_ inputs: [Tensor?], _ outputs: KernelOutputs) throws -> [Tensor?] {
        let boxes = inputs[0]!, scores = inputs[1]!
        let (maxOutput, iou, threshold) = try NonMaxSuppression.parameters(boxes: boxes.shape, scores: scores.shape, inputs)
        let (batches, classes, count) = (scores.shape[0], scores.shape[1], scores.shape[2])
        guard maxOutput > 0, batches * classes * count > 0 else { return [try outputs.make(.int64, [0, 3])] }
        let limit = Int(Swift.min(maxOutput, Int64(count)))

        var extents = [BoxExtents]()
        for b in 0..<batches { extents.append(BoxExtents(boxes.pointer(Float.self) + b * count * 4, count, layout: attrs.centerPointBox ? .center : .yxCorners)) }
        var selected = [[Int]](repeating: [], count: batches * classes)
        let sp = UnsafePointer(scores.pointer(Float.self))
        selected.withUnsafeMutableBufferPointer { out in
            parallelFor(batches * classes, grain: Swift.max(1, 4096 / count)) { r in
                var order = [Int]()
                for pair in r {
                    let s = sp + pair * count
                    order.removeAll(keepingCapacity: true)
                    for i in 0..<count where !s[i].isNaN && threshold.map({ s[i] > $0 }) ?? true { order.append(i) }
                    order.sort { a, b in s[a] > s[b] || (s[a] == s[b] && a < b) }
                    out[pair] = extents[pair / classes].greedy(order, limit: limit, iou: iou)
                }
            }
        }
        let total = selected.reduce(0) { $0 + $1.count }
        let y = try outputs.make(.int64, [total, 3])
        let yp = y.pointer(Int64.self)
        var k = 0
        for (pair, boxes) in selected.enumerated() {
            for box in boxes {
                yp[k] = Int64(pair / classes); yp[k + 1] = Int64(pair % classes); yp[k + 2] = Int64(box)
                k += 3
            }
        }
        return [y]
    }
}

extension CPUKernelFactory {
    func visit(_ a: NonMaxSuppression, _ _: Node, _ _: Graph) -> HostKernel {
        NonMaxSuppressionKernel(a)
    }
}
