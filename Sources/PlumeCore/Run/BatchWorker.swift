import Foundation
import LuaHost

/// What a worker needs besides its engine: the run's coefficients, output and input shape.
struct WorkerSpec: Sendable {
    let model: String
    let coefficients: ResolvedCoefficients
    let categories: [String]
    let groupBy: [String]
    let formatter: RowFormatter
    let failFast: Bool
    let csvShape: CSVRowShape?
    /// Replay tapes for rows with the same text part (the model declares `replay`, CSV input), shared
    /// by the run's workers.
    let replay: SharedTapes?
}

struct BatchResult: Sendable {
    var read = 0, written = 0, rejected = 0, modelErrors = 0
    var output: [UInt8] = []
    var rejects: [UInt8] = []
    var groups: [GroupTotals] = []
    var grand: GroupTotals
    var firstFailure: String?
    var replayed = 0, recorded = 0
    /// Index in `groups` of each group key.
    private(set) var groupIndex: [String: Int] = [:]

    /// Counts a written row into the grand total and its group.
    mutating func tally(total: Double, values: UnsafeBufferPointer<Double>, impressions: Double, groupKey: String, spec: WorkerSpec) {
        written += 1
        grand.add(total: total, values: values, impressions: impressions)
        if !spec.groupBy.isEmpty {
            if groupIndex[groupKey] == nil {
                groupIndex[groupKey] = groups.count
                groups.append(GroupTotals(key: groupKey, categories: spec.categories.count))
            }
            groups[groupIndex[groupKey]!].add(total: total, values: values, impressions: impressions)
        }
    }
}

/// One worker thread's engine and bound model.
final class BatchWorker {
    /// The run's spec; the per-row methods take it as a parameter instead (borrowed, no retains).
    let spec: WorkerSpec
    let engine: Engine
    let bound: BoundModel
    private let pusher: CSVRowPusher?
    private let idColumn: Int?
    private let impressionsColumn: Int?
    /// Cells of a CSV line (0 for JSONL input).
    private let columnCount: Int
    private let memo: RowMemo?
    private let paths: LuaRef?
    /// A tape's scratch slots and its results (total, then the categories).
    private let slots = UnsafeMutablePointer<Double>.allocate(capacity: Tape.maxSlots)
    private let results = UnsafeMutablePointer<Double>.allocate(capacity: Tape.maxSlots)
    private let idScratch = UnsafeMutablePointer<UInt8>.allocate(capacity: 24)
    /// Recording stops when the keys hardly repeat (every row distinct): it only costs time then.
    // @exclusivity(unchecked): a worker is used by one thread, one call at a time, so these per-row
    // counters are never accessed overlappingly; the runtime's check cost about 7 % of a replayed row.
    @exclusivity(unchecked) private var recordingOn = true
    private var scratch = CSVRecord()
    @exclusivity(unchecked) private var windowLookups = 0
    @exclusivity(unchecked) private var windowHits = 0

    /// A worker on an engine built on the thread that will use it.
    init(spec: WorkerSpec, engine: Engine, bound: BoundModel) {
        self.spec = spec
        self.engine = engine
        self.bound = bound
        engine.runtime.groupFields = spec.groupBy
        if let shape = spec.csvShape {
            pusher = CSVRowPusher(shape: shape, lua: engine.runtime.lua)
            idColumn = shape.column("id")
            impressionsColumn = shape.column("impressions")
            columnCount = shape.columns.count
            memo = spec.replay != nil ? RowMemo() : nil
            paths = spec.replay != nil ? engine.runtime.pathList(shape.columns) : nil
        } else {
            pusher = nil
            idColumn = nil
            impressionsColumn = nil
            columnCount = 0
            memo = spec.replay != nil ? RowMemo() : nil
            paths = nil
        }
    }

    deinit {
        slots.deallocate()
        results.deallocate()
        idScratch.deallocate()
    }

