import CDLInfer
import DLInferCore
import DLInferEngine

@c @implementation
public func dlinfer_ctc_greedy_decode(_ data: UnsafePointer<Float>?, _ frames: Int64, _ batch: Int64, _ classes: Int64,
                                      _ blank: Int64, _ labels: UnsafeMutablePointer<Int64>?,
                                      _ lengths: UnsafeMutablePointer<Int64>?) -> dlinfer_status {
    guarded {
        try prefixed("dlinfer_ctc_greedy_decode") {
            let count = try CTCGreedyDecoder.scoreCount(frames: Int(frames), batch: Int(batch), classes: Int(classes))
            let rows = Int(frames) * Int(batch)
            guard rows == 0 || data != nil else { throw DLInferError.invalid("data is NULL") }
            guard rows == 0 || labels != nil else { throw DLInferError.invalid("labels is NULL") }
            guard batch == 0 || lengths != nil else { throw DLInferError.invalid("lengths is NULL") }
            let scores = UnsafeBufferPointer(start: rows == 0 ? nil : data, count: rows == 0 ? 0 : count)
            let decoded = try CTCGreedyDecoder.decode(scores, frames: Int(frames), batch: Int(batch), classes: Int(classes),
                                                      blank: Int(blank))
            for (b, items) in decoded.enumerated() {
                lengths![b] = Int64(items.count)
                guard frames > 0 else { continue }
                let row = labels! + b * Int(frames)
                for (i, label) in items.enumerated() { row[i] = Int64(label) }
                for i in items.count..<Int(frames) { row[i] = -1 }
            }
        }
    }
}
