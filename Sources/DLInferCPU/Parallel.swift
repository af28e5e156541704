import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// The CPU backend's thread count: `DLINFER_NUM_THREADS` if set to a positive integer, else every online core.
public enum Threads {
    public static let count: Int = {
        if let s = getenv("DLINFER_NUM_THREADS"), let n = Int(String(cString: s)), n > 0 { return n }
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }()
}

/// Splits `0..<n` into contiguous chunks of at least `grain` items and runs them on up to `Threads.count` threads.
/// Runs inline when one chunk is enough, so small ops pay no dispatch cost.
@inline(__always)
func parallelFor(_ n: Int, grain: Int = 1, _ body: (Range<Int>) -> Void) {
    guard n > 0 else { return }
    let chunks = min(Threads.count, max(1, n / max(grain, 1)))
    if chunks <= 1 { body(0..<n); return }
    withoutActuallyEscaping(body) { body in
        let task = UncheckedBox(body)
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            let lo = n * c / chunks, hi = n * (c + 1) / chunks
            if lo < hi { task.value(lo..<hi) }
        }
    }
}

/// Hands a non-Sendable closure to worker threads; each chunk touches disjoint output memory.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ v: T) { value = v }
}
