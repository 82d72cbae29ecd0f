import Foundation

/// Batches are worked on by N threads, the calling thread among them, and come back in input order; at
/// most 4N batches are in flight, so memory stays flat however long the input. The calling thread also
/// produces and consumes: `--threads N` is N threads in all, so one thread is one core's work.
final class Pipeline: @unchecked Sendable {
    let threads: Int
    private let cond = NSCondition()
    private var queue: [InputBatch] = []
    private var results: [Int: BatchResult] = [:]
    private var closed = false
    private var workerError: Error?
    private var live = 0
    private var launched: [Thread] = []

    init(threads: Int) { self.threads = threads }

    /// Starts the other N - 1 threads, each building its worker with `makeWorker` (a Lua state stays on
    /// the thread that made it) and then taking batches once `run` has them. Called before the calling
    /// thread's own set-up, the workers' set-up overlaps it.
    func launch<W>(work: @escaping @Sendable (InputBatch, W) -> BatchResult, makeWorker: @escaping @Sendable () throws -> W) {
        precondition(launched.isEmpty, "launched twice")
        for i in 1..<max(threads, 1) {
            let t = Thread { [self] in
                let worker: W
                do { worker = try makeWorker() } catch {
                    cond.lock(); workerError = error; live -= 1; cond.broadcast(); cond.unlock()
                    return
                }
                while true {
                    cond.lock()
                    while queue.isEmpty && !closed { cond.wait() }
                    if queue.isEmpty { live -= 1; cond.broadcast(); cond.unlock(); return }
                    let batch = queue.removeFirst()
                    cond.unlock()
                    let r = work(batch, worker)
                    cond.lock()
                    results[batch.index] = r
                    cond.broadcast()
                    cond.unlock()
                }
            }
            t.name = "plume.worker.\(i)"
            t.stackSize = 16 << 20
            launched.append(t)
        }
        cond.lock(); live = launched.count; cond.unlock()
        launched.forEach { $0.start() }
    }

    /// Stops the launched threads (they finish the batch in hand); after `run`, or instead of it.
    func close() {
        cond.lock(); closed = true; queue.removeAll(); cond.broadcast()
        while live > 0 { cond.wait() }
        cond.unlock()
    }

    /// Works through the input with the launched threads and `local`, the calling thread's worker.
    func run<W>(produce: () -> InputBatch?, work: (InputBatch, W) -> BatchResult, local: W,
                consume: (BatchResult) throws -> Bool) throws {
        // A batch that records many keys can take ten times another's time: the window lets the other
        // threads go on meanwhile.
        let maxInFlight = threads * 4
        var produced = 0, consumed = 0
        var exhausted = false
        var stop = false
        defer { close() }
        while !stop {
            // keep the others fed first
            if !exhausted && produced - consumed < maxInFlight {
                if let b = produce() {
                    cond.lock(); queue.append(b); cond.signal(); cond.unlock()
                    produced += 1
                    continue
                }
                exhausted = true
            }
            if exhausted && consumed == produced { break }
            cond.lock()
            if let e = workerError { cond.unlock(); throw e }
            var ready: [BatchResult] = []
            while let r = results.removeValue(forKey: consumed + ready.count) { ready.append(r) }
            // nothing to write: work on the oldest waiting batch here, else wait for one to come back
            var mine: InputBatch?
            if ready.isEmpty {
                if !queue.isEmpty {
                    mine = queue.removeFirst()
                } else {
                    while results[consumed] == nil && queue.isEmpty && workerError == nil && live > 0 { cond.wait() }
                    if let e = workerError { cond.unlock(); throw e }
                    if results[consumed] == nil && queue.isEmpty && live == 0 {
                        cond.unlock()
                        throw PlumeError.config("all workers stopped before the input was processed")
                    }
                }
            }
            cond.unlock()
            if let mine {
                let r = work(mine, local)
                cond.lock(); results[mine.index] = r; cond.unlock()
                continue
            }
            for r in ready {
                consumed += 1
                if try !consume(r) { stop = true; break }
            }
        }
    }
}
