import DLInferCore

/// CTC greedy (best-path) decoding: the post-processing of recognisers trained with CTC loss, such as a CRNN whose
/// per-frame log-softmax is [frames, batch, classes].
public enum CTCGreedyDecoder {
    /// Decodes `scores`, row-major [frames, batch, classes] (log-probabilities, probabilities or raw scores: only
    /// their order within a frame matters). For each batch item: the best class of every frame, runs of one class
    /// collapsed to one, `blank` dropped. Ties go to the lowest class index (as numpy's argmax) and NaN never wins,
    /// so a frame whose scores are all NaN is an error rather than an arbitrary label.
    public static func decode(_ scores: UnsafeBufferPointer<Float>, frames: Int, batch: Int, classes: Int,
                              blank: Int) throws -> [[Int]] {
        let count = try scoreCount(frames: frames, batch: batch, classes: classes)
        guard (0..<classes).contains(blank) else {
            throw DLInferError.invalid("blank \(blank) is not a class index in [0, \(classes))")
        }
        guard scores.count == count else {
            throw DLInferError.invalid("\(scores.count) scores given for [\(frames), \(batch), \(classes)]")
        }
        var out = [[Int]](repeating: [], count: batch)
        for b in 0..<batch {
            var previous = blank
            for t in 0..<frames {
                let row = scores.baseAddress! + (t * batch + b) * classes
                var best = -1
                for c in 0..<classes where !row[c].isNaN && (best < 0 || row[c] > row[best]) { best = c }
                guard best >= 0 else {
                    throw DLInferError.invalid("every score of frame \(t), batch item \(b) is NaN")
                }
                // A blank between two equal labels separates them; without one they are a single label.
                if best != blank && best != previous { out[b].append(best) }
                previous = best
            }
        }
        return out
    }

    /// frames * batch * classes, after checking that the sizes are valid and that the scores' byte count cannot
    /// overflow (callers size buffers from it).
    public static func scoreCount(frames: Int, batch: Int, classes: Int) throws -> Int {
        guard frames >= 0, batch >= 0 else {
            throw DLInferError.invalid("frames (\(frames)) and batch (\(batch)) must not be negative")
        }
        guard classes >= 1 else { throw DLInferError.invalid("classes is \(classes); at least 1 is needed") }
        let (rows, o1) = frames.multipliedReportingOverflow(by: batch)
        let (count, o2) = rows.multipliedReportingOverflow(by: classes)
        guard !o1, !o2, count <= Int.max / MemoryLayout<Float>.size else {
            throw DLInferError.invalid("frames * batch * classes overflows")
        }
        return count
    }
}
