import CDLInfer
import DLInferCore
import DLInferEngine

@c @implementation
public func dlinfer_nms(_ boxes: UnsafePointer<Float>?, _ scores: UnsafePointer<Float>?, _ classes: UnsafePointer<Int64>?,
                        _ count: Int64, _ boxFormat: Int32, _ iouThreshold: Float, _ scoreThreshold: Float,
                        _ maxOutputs: Int64, _ keep: UnsafeMutablePointer<Int64>?,
                        _ outKept: UnsafeMutablePointer<Int64>?) -> dlinfer_status {
    guarded {
        try prefixed("dlinfer_nms") {
            guard let outKept else { throw DLInferError.invalid("out_kept is NULL") }
            guard count >= 0 else { throw DLInferError.invalid("count \(count) is negative") }
            guard let format = BoxFormat(rawValue: boxFormat) else { throw DLInferError.invalid("unknown box_format \(boxFormat)") }
            let n = Int(count)
            try floatCount(n, times: format.floatsPerBox)
            let capacity = maxOutputs < 0 ? n : Int(min(count, maxOutputs))
            guard n == 0 || (boxes != nil && scores != nil) else { throw DLInferError.invalid("boxes or scores is NULL") }
            guard capacity == 0 || keep != nil else { throw DLInferError.invalid("keep is NULL") }
            let kept = try BoxSuppression.select(boxes: boxes, scores: UnsafeBufferPointer(start: scores, count: n),
                                                 classes: classes, format: format, iouThreshold: iouThreshold,
                                                 scoreThreshold: scoreThreshold, maxOutputs: maxOutputs < 0 ? nil : Int(maxOutputs))
            for (k, i) in kept.enumerated() { keep![k] = Int64(i) }
            outKept.pointee = Int64(kept.count)
        }
    }
}

@c @implementation
public func dlinfer_east_decode(_ score: UnsafePointer<Float>?, _ geometry: UnsafePointer<Float>?, _ height: Int64,
                                _ width: Int64, _ scale: Float, _ scoreThreshold: Float,
                                _ quads: UnsafeMutablePointer<Float>?, _ scores: UnsafeMutablePointer<Float>?,
                                _ capacity: Int64, _ outCount: UnsafeMutablePointer<Int64>?) -> dlinfer_status {
    guarded {
        try prefixed("dlinfer_east_decode") {
            guard let outCount else { throw DLInferError.invalid("out_count is NULL") }
            let plane = try mapSize(height, width)
            try floatCount(plane, times: 5)
            guard plane == 0 || (score != nil && geometry != nil) else { throw DLInferError.invalid("score or geometry is NULL") }
            let found = plane == 0 ? ([], []) :
                try EASTDecoder.decode(score: score!, geometry: geometry!, height: Int(height), width: Int(width),
                                       scale: scale, threshold: scoreThreshold)
            try deliver(found, quads, scores, capacity, outCount)
        }
    }
}

@c @implementation
public func dlinfer_heatmap_boxes(_ region: UnsafePointer<Float>?, _ affinity: UnsafePointer<Float>?, _ height: Int64,
                                  _ width: Int64, _ textThreshold: Float, _ linkThreshold: Float, _ lowText: Float,
                                  _ minSize: Int64, _ scale: Float, _ quads: UnsafeMutablePointer<Float>?,
                                  _ scores: UnsafeMutablePointer<Float>?, _ capacity: Int64,
                                  _ outCount: UnsafeMutablePointer<Int64>?) -> dlinfer_status {
    guarded {
        try prefixed("dlinfer_heatmap_boxes") {
            guard let outCount else { throw DLInferError.invalid("out_count is NULL") }
            let plane = try mapSize(height, width)
            guard plane == 0 || region != nil else { throw DLInferError.invalid("region is NULL") }
            guard minSize >= 1, minSize <= Int64(Int.max) else { throw DLInferError.invalid("min_size \(minSize) must be at least 1") }
            let thresholds = HeatmapBoxes.Thresholds(text: textThreshold, link: linkThreshold, low: lowText, minSize: Int(minSize))
            let found = plane == 0 ? ([], []) :
                try HeatmapBoxes.boxes(region: region!, affinity: affinity, height: Int(height), width: Int(width),
                                       thresholds: thresholds, scale: scale)
            try deliver(found, quads, scores, capacity, outCount)
        }
    }
}

/// height * width for a [height, width] map, checked.
private func mapSize(_ height: Int64, _ width: Int64) throws -> Int {
    guard height >= 0, width >= 0 else { throw DLInferError.invalid("height (\(height)) and width (\(width)) must not be negative") }
    let (plane, overflow) = Int(height).multipliedReportingOverflow(by: Int(width))
    guard !overflow else { throw DLInferError.invalid("height * width overflows") }
    return plane
}

/// Checks that `n * per` floats can be addressed.
private func floatCount(_ n: Int, times per: Int) throws {
    guard n <= Int.max / MemoryLayout<Float>.size / per else { throw DLInferError.invalid("the element count overflows") }
}

/// Writes found boxes into the caller's buffers, or only their number (out_count) when they do not fit.
private func deliver(_ found: (quads: [Float], scores: [Float]), _ quads: UnsafeMutablePointer<Float>?,
                     _ scores: UnsafeMutablePointer<Float>?, _ capacity: Int64, _ outCount: UnsafeMutablePointer<Int64>) throws {
    let count = found.scores.count
    guard capacity >= 0 else { throw DLInferError.invalid("capacity \(capacity) is negative") }
    guard Int64(count) <= capacity else {
        outCount.pointee = Int64(count)
        throw DLInferError(.bufferTooSmall, "\(count) boxes found, capacity is \(capacity)")
    }
    guard count == 0 || (quads != nil && scores != nil) else { throw DLInferError.invalid("quads or scores is NULL") }
    found.quads.withUnsafeBufferPointer { quads?.update(from: $0.baseAddress!, count: $0.count) }
    found.scores.withUnsafeBufferPointer { scores?.update(from: $0.baseAddress!, count: $0.count) }
    outCount.pointee = Int64(count)
}
