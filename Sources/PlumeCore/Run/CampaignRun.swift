import Foundation
import LuaHost

/// `plume run`: a campaign file through a model, streamed, in parallel, with nothing lost: every input
/// row ends in the output or in the rejects file, and the counts reconcile.
public struct CampaignRun {
    public enum InputFormat: String, Sendable { case csv, jsonl }
    public enum OutputFormat: String, Sendable { case csv, jsonl }
    public enum OnError: String, Sendable { case fail, reject }

    public struct Options: Sendable {
        public var model: String
        public var version: String?
        public var pack: String?
        public var overlays: [String] = []
        public var sets: [String] = []
        public var input: String = "-"
        public var inputFormat: InputFormat?
        public var output: String = "-"
        public var format: OutputFormat = .csv
        public var groupBy: [String] = []
        public var summary: String?
        public var rejects: String?
        public var onError: OnError = .reject
        public var threads: Int = ProcessInfo.processInfo.activeProcessorCount
        public var batchSize: Int = 2048
        public var progress: Bool = false
        /// Replay tapes when the model declares `replay` (Docs/DSL.md); off runs every row through the script.
        public var replay: Bool = true

        public init(model: String) { self.model = model }
    }

    public struct Counts: Sendable, Equatable {
        public var read = 0
        public var written = 0
        public var rejected = 0
        /// Rows the model failed on (a script error), a subset of `rejected`.
        public var modelErrors = 0
    }

    /// Rows computed from a tape an earlier row recorded, and rows recorded. Unlike the counts these
    /// depend on the thread count (which worker meets a key first); the output does not.
    public struct ReplayStats: Sendable {
        public var replayed = 0
        public var recorded = 0
    }

    public struct Outcome: Sendable {
        public let counts: Counts
        public let groups: [GroupTotals]
        public let grand: GroupTotals
        public let categories: [String]
        /// Set when --on-error fail stopped the run.
        public let stoppedBy: String?
        public var replay = ReplayStats()
    }

    public let options: Options
    public let repository: ModelRepository
    public let grid: GridLookup
    public let limits: RuntimeLimits

    public init(options: Options, repository: ModelRepository, grid: GridLookup, limits: RuntimeLimits = .standard) {
        self.options = options
        self.repository = repository
        self.grid = grid
        self.limits = limits
    }