    func process(_ batch: InputBatch) -> BatchResult {
        var r = BatchResult(grand: GroupTotals(key: "total", categories: spec.categories.count))
        r.output.reserveCapacity((batch.slice?.records ?? 0) * 128)
        func written(total: Double, values: UnsafeBufferPointer<Double>, id: (String, Bool), impressions: Double, groupKey: String) {
            spec.formatter.row(id: id.0, idIsNumber: id.1, total: total, values: values, into: &r.output)
            r.tally(total: total, values: values, impressions: impressions, groupKey: groupKey, spec: spec)
        }
        // one record at a time: `continue` in a loop reads as `return` here
        func handle(_ rec: InputRecord) {
            r.read += 1
            if r.firstFailure != nil && spec.failFast { return }
            func reject(_ field: String, _ reason: String, model: Bool = false) {
                r.rejected += 1
                if model { r.modelErrors += 1 }
                let line = "\(rec.number),\(rec.line),\(csvField(field)),\(csvField(reason)),\(csvField(String(decoding: rec.raw, as: UTF8.self)))\n"
                r.rejects.append(contentsOf: line.utf8)
                if r.firstFailure == nil { r.firstFailure = "row \(rec.number) (line \(rec.line)): \(reason)" }
            }
            if let e = rec.error { reject("", e); return }
            var outcome: RowOutcome?
            var replayedKey: String?
            var id: (String, Bool)
            var impressions = 0.0
            var groupKey = ""
            if let pusher {
                let shape = pusher.shape
                guard rec.record.count == shape.columns.count else {
                    reject("", "ragged row: expected \(shape.columns.count) fields, found \(rec.record.count)")
                    return
                }
                do {
                    if let memo, let paths, memo.build(rec.record, skip: idColumn),
                       let found = try replayOrRecord(memo, spec: spec, into: &r, record: {
                           try engine.runtime.record(bound, paths: paths, numberColumns: memo.numberColumns,
                                                     pushRow: { try pusher.push(rec.record) })
                       }) {
                        outcome = found.outcome
                        replayedKey = found.groupKey
                    }
                    if outcome == nil {
                        outcome = try engine.runtime.evaluate(bound) { try pusher.push(rec.record) }
                    } else if rec.number % Self.verifyEvery == 0, case .ok(let total, let values)? = outcome {
                        if let problem = verify(total: total, values: values, spec: spec, pushRow: { try pusher.push(rec.record) }) {
                            reject("", problem, model: true)
                            return
                        }
                    }
                } catch CSVRowPusher.PushError.invalidUTF8(let column) {
                    reject(column, "\(column): invalid UTF-8")
                    return
                } catch { reject("", "\(error)"); return }
                id = Self.id(idColumn.flatMap { pusher.value(rec.record, column: $0) }, number: rec.number)
                impressions = impressionsColumn.flatMap { pusher.value(rec.record, column: $0)?.doubleValue } ?? 0
            } else {
                let row: LuaValue
                do {
                    row = try rec.raw.withUnsafeBytes { try JSONValue.parse(bytes: $0) }
                } catch { reject("", "\(error)"); return }
                guard case .object = row else { reject("", "a JSONL row must be a JSON object"); return }
                var input = row.removing(key: "id")
                if let memo {
                    // A tape computes in doubles, so a replayed run gives every row its numbers as doubles,
                    // as CSV rows have them (vectors.md lets an integral value reach a model either way).
                    input = ReplayCheck.floats(input)
                    if memo.build(json: input), let found = try? replayOrRecord(memo, spec: spec, into: &r, record: {
                        var leaves: [[LuaValue]] = [], values: [Double] = []
                        ReplayCheck.numbers(input, path: [], &leaves, &values)
                        let paths = engine.runtime.pathList(leaves)
                        defer { engine.runtime.lua.release(paths) }
                        return try engine.runtime.record(bound, paths: paths, numberColumns: (0..<leaves.count).map { Int32($0) },
                                                         pushRow: { engine.runtime.lua.push(input) })
                    }) {
                        outcome = found.outcome
                        replayedKey = found.groupKey
                    }
                }
                if outcome == nil {
                    outcome = engine.runtime.evaluate(bound, row: input)
                } else if rec.number % Self.verifyEvery == 0, case .ok(let total, let values)? = outcome,
                          let problem = verify(total: total, values: values, spec: spec, pushRow: { engine.runtime.lua.push(input) }) {
                    reject("", problem, model: true)
                    return
                }
                id = Self.id(row["id"], number: rec.number)
                impressions = row["impressions"]?.doubleValue ?? 0
            }
            switch outcome! {
            case .ok(let total, let values):
                if !spec.groupBy.isEmpty { groupKey = replayedKey ?? engine.runtime.lastGroupValues.joined(separator: ",") }
                values.withUnsafeBufferPointer { written(total: total, values: $0, id: id, impressions: impressions, groupKey: groupKey) }
            case .rejected(let message, let path):
                reject(path ?? "", message)
            case .failed(let message, _):
                reject("", "model error: \(message)", model: true)
            }
        }
        if let slice = batch.slice, pusher == nil {
            // JSONL: a line whose key has a tape that fits is done from its bytes, any other is parsed
            var number = batch.firstNumber
            JSONLines.forEach(slice) { line, lineNumber in
                defer { number += 1 }
                if number % Self.verifyEvery != 0, r.firstFailure == nil || !spec.failFast,
                   replay(jsonLine: line, number: number, spec: spec, into: &r) { return }
                var rec = CSVRecord()
                rec.line = lineNumber
                rec.raw = Array(line)
                handle(InputRecord(number: number, record: rec))
            }
        } else if let slice = batch.slice {
            var reader = CSVSliceReader(slice: slice)
            var number = batch.firstNumber
            while true {
                if let line = reader.peekPlain(), number % Self.verifyEvery != 0, r.firstFailure == nil || !spec.failFast,
                   reader.withBytes({ replay(line: UnsafeRawBufferPointer(rebasing: $0[line.content]), number: number, spec: spec, into: &r) }) {
                    reader.skip(line)
                    number += 1
                    continue
                }
                guard reader.next(&scratch) else { break }
                handle(InputRecord(number: number, record: scratch))
                number += 1
            }
        }
        return r
    }

