import CDLInferKernels
import DLInferCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The CPU backend's threads. `available`: the process's (the worker pool plus the calling thread),
/// `DLINFER_NUM_THREADS` if set to a positive integer, else every online core. `count`: what the calling thread's
/// work may use, `available` or fewer inside `withLimit` (a session's `threads` option).
public enum Threads {
    public static let available: Int = {
        if let s = getenv("DLINFER_NUM_THREADS"), let n = Int(String(cString: s)), n > 0 { return n }
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }()

    public static var count: Int {
        let limit = Int(bitPattern: pthread_getspecific(limitKey))
        return limit > 0 ? min(limit, available) : available
    }

    /// Runs `body` with `count` capped at `limit` on this thread (nil or 0: no cap).
    public static func withLimit<R>(_ limit: Int?, _ body: () throws -> R) rethrows -> R {
        guard let limit, limit > 0 else { return try body() }
        let previous = pthread_getspecific(limitKey)
        pthread_setspecific(limitKey, UnsafeRawPointer(bitPattern: limit))
        defer { pthread_setspecific(limitKey, previous) }
        return try body()
    }

    private static let limitKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()
}

/// Splits `0..<n` into contiguous chunks of at least `grain` items and runs them on up to `Threads.count` threads.
/// Runs inline when one chunk is enough, so small ops pay no dispatch cost; also inline when called from inside
/// another parallel region (or while another session's region holds the workers).
@inline(__always)
func parallelFor(_ n: Int, grain: Int = 1, _ body: (Range<Int>) -> Void) {
    guard n > 0 else { return }
    let chunks = min(Threads.count, max(1, n / max(grain, 1)))
    if chunks <= 1 { body(0..<n); return }
    WorkerPool.shared.run(n, chunks: chunks, body)
}

/// `parallelFor` whose body may fail (an allocation, an index out of range): the first error is rethrown once every
/// range has run, and ranges that start after it are skipped.
func parallelForThrowing(_ n: Int, grain: Int = 1, _ body: (Range<Int>) throws -> Void) throws {
    let errors = FirstError()
    parallelFor(n, grain: grain) { r in errors.attempt { try body(r) } }
    try errors.rethrow()
}

/// Runs jobs `0..<n` on up to `Threads.count` threads, each job taken alone by whichever thread is free, so threads
/// end within one job of each other however the jobs' sizes or count divide among them (`parallelFor` hands each
/// thread one contiguous range: 5 equal jobs on 2 threads take 3 jobs' time). For jobs of at least a few
/// microseconds each. `limit` caps the threads below `Threads.count`.
func parallelTasks(_ n: Int, threads limit: Int = .max, _ body: (Int) -> Void) {
    guard n > 0 else { return }
    let threads = Swift.min(Threads.count, limit, n)
    if threads <= 1 {
        for j in 0..<n { body(j) }
        return
    }
    let next = Atomic<Int>(0)
    // One chunk per thread the caller may use, whose taker then takes jobs until none is left: with a chunk per job,
    // every awake worker of the pool took jobs, past a session's thread limit.
    WorkerPool.shared.run(threads, chunks: threads) { _ in
        while case let j = next.wrappingAdd(1, ordering: .relaxed).oldValue, j < n { body(j) }
    }
}

/// `parallelTasks` whose jobs may fail: the first error is rethrown once every job has run or been skipped.
public func parallelJobs(_ n: Int, _ body: (Int) throws -> Void) throws {
    let errors = FirstError()
    parallelTasks(n) { j in errors.attempt { try body(j) } }
    try errors.rethrow()
}

/// The first error of a parallel region's work: work attempted after a failure is skipped, and the error is rethrown
/// once the region has ended.
private struct FirstError: ~Copyable {
    private let failure = Mutex<Error?>(nil)

    func attempt(_ work: () throws -> Void) {
        if failure.withLock({ $0 != nil }) { return }
        do { try work() } catch { failure.withLock { if $0 == nil { $0 = error } } }
    }

    func rethrow() throws {
        if let e = failure.withLock({ $0 }) { throw e }
    }
}

/// Persistent worker threads behind `parallelFor`. A model runs one kernel after another, each opening a parallel
/// region a few microseconds after the last; waking a sleeping thread takes tens of microseconds, longer than many
/// layers take. So between regions the workers spin for a while (`spinNanoseconds`), then sleep until the next.
final class WorkerPool: @unchecked Sendable {
    static let shared = WorkerPool(workers: Threads.available - 1)

