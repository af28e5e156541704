import DLInferCPU
import Synchronization
import XCTest

/// `parallelJobs`, which convolution uses to share tiles of uneven count between threads: every job runs exactly
/// once whatever the count, nested regions run inline, and a failing job's error reaches the caller.
final class ParallelTests: XCTestCase {
    func testEveryJobRunsOnce() throws {
        for n in [0, 1, 2, 5, 37, 1000] {
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
}