    /// A plain line whose key has a tape that fits is done from the input bytes; anything else (a
    /// miss, a guard, a quote, a spot-checked row) is read as a record and handled by `process`.
    /// A method with `r` in-out rather than a closure capturing it: the per-row path then has no
    /// dynamic exclusivity checks.
    private func replay(line bytes: UnsafeRawBufferPointer, number: Int, spec: WorkerSpec, into r: inout BatchResult) -> Bool {
        guard let memo, memo.build(line: bytes, columns: columnCount, skip: idColumn, watch: impressionsColumn) == true,
              let found = memo.firstTape(where: { replay($0, memo) }) else { return false }
        func cell(_ i: Int) -> UnsafeRawBufferPointer {
            let start = i == 0 ? 0 : memo.lineEnds[i - 1] + 1
            return UnsafeRawBufferPointer(rebasing: bytes[start..<memo.lineEnds[i]])
        }
        written(csvID: Self.plainID(idColumn.map(cell), number: number, scratch: idScratch),
                id: Self.id(idColumn.flatMap { CellTyper.type(bytes: cell($0)) }, number: number),
                found: found, memo: memo, spec: spec, into: &r)
        return true
    }

    /// The JSONL counterpart of `replay(line:)`: a line `RowMemo.build(jsonLine:)` reads whose key has a
    /// tape that fits is done from its bytes; anything else goes through the parser and `process`.
    private func replay(jsonLine bytes: UnsafeRawBufferPointer, number: Int, spec: WorkerSpec, into r: inout BatchResult) -> Bool {
        guard let memo, memo.build(jsonLine: bytes) == true,
              let found = memo.firstTape(where: { replay($0, memo) }) else { return false }
        // the id is a string of printable ASCII as written (no escapes): a CSV field unless it holds a comma
        let id = memo.jsonID.map { UnsafeRawBufferPointer(rebasing: bytes[$0]) }
        let csvID: UnsafeRawBufferPointer?
        if let id { csvID = id.contains(44) ? nil : id } else { csvID = Self.plainID(nil, number: number, scratch: idScratch) }
        written(csvID: csvID, id: id.map { (String(decoding: $0, as: UTF8.self), false) } ?? (String(number), true),
                found: found, memo: memo, spec: spec, into: &r)
        return true
    }