    /// One region: the caller's closure and how its range is cut; lives on the caller's stack for the region.
    private struct Job {
        let body: (Range<Int>) -> Void
        let n: Int
        let chunks: Int
        func run(_ c: Int) { body((n * c / chunks)..<(n * (c + 1) / chunks)) }
    }

    /// The region in one word: number (bits 40...), chunk count (bits 20..<40), next chunk to hand out (bits 0..<20).
    /// A chunk is taken by a compare-and-swap of the whole word, so whoever wins chunk c < count of region r knows
    /// that region r cannot end before c is done, and that `job` still describes it.
    /// A cache line of padding on each side of the words the threads spin on: the pool is a small heap object,
    /// and a neighbour whose memory another thread writes (a reference count) would otherwise share their line.
    private let paddingBefore = CacheLinePadding()
    private let state = Atomic<UInt64>(0)
    private let job = Atomic<Int>(0)
    private let finished = Atomic<Int>(0)
    private let inUse = Atomic<Bool>(false)
    private let sleepers = Atomic<Int>(0)
    private let paddingAfter = CacheLinePadding()
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let wake: UnsafeMutablePointer<pthread_cond_t>
    /// How long a worker spins before it sleeps. By time, not by count: a PAUSE takes 10 to 140 cycles by CPU.
    private static let spinNanoseconds: UInt64 = 200_000
    static let field: UInt64 = (1 << 20) - 1

    private init(workers: Int) {
        mutex = .allocate(capacity: 1)
        wake = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wake, nil)
        for _ in 0..<max(0, workers) {
            var thread = pthread_t()
            let rc = pthread_create(&thread, nil, { ctx in
                Unmanaged<WorkerPool>.fromOpaque(ctx!).takeUnretainedValue().workerLoop()
                return nil
            }, Unmanaged.passUnretained(self).toOpaque())
            if rc == 0 { pthread_detach(thread) }
        }
    }

    func run(_ n: Int, chunks: Int, _ body: (Range<Int>) -> Void) {
        guard chunks <= Int(WorkerPool.field),
              inUse.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            body(0..<n)
            return
        }
        defer { inUse.store(false, ordering: .releasing) }
        withoutActuallyEscaping(body) { body in
            var region = Job(body: body, n: n, chunks: chunks)
            withUnsafeMutablePointer(to: &region) { p in
                job.store(Int(bitPattern: p), ordering: .releasing)
                finished.store(0, ordering: .releasing)
                let number = (state.load(ordering: .relaxed) >> 40) &+ 1
                state.store((number << 40) | (UInt64(chunks) << 20), ordering: .sequentiallyConsistent)
                if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                    pthread_mutex_lock(mutex)
                    pthread_cond_broadcast(wake)
                    pthread_mutex_unlock(mutex)
                }
                work(number)
                while finished.load(ordering: .acquiring) < chunks { dl_spin_pause() }
            }
        }
    }

    /// Takes and runs chunks of region `number` until none is left.
    private func work(_ number: UInt64) {
        while true {
            let s = state.load(ordering: .acquiring)
            let next = s & WorkerPool.field, count = (s >> 20) & WorkerPool.field
            guard s >> 40 == number & (UInt64.max >> 40), next < count else { return }
            guard state.compareExchange(expected: s, desired: s + 1, ordering: .acquiringAndReleasing).exchanged else { continue }
            UnsafePointer<Job>(bitPattern: job.load(ordering: .acquiring))!.pointee.run(Int(next))
            finished.add(1, ordering: .releasing)
        }
    }

    private func workerLoop() {
        var seen = state.load(ordering: .acquiring) >> 40
        while true {
            var spins = 0, since = monotonicNanoseconds()
            var s = state.load(ordering: .acquiring)
            while s >> 40 == seen {
                spins += 1
                if spins % 64 == 0, monotonicNanoseconds() - since >= WorkerPool.spinNanoseconds {
                    // Counted as a sleeper before the last check, so a region opened meanwhile is either seen here
                    // or finds the sleeper and wakes it (under the mutex, after this thread waits).
                    pthread_mutex_lock(mutex)
                    sleepers.add(1, ordering: .sequentiallyConsistent)
                    while state.load(ordering: .sequentiallyConsistent) >> 40 == seen { pthread_cond_wait(wake, mutex) }
                    sleepers.subtract(1, ordering: .sequentiallyConsistent)
                    pthread_mutex_unlock(mutex)
                }
                dl_spin_pause()
                s = state.load(ordering: .acquiring)
            }
            seen = s >> 40
            work(seen)
        }
    }
}

/// 64 bytes that keep other memory off a cache line.
private struct CacheLinePadding {
    let words: (Int, Int, Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0, 0, 0)
}
