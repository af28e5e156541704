import DLInferCore
#if canImport(Glibc)
import Glibc
#endif

/// A run of keys or values along the key sequence, `count` long: row-major `count` x size with row stride `ld`, or,
/// for keys with `transposed`, size x `count` (a Kᵀ operand) with row stride `ld`.
struct SequenceRun {
    var base: UnsafePointer<Float>
    var ld: Int
    var count: Int
    var transposed = false
}

/// What one head of one batch reads and writes: Q's rows and Y's rows with their strides, and its keys and values
/// as one run or two (a past cache, then the new tokens) that follow each other along the sequence.
struct HeadOperands {
    var q: UnsafePointer<Float>
    var ldq: Int
    var keys: (SequenceRun, SequenceRun?)
    var values: (SequenceRun, SequenceRun?)
    var y: UnsafeMutablePointer<Float>
    var ldy: Int
}

/// An attention problem as the shared driver sees it: `heads` independent (batch, head) pairs of `rows` query rows
/// against `total` keys; the rows' scores are α·Q·Kᵀ, then `finishRow` turns each row of scores into the
/// probabilities that weigh the values.
protocol AttentionProblem {
    var heads: Int { get }
    var rows: Int { get }
    var total: Int { get }
    var headSize: Int { get }
    var vHeadSize: Int { get }
    var alpha: Float { get }
    /// Floats of per-row scratch `finishRow` needs.
    var rowScratch: Int { get }
    func operands(_ head: Int) -> HeadOperands
    func finishRow(head: Int, row: Int, _ scores: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) throws
}

/// Runs every head in blocks of query rows: one block's scores (rows x total) are the only score memory, reused,
/// never a [batch, heads, rows, total] tensor. Blocks run in parallel with single-threaded products; when there are
/// too few blocks to feed the threads (one long decode row), they run one after another with threaded products.
func runAttention<P: AttentionProblem>(_ p: P) throws {
    let heads = p.heads, rows = p.rows, total = p.total
    guard heads > 0, rows > 0 else { return }
    let threads = Threads.count
    // About 128 KiB of scores per block, but enough blocks for every thread.
    let byCache = Swift.max(8, 32768 / Swift.max(total, 1))
    let blocksPerHead = Swift.min(rows, Swift.max((rows + byCache - 1) / byCache, (threads + heads - 1) / heads))
    let blockRows = (rows + blocksPerHead - 1) / blocksPerHead
    let tasks = heads * blocksPerHead
    let (scoreCount, o1) = blockRows.multipliedReportingOverflow(by: Swift.max(total, 1))
    let (scratchCount, o2) = scoreCount.addingReportingOverflow(p.rowScratch)
    guard !o1, !o2 else { throw DLInferError(.outOfMemory, "Attention scores of \(blockRows) x \(total) overflow") }

    func block(_ t: Int, _ scratch: UnsafeMutablePointer<Float>, threads: Int) throws {
        let head = t / blocksPerHead, r0 = (t % blocksPerHead) * blockRows
        let m = Swift.min(rows, r0 + blockRows) - r0
        guard m > 0 else { return }
        let o = p.operands(head)
        let q = o.q + r0 * o.ldq, y = o.y + r0 * o.ldy
        let scores = scratch, rowScratch = scratch + scoreCount
        // Scores: α·Q·Kᵀ, one product per run of keys, side by side.
        var column = 0
        for run in [o.keys.0, o.keys.1].compactMap({ $0 }) where run.count > 0 {
            sgemm(m: m, n: run.count, k: p.headSize, alpha: p.alpha, a: .matrix(q, ld: o.ldq, transposed: false),
                  b: .matrix(run.base, ld: run.ld, transposed: !run.transposed), c: scores + column, ldc: total,
                  maxThreads: threads)
            column += run.count
        }
        for i in 0..<m { try p.finishRow(head: head, row: r0 + i, scores + i * total, scratch: rowScratch) }
        // Y = probabilities · V, accumulated over the runs of values.
        column = 0
        var first = true
        for run in [o.values.0, o.values.1].compactMap({ $0 }) where first || run.count > 0 {
            sgemm(m: m, n: p.vHeadSize, k: run.count, a: .matrix(scores + column, ld: total, transposed: false),
                  b: .matrix(run.base, ld: run.ld, transposed: false), beta: first ? 0 : 1, c: y, ldc: o.ldy,
                  maxThreads: threads)
            column += run.count
            first = false
        }
    }

    // Multiply-adds of the two products: below ~2^18, waking the other threads costs more than they save.
    let work = Double(heads) * Double(rows) * Double(total) * Double(p.headSize + p.vHeadSize)
    if work < 262_144 {
        try Scratch.withFloats(scratchCount) { s in for t in 0..<tasks { try block(t, s, threads: 1) } }
    } else if tasks * 2 <= threads {
        try Scratch.withFloats(scratchCount) { s in for t in 0..<tasks { try block(t, s, threads: threads) } }
    } else {
        try parallelForThrowing(tasks) { range in
            try Scratch.withFloats(scratchCount) { s in for t in range { try block(t, s, threads: 1) } }
        }
    }
}

