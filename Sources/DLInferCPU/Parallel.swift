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

/// Runs jobs `0..<n` on up to `Threads.count` threads. Thread p owns the p-th of as many contiguous ranges and
/// takes its jobs from the front; a thread whose range is empty takes the others' jobs from their backs, so threads
/// end within one job of each other however the jobs' sizes or count divide among them (`parallelFor` hands each
/// thread one contiguous range: 5 equal jobs on 2 threads take 3 jobs' time). Jobs numbered by where they write
/// (pixel tiles) then run where the same cut of the previous layer ran (see `WorkerPool`). For jobs of at least a
/// few microseconds each. `limit` caps the threads below `Threads.count`.
func parallelTasks(_ n: Int, threads limit: Int = .max, _ body: (Int) -> Void) {
    guard n > 0 else { return }
    let threads = Swift.min(Threads.count, limit, n)
    if threads <= 1 || n >= 1 << 31 {
        for j in 0..<n { body(j) }
        return
    }
    // Range p as one word, its front in the high half and its end in the low, so that owner and thieves agree on
    // each job through one compare-and-swap.
    let ranges = UnsafeMutablePointer<Atomic<UInt64>>.allocate(capacity: threads)
    defer { ranges.deallocate() }
    for p in 0..<threads { (ranges + p).initialize(to: Atomic(UInt64(n * p / threads) << 32 | UInt64(n * (p + 1) / threads))) }
    func take(_ p: Int, front: Bool) -> Int? {
        var s = ranges[p].load(ordering: .relaxed)
        while true {
            let lo = s >> 32, hi = s & 0xFFFF_FFFF
            guard lo < hi else { return nil }
            let (exchanged, now) = ranges[p].compareExchange(expected: s, desired: front ? s + (1 << 32) : s - 1,
                                                             ordering: .relaxed)
            if exchanged { return Int(front ? lo : hi - 1) }
            s = now
        }
    }
    // One chunk per thread the caller may use: with a chunk per job, every awake worker of the pool took jobs, past
    // a session's thread limit.
    WorkerPool.shared.run(threads, chunks: threads) { r in
        let p = r.lowerBound
        while let j = take(p, front: true) { body(j) }
        for q in 1..<threads {
            while let j = take((p + q) % threads, front: false) { body(j) }
        }
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
///
/// Chunk c of a region is run by thread c (the calling thread is 0, worker w is w) unless that thread is asleep,
/// when another takes it once its own is done. Consecutive layers cut alike (by pixels, by rows) so find what each
/// core reads in its own L2, where it wrote it: read from the other core's L2, activations crossed at about 15 GB/s
/// on a 2-core Sapphire Rapids VM, and squeezenet's 128 -> 16 channel 1x1 layer at 55x55 took 0.145 ms on 2 threads
/// against 0.142 on 1 (alone, reading an input no core had written, it went 0.188 -> 0.105).
final class WorkerPool: @unchecked Sendable {
    static let shared = WorkerPool(workers: Threads.available - 1)

    /// One region: the caller's closure and how its range is cut; lives on the caller's stack for the region.
    private struct Job {
        let body: (Range<Int>) -> Void
        let n: Int
        let chunks: Int
        func run(_ c: Int) { body((n * c / chunks)..<(n * (c + 1) / chunks)) }
    }

    /// The region in one word: number (bits 40...), chunk count (bits 20..<40), and the chunks handed out (bits
    /// 0..<20): a bit per chunk while there are `ownedLimit` chunks or fewer (chunk c belongs to thread c), else the
    /// next one's index.
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
    /// Owned chunks are one bit each in the low field.
    private static let ownedLimit: UInt64 = 20
    /// The next worker's thread index (the calling thread is 0).
    private let indices = Atomic<Int>(1)

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
                work(number, thread: 0)
                while finished.load(ordering: .acquiring) < chunks { dl_spin_pause() }
            }
        }
    }

    /// Takes and runs chunks of region `number` until none is left. Of owned chunks, `thread` takes its own first,
    /// then any left; a thread past the chunk count takes none, so that it cannot take another thread's.
    private func work(_ number: UInt64, thread: Int) {
        while true {
            let s = state.load(ordering: .acquiring)
            let low = s & WorkerPool.field, count = (s >> 20) & WorkerPool.field
            guard s >> 40 == number & (UInt64.max >> 40) else { return }
            let chunk: UInt64, claimed: UInt64
            if count <= WorkerPool.ownedLimit {
                let free = ~low & ((1 << count) - 1)
                guard free != 0, thread < Int(count) else { return }
                chunk = (free >> UInt64(thread)) & 1 != 0 ? UInt64(thread) : UInt64(free.trailingZeroBitCount)
                claimed = s | (1 << chunk)
            } else {
                guard low < count else { return }
                chunk = low
                claimed = s + 1
            }
            guard state.compareExchange(expected: s, desired: claimed, ordering: .acquiringAndReleasing).exchanged else { continue }
            UnsafePointer<Job>(bitPattern: job.load(ordering: .acquiring))!.pointee.run(Int(chunk))
            finished.add(1, ordering: .releasing)
        }
    }

    private func workerLoop() {
        let thread = indices.wrappingAdd(1, ordering: .relaxed).oldValue
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
            work(seen, thread: thread)
        }
    }
}

/// 64 bytes that keep other memory off a cache line.
private struct CacheLinePadding {
    let words: (Int, Int, Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0, 0, 0)
}