    public func run() throws -> Outcome {
        // The other threads build their engines (a Lua state, the model) while this one resolves the
        // run; they wait for the rest of what a worker needs, which depends on the coefficients and the
        // input's header.
        let pipeline = Pipeline(threads: max(1, options.threads))
        let specs = Handoff<WorkerSpec>()
        let (repository, grid, limits, id, version) = (self.repository, self.grid, self.limits, options.model, options.version)
        pipeline.launch(work: { batch, worker in worker.process(batch) }, makeWorker: {
            let engine = try Engine(repository: repository, grid: grid, limits: limits)
            let model = try engine.model(id, version: version)
            guard let spec = specs.take() else { throw CancellationError() }
            return try BatchWorker(spec: spec, engine: engine, bound: engine.bind(model, spec.coefficients))
        })
        defer {
            specs.cancel()
            pipeline.close()
        }

        // Resolve everything once on this thread so configuration errors surface before any row is read;
        // this thread's engine then works on batches too.
        let probe = try Engine(repository: repository, grid: grid, limits: limits)
        let model = try probe.model(options.model, version: options.version)
        let overlays = try options.overlays.map { try Overlay(url: URL(fileURLWithPath: $0)) }
        let coefficients = try probe.coefficients(for: model, pack: options.pack, overlays: overlays, sets: options.sets)
        let bound = try probe.bind(model, coefficients)
        let categories = model.info.categories

        let format = options.inputFormat ?? (options.input.hasSuffix(".jsonl") || options.input.hasSuffix(".ndjson") ? .jsonl : .csv)
        let fd: Int32
        if options.input == "-" { fd = 0 } else {
            fd = open(options.input, O_RDONLY)
            guard fd >= 0 else { throw PlumeError.config("cannot open input \(options.input): \(String(cString: strerror(errno)))") }
        }
        defer { if fd != 0 { close(fd) } }
        let source = RowSource(fd: fd, format: format, hashing: options.summary != nil, batchSize: options.batchSize)
        try source.readHeader()

        let output = try OutputSink(path: options.output)
        let rejects = try options.rejects.map { try OutputSink(path: $0) }
        defer {
            output.discardIfOpen()
            rejects?.discardIfOpen()
        }
        let formatter = RowFormatter(format: options.format, categories: categories)
        try output.write(formatter.header())
        // A rejects file always has its header; on stderr it appears only with the first rejected row.
        let rejectsHeader = Array("row,line,field,reason,record\n".utf8)
        var rejectsHeaderDue = options.rejects == "-2"
        if !rejectsHeaderDue { try rejects?.write(rejectsHeader) }

        let spec = WorkerSpec(model: options.model, coefficients: coefficients, categories: categories,
                              groupBy: options.groupBy, formatter: formatter, failFast: options.onError == .fail,
                              csvShape: source.shape,
                              replay: options.replay && model.info.replay ? SharedTapes() : nil)
        specs.put(spec)
        var counts = Counts()
        var replay = ReplayStats()
        var groups: [String: GroupTotals] = [:]
        var groupOrder: [String] = []
        var grand = GroupTotals(key: "total", categories: categories.count)
        var stoppedBy: String?
        let progress = options.progress ? Progress() : nil

        try pipeline.run(
            produce: { source.nextBatch() },
            work: { batch, worker in worker.process(batch) },
            local: BatchWorker(spec: spec, engine: probe, bound: bound),
            consume: { result in
                if stoppedBy != nil { return false }
                counts.read += result.read
                counts.written += result.written
                counts.rejected += result.rejected
                counts.modelErrors += result.modelErrors
                replay.replayed += result.replayed
                replay.recorded += result.recorded
                try output.write(result.output)
                if rejectsHeaderDue && !result.rejects.isEmpty {
                    try rejects?.write(rejectsHeader)
                    rejectsHeaderDue = false
                }
                try rejects?.write(result.rejects)
                for g in result.groups {
                    if groups[g.key] == nil { groupOrder.append(g.key); groups[g.key] = GroupTotals(key: g.key, categories: categories.count) }
                    groups[g.key]!.add(g)
                }
                grand.add(result.grand)
                progress?.update(counts)
                if let f = result.firstFailure, options.onError == .fail {
                    stoppedBy = f
                    return false
                }
                return true
            })
        progress?.finish(counts)
        if let stoppedBy {
            return Outcome(counts: counts, groups: [], grand: grand, categories: categories, stoppedBy: stoppedBy, replay: replay)
        }
        if let e = source.fatalError { throw PlumeError.config(e) }
        try output.commit()
        try rejects?.commit()
        let outcome = Outcome(counts: counts, groups: groupOrder.map { groups[$0]! }, grand: grand, categories: categories,
                              stoppedBy: nil, replay: replay)
        if let summary = options.summary {
            let record = RunSummary(model: model.info, packID: coefficients.packID, packHash: coefficients.pack.hash,
                                    modelHash: probe.modelHash(model), overlayHashes: coefficients.overlayHashes,
                                    input: options.input, inputHash: source.inputHash(), groupBy: options.groupBy,
                                    outcome: outcome)
            try AtomicFile.write(record.json(), to: summary)
        }
        return outcome
    }
}

/// A value one thread hands to others once it has it, or never (`cancel`).
final class Handoff<T: Sendable>: @unchecked Sendable {
    private let cond = NSCondition()
    private var value: T?
    private var cancelled = false

    func put(_ v: T) { cond.lock(); value = v; cond.broadcast(); cond.unlock() }
    func cancel() { cond.lock(); cancelled = true; cond.broadcast(); cond.unlock() }

    /// The value once there is one; nil once cancelled without one.
    func take() -> T? {
        cond.lock()
        defer { cond.unlock() }
        while value == nil && !cancelled { cond.wait() }
        return value
    }
}

/// Sums of one group (or of the whole run).
public struct GroupTotals: Sendable {
    public let key: String
    public var rows = 0
    public var impressions = 0.0
    public var total = 0.0
    public var values: [Double]

    public init(key: String, categories: Int) {
        self.key = key
        values = [Double](repeating: 0, count: categories)
    }

    mutating func add(_ o: GroupTotals) {
        rows += o.rows
        impressions += o.impressions
        total += o.total
        for i in values.indices { values[i] += o.values[i] }
    }

    mutating func add(total t: Double, values v: UnsafeBufferPointer<Double>, impressions imp: Double) {
        rows += 1
        impressions += imp
        total += t
        for i in values.indices { values[i] += v[i] }
    }

    /// grams CO2e per 1000 impressions (nil without impressions).
    public var perThousand: Double? { impressions > 0 ? total / impressions * 1000 : nil }
}
