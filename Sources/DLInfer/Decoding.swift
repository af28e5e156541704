import CDLInfer
import DLInferCore
import DLInferEngine

@c @implementation
public func dlinfer_ctc_greedy_decode(_ data: UnsafePointer<Float>?, _ frames: Int64, _ batch: Int64, _ classes: Int64,
                                      _ blank: Int64, _ labels: UnsafeMutablePointer<Int64>?,
                                      _ lengths: UnsafeMutablePointer<Int64>?) -> dlinfer_status {
    guarded {
        let f = "dlinfer_ctc_greedy_decode"
        guard frames >= 0, batch >= 0 else {
            throw DLInferError.invalid("\(f): frames (\(frames)) and batch (\(batch)) must not be negative")
        }
        guard classes >= 1 else { throw DLInferError.invalid("\(f): classes is \(classes); at least 1 is needed") }
        let (rows, o1) = frames.multipliedReportingOverflow(by: batch)
        let (count, o2) = rows.multipliedReportingOverflow(by: classes)
        // The byte count must fit too, or a pointer computed from it would wrap.
        guard !o1, !o2, count <= Int64.max / 4 else {
            throw DLInferError.invalid("\(f): frames * batch * classes overflows")
        }
        guard rows == 0 || data != nil else { throw DLInferError.invalid("\(f): data is NULL") }
        guard rows == 0 || labels != nil else { throw DLInferError.invalid("\(f): labels is NULL") }
        guard batch == 0 || lengths != nil else { throw DLInferError.invalid("\(f): lengths is NULL") }
        let scores = UnsafeBufferPointer(start: rows == 0 ? nil : data, count: rows == 0 ? 0 : Int(count))
        let decoded: [[Int]]
        do {
            decoded = try CTCGreedyDecoder.decode(scores, frames: Int(frames), batch: Int(batch), classes: Int(classes),
                                                  blank: Int(blank))
        } catch let e as DLInferError {
            throw DLInferError(e.kind, "\(f): \(e.message)")
        }
        for (b, items) in decoded.enumerated() {
            lengths![b] = Int64(items.count)
            guard frames > 0 else { continue }
            let row = labels! + b * Int(frames)
            for (i, label) in items.enumerated() { row[i] = Int64(label) }
            for i in items.count..<Int(frames) { row[i] = -1 }
        }
    }
}