    /// Writes and tallies a row replayed into `results` from its bytes: `csvID` is its id as a CSV field
    /// when it is one as it stands, `id` how it prints otherwise (`Self.id`).
    private func written(csvID: UnsafeRawBufferPointer?, id: @autoclosure () -> (String, Bool), found: (tape: Unmanaged<Tape>, block: Tape.Block),
                         memo: RowMemo, spec: WorkerSpec, into r: inout BatchResult) {
        countLookup(hit: true)
        r.read += 1
        r.replayed += 1
        let values = UnsafeBufferPointer(start: results + 1, count: found.block.outputCount - 1)
        if spec.formatter.format == .csv, let csvID {
            spec.formatter.csvRow(id: csvID, total: results[0], values: values, into: &r.output)
        } else {
            let id = id()
            spec.formatter.row(id: id.0, idIsNumber: id.1, total: results[0], values: values, into: &r.output)
        }
        // the tape object (another cache miss) only when grouping needs its key
        let groupKey = spec.groupBy.isEmpty ? "" : found.tape.takeUnretainedValue().groupKey
        r.tally(total: results[0], values: values, impressions: memo.watched, groupKey: groupKey, spec: spec)
    }

    /// The row whose key `memo` just built, replayed from a tape of that key (this worker's, else the run's
    /// shared one) whose guards hold, or recorded by `record` when its key may take another path; nil
    /// when the row runs the script.
    private func replayOrRecord(_ memo: RowMemo, spec: WorkerSpec, into r: inout BatchResult,
                                record: () throws -> ModelRuntime.Recording) throws -> (outcome: RowOutcome, groupKey: String)? {
        var entry = memo.find()
        if entry == nil, let shared = spec.replay, let e = shared.find(hash: memo.hash, key: memo.key) {
            memo.insert(e, shared: true)
            entry = e
        }
        countLookup(hit: entry != nil)
        // the key's tapes in order; a row whose guards fit none records another path
        var tapes: [Tape] = []
        if case .tapes(let ts)? = entry { tapes = ts }
        for tape in tapes where replay(tape, memo) {
            r.replayed += 1
            return (replayed(tape), tape.groupKey)
        }
        let another = entry == nil || (!tapes.isEmpty && tapes.count < RowMemo.maxTapes)
        guard another && recordingOn && !memo.full else { return nil }
        r.recorded += 1
        switch try record() {
        case .tape(let t):
            if entry == nil {
                if let held = spec.replay?.insert(.tapes([t]), hash: memo.hash, key: memo.key) {
                    memo.insert(held, shared: true)
                } else {
                    memo.insert(.tapes([t]))
                }
            } else {
                memo.add(t)
            }
            if replay(t, memo) { return (replayed(t), t.groupKey) }
        case .broken where entry == nil:
            memo.insert(.script)
            spec.replay?.insert(.script, hash: memo.hash, key: memo.key)
        case .broken, .notOK: break
        }
        return nil
    }

    /// Keys that hardly repeat make recording a cost: it stops while fewer than a quarter of the last
    /// 8192 lookups hit, and comes back when half do.
    private func countLookup(hit: Bool) {
        windowLookups += 1
        if hit { windowHits += 1 }
        if windowLookups == 8192 {
            recordingOn = windowHits * 4 >= windowLookups * (recordingOn ? 1 : 2)
            windowLookups = 0
            windowHits = 0
        }
    }

    /// Runs `tape` on the row's numbers into `results`; false when a guard fails.
    private func replay(_ tape: Tape, _ memo: RowMemo) -> Bool { replay(tape.block, memo) }

