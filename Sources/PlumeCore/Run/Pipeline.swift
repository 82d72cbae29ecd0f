import Foundation

/// Batches go to N worker threads and come back in input order; at most 2N batches are in flight, so
/// memory stays flat however long the input. The calling thread produces and consumes.
final class Pipeline: @unchecked Sendable {
    let threads: Int
    private let cond = NSCondition()
    private var queue: [InputBatch] = []
    private var results: [Int: BatchResult] = [:]
    private var closed = false
    private var workerError: Error?
    private var live = 0

    init(threads: Int) { self.threads = threads }

    func run<W>(produce: () -> InputBatch?,
                work: @escaping @Sendable (InputBatch, W) -> BatchResult,
                makeWorker: @escaping @Sendable () throws -> W,
                consume: (BatchResult) throws -> Bool) throws {
        let maxInFlight = threads * 2
        var produced = 0, consumed = 0
        var exhausted = false
        var stop = false
        var workers: [Thread] = []
        for i in 0..<threads {
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
            workers.append(t)
        }
        cond.lock(); live = threads; cond.unlock()
        workers.forEach { $0.start() }
        defer {
            cond.lock(); closed = true; queue.removeAll(); cond.broadcast()
            while live > 0 { cond.wait() }
            cond.unlock()
        }
        while !stop {
            // produce while there is room
            if !exhausted && produced - consumed < maxInFlight {
                if let b = produce() {
                    cond.lock(); queue.append(b); cond.broadcast(); cond.unlock()
                    produced += 1
                    continue
                }
                exhausted = true
            }
            if exhausted && consumed == produced { break }
            cond.lock()
            while results[consumed] == nil && workerError == nil && (exhausted || produced - consumed >= maxInFlight) {
                if live == 0 && results[consumed] == nil { break }
                cond.wait()
            }
            if let e = workerError { cond.unlock(); throw e }
            var ready: [BatchResult] = []
            while let r = results.removeValue(forKey: consumed + ready.count) { ready.append(r) }
            let noWorkers = live == 0
            cond.unlock()
            if ready.isEmpty && noWorkers { throw PlumeError.config("all workers stopped before the input was processed") }
            for r in ready {
                consumed += 1
                if try !consume(r) { stop = true; break }
            }
        }
    }
}