/// The softmax of one row in place, numerically stable: a row whose maximum is -inf (every score -inf) gives zeros,
/// a NaN anywhere makes the row NaN. `double`: in float64, with `scratch` holding `n` doubles (2n floats).
/// `rounding`: in a 16-bit type, each step rounded to it as numpy's do (the row itself, each difference from the
/// maximum, each exponential, the sum, each quotient).
@inline(__always)
func attentionSoftmax(_ s: UnsafeMutablePointer<Float>, _ n: Int, double: Bool, rounding: StepRounding?,
                      scratch: UnsafeMutablePointer<Float>) {
    guard n > 0 else { return }
    if let r = rounding {
        for j in 0..<n { s[j] = r(s[j]) }
        var m = -Float.infinity
        for j in 0..<n { if s[j] != s[j] { m = s[j]; break }; if s[j] > m { m = s[j] } }
        if m == -.infinity { s.update(repeating: 0, count: n); return }
        var sum: Float = 0
        for j in 0..<n {
            let e = r(expf(r(s[j] - m)))
            s[j] = e
            sum = r.roundsPartialSums ? (j == 0 ? e : r(sum + e)) : sum + e
        }
        sum = r(sum)
        for j in 0..<n { s[j] = r(s[j] / sum) }
        return
    }
    if !double {
        if Float.rowMax(s, n) == -.infinity { s.update(repeating: 0, count: n); return }
        softmaxRow(s, s, n, log: false)
        return
    }
    let d = UnsafeMutableRawPointer(scratch).assumingMemoryBound(to: Double.self)
    var m = -Double.infinity
    for j in 0..<n {
        let v = Double(s[j])
        if v != v { m = v; break }
        if v > m { m = v }
    }
    if m == -.infinity { s.update(repeating: 0, count: n); return }
    var sum = 0.0
    for j in 0..<n { let e = Glibc.exp(Double(s[j]) - m); d[j] = e; sum += e }
    for j in 0..<n { s[j] = Float(d[j] / sum) }
}

/// Rounding float32 to a 16-bit float type and back: the steps of an op whose reference computes in that type.
enum StepRounding {
    case float16, bfloat16
    init?(_ t: DType?) {
        switch t {
        case .float16?: self = .float16
        case .bfloat16?: self = .bfloat16
        default: return nil
        }
    }
    /// Whether a sum rounds after every addition (ml_dtypes' bfloat16), or once at the end (numpy's float16, which
    /// accumulates in float32).
    var roundsPartialSums: Bool { self == .bfloat16 }
    @inline(__always) func callAsFunction(_ x: Float) -> Float {
        switch self {
        case .float16: return Half(x).float
        case .bfloat16: return BFloat16(x).float
        }
    }
}