    private func replay(_ block: Tape.Block, _ memo: RowMemo) -> Bool {
        Tape.run(block, memo.inputs, slots: slots, results: results)
    }

    /// The outcome `replay` left in `results`.
    private func replayed(_ tape: Tape) -> RowOutcome {
        .ok(total: results[0], values: Array(UnsafeBufferPointer(start: results + 1, count: tape.outputCount - 1)))
    }

    /// Every this-many-th row (by row number, so the same rows whatever the thread count) that was
    /// replayed also runs through the script, and the bits must agree.
    static let verifyEvery = 4096

    /// Nil when the script gives the replayed result bit for bit; else the model error to report.
    private func verify(total: Double, values: [Double], spec: WorkerSpec, pushRow: () throws -> Void) -> String? {
        guard case .ok(let t2, let v2)? = try? engine.runtime.evaluate(bound, pushRow: pushRow) else {
            return "model error: replay check: the script does not evaluate this row, its replay did (model \(spec.model) breaks the replay contract, Docs/DSL.md; run with --no-replay)"
        }
        guard let d = ReplayCheck.difference(replayed: [total] + values, script: [t2] + v2, names: ["total"] + spec.categories) else { return nil }
        return "model error: replay check: \(d.name) replayed \(d.replayed) but the script gives \(d.script) (model \(spec.model) uses a number in a way a replay cannot see, Docs/DSL.md; run with --no-replay)"
    }

    /// The id field of a CSV output row, when it is the cell's bytes (printable ASCII text: not a number,
    /// not a boolean, nothing to quote) or the row number written into `scratch` (20 bytes); nil when
    /// the id needs typing or quoting (`id` then says how it prints).
    static func plainID(_ cell: UnsafeRawBufferPointer?, number: Int, scratch: UnsafeMutablePointer<UInt8>) -> UnsafeRawBufferPointer? {
        guard let cell else {
            let digits = ShortestDecimal.shared.length(UInt64(number))
            ShortestDecimal.shared.writeDigits(UInt64(number), end: scratch + digits)
            return UnsafeRawBufferPointer(start: scratch, count: digits)
        }
        let text = CellTyper.trimmed(cell)
        guard !text.isEmpty else { return nil }
        for c in text where c < 0x20 || c > 0x7e || c == 44 || c == 34 { return nil }
        return CellTyper.number(text) == nil && CellTyper.boolean(text) == nil ? text : nil
    }

    /// The row's `id` (as written) or its 1-based number; the flag says whether it prints as a number.
    static func id(_ v: LuaValue?, number: Int) -> (String, Bool) {
        switch v {
        case .string(let s)?: return (s, false)
        case .integer(let i)?: return (String(i), true)
        case .number(let d)?: return (RowFormatter.number(d), true)
        case .boolean(let b)?: return (b ? "true" : "false", false)
        default: return (String(number), true)
        }
    }

}

/// Rows per second on stderr, only when stderr is a terminal.
final class Progress {
    private let start = DispatchTime.now().uptimeNanoseconds
    private var last: UInt64 = 0

    func update(_ c: CampaignRun.Counts) {
        let now = DispatchTime.now().uptimeNanoseconds
        guard now - last > 200_000_000 else { return }
        last = now
        let secs = Double(now - start) / 1e9
        let line = String(format: "\r%d rows, %.0f rows/s, %d rejected", c.read, Double(c.read) / max(secs, 1e-9), c.rejected)
        FileHandle.standardError.write(line.data(using: .utf8)!)
    }

    func finish(_ c: CampaignRun.Counts) {
        update(c)
        FileHandle.standardError.write("\n".data(using: .utf8)!)
    }
}

extension LuaValue {
    /// An object without `key` (anything else unchanged).
    func removing(key: String) -> LuaValue {
        guard case .object(let fields) = self, fields.contains(where: { $0.0 == key }) else { return self }
        return .object(fields.filter { $0.0 != key })
    }
}
