import DLInferCPU
import Synchronization
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// `parallelJobs`, which convolution uses to share tiles of uneven count between threads: every job runs exactly
/// once whatever the count, each thread starts on its own range, nested regions run inline, a failing job's error
/// reaches the caller, and a session's thread limit holds.
final class ParallelTests: XCTestCase {
    func testEveryJobRunsOnce() throws {
        for n in [0, 1, 2, 3, 5, 37, 1000] {
            let runs = Mutex([Int](repeating: 0, count: n))
            try parallelJobs(n) { j in runs.withLock { $0[j] += 1 } }
            XCTAssertEqual(runs.withLock { $0 }, Array(repeating: 1, count: n), "n = \(n)")
        }
    }

    func testNestedRegionsRunInline() throws {
        let total = Atomic<Int>(0)
        try parallelJobs(4) { _ in try parallelJobs(9) { j in total.add(j + 1, ordering: .relaxed) } }
        XCTAssertEqual(total.load(ordering: .relaxed), 4 * 45)
    }

    func testAFailingJobsErrorIsRethrown() {
        struct Failed: Error, Equatable { let job: Int }
        XCTAssertThrowsError(try parallelJobs(50) { j in if j == 17 { throw Failed(job: j) } }) { error in
            XCTAssertEqual(error as? Failed, Failed(job: 17))
        }
    }

    /// Each thread takes the front of its own contiguous range of jobs, the calling thread the first: jobs
    /// numbered by pixel tile then run where the previous layer's same tiles ran. Jobs long enough (5 ms) for the
    /// other thread to wake and take its range before the caller could finish its own and take from it.
    func testTheCallingThreadRunsTheFirstRange() throws {
        guard Threads.available >= 2 else { throw XCTSkip("one thread") }
        let caller = UInt(pthread_self())
        let ranBy = Mutex([UInt](repeating: 0, count: 8))
        try Threads.withLimit(2) {
            try parallelJobs(8) { j in
                ranBy.withLock { $0[j] = UInt(pthread_self()) }
                usleep(5000)
            }
        }
        let jobs = ranBy.withLock { $0 }
        XCTAssertEqual(jobs.indices.filter { jobs[$0] == caller }, [0, 1, 2, 3])
        XCTAssertEqual(Set(jobs[4...]).count, 1)
    }

    /// Jobs run on no more threads than `Threads.withLimit` allows (a session's `threads` option), though the pool
    /// has more: `make test-swift` runs this at DLINFER_NUM_THREADS=3 too, where the limit is 2.
    func testJobsStayWithinTheThreadLimit() throws {
        let limit = Swift.max(1, Threads.available - 1)
        let seen = Mutex(Set<UInt>())
        try Threads.withLimit(limit) {
            try parallelJobs(64) { _ in
                seen.withLock { _ = $0.insert(UInt(pthread_self())) }
                usleep(300)
            }
        }
        XCTAssertLessThanOrEqual(seen.withLock { $0.count }, limit, "threads that ran jobs, of \(Threads.available)")
    }
}
