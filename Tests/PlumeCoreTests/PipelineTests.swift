import Foundation
import XCTest
@testable import PlumeCore

/// The pipeline alone: results come back in input order whoever works on them, `threads` counts the
/// calling thread, and a worker that cannot start stops the run with its error.
final class PipelineTests: XCTestCase {
    private func batches(_ n: Int) -> () -> InputBatch? {
        var next = 0
        return {
            defer { next += 1 }
            return next < n ? InputBatch(index: next) : nil
        }
    }

    /// A run of `batches` batches on `threads` threads, the other threads launched first.
    private func run(threads: Int, batches n: Int, work: @escaping @Sendable (InputBatch, Void) -> BatchResult,
                     makeWorker: @escaping @Sendable () throws -> Void = {}, consume: (BatchResult) throws -> Bool) throws {
        let pipeline = Pipeline(threads: threads)
        pipeline.launch(work: work, makeWorker: makeWorker)
        defer { pipeline.close() }
        try pipeline.run(produce: batches(n), work: work, local: (), consume: consume)
    }

    private static func result(_ batch: InputBatch) -> BatchResult {
        var r = BatchResult(grand: GroupTotals(key: "total", categories: 0))
        r.read = batch.index
        return r
    }

    func testResultsComeBackInInputOrderWithUnevenWork() throws {
        for threads in [1, 2, 3, 5] {
            var seen: [Int] = []
            try run(threads: threads, batches: 200, work: { batch, _ in
                // every seventh batch is slow, so later ones finish first
                if batch.index % 7 == 0 { usleep(2000) }
                return Self.result(batch)
            }, consume: { seen.append($0.read); return true })
            XCTAssertEqual(seen, Array(0..<200), "threads \(threads)")
        }
    }

    func testOneThreadIsTheCallingThread() throws {
        let caller = pthread_self()
        let others = Atomic(0)
        try run(threads: 1, batches: 50, work: { batch, _ in
            if pthread_equal(pthread_self(), caller) == 0 { others.add() }
            return Self.result(batch)
        }, makeWorker: { XCTFail("one thread builds no other worker") }, consume: { _ in true })
        XCTAssertEqual(others.value, 0)
    }

    func testCallingThreadWorksAlongsideTheOthers() throws {
        let caller = pthread_self()
        let mine = Atomic(0), theirs = Atomic(0)
        try run(threads: 2, batches: 400, work: { batch, _ in
            usleep(200)
            if pthread_equal(pthread_self(), caller) != 0 { mine.add() } else { theirs.add() }
            return Self.result(batch)
        }, consume: { _ in true })
        XCTAssertEqual(mine.value + theirs.value, 400)
        XCTAssertGreaterThan(mine.value, 0, "the calling thread took no batch")
        XCTAssertGreaterThan(theirs.value, 0, "the other thread took no batch")
    }

    func testAWorkerThatCannotStartStopsTheRun() {
        struct NoEngine: Error {}
        XCTAssertThrowsError(try run(threads: 3, batches: 10_000, work: { batch, _ in usleep(100); return Self.result(batch) },
                                     makeWorker: { throw NoEngine() }, consume: { _ in true })) {
            XCTAssertTrue($0 is NoEngine, "\($0)")
        }
    }

    /// Threads launched for a run that never starts (its set-up failed) stop when told, not hang.
    func testLaunchedThreadsStopWhenTheRunNeverStarts() {
        let specs = Handoff<Int>()
        let built = Atomic(0)
        let pipeline = Pipeline(threads: 3)
        pipeline.launch(work: { batch, _ in Self.result(batch) }, makeWorker: {
            guard specs.take() != nil else { throw CancellationError() }
            built.add()
        })
        specs.cancel()
        pipeline.close()
        XCTAssertEqual(built.value, 0)
    }

    func testConsumerCanStopEarly() throws {
        var seen = 0
        try run(threads: 2, batches: 1000, work: { batch, _ in Self.result(batch) }, consume: { _ in seen += 1; return seen < 5 })
        XCTAssertEqual(seen, 5)
    }
}

/// A counter the test's worker threads share.
private final class Atomic: @unchecked Sendable {
    private let lock = NSLock()
    private var n: Int
    init(_ n: Int) { self.n = n }
    func add() { lock.lock(); n += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return n }
}
