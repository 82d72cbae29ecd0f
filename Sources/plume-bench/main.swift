import ArgumentParser
import BenchSupport
import Foundation
import GMSFNative
import LuaHost
import PlumeCore

/// `plume-bench`: generates delivery CSVs and times the gmsf model against the hand-written Swift baseline
/// (Docs/PERFORMANCE.md).
struct PlumeBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plume-bench",
        abstract: "Benchmark Plume's gmsf run against a native Swift baseline.",
        subcommands: [Generate.self, Compare.self, Profile.self])
}

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Write a realistic delivery CSV for the gmsf model.")
    @Option(help: "Number of rows.") var rows: Int
    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Option(help: "Output file.") var output: String
    @Option(help: "Distinct deliveries the rows repeat with other impressions (0: every row drawn afresh).") var profiles: Int = 0

    func run() throws {
        let t0 = DispatchTime.now().uptimeNanoseconds
        try DeliveryGenerator.writeCSV(rows: rows, seed: seed, profiles: profiles, to: output)
        let secs = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        let size = (try? FileManager.default.attributesOfItem(atPath: output)[.size] as? Int) ?? 0
        print(String(format: "wrote %d rows (%.1f MB) to %@ in %.1f s", rows, Double(size) / 1e6, output, secs))
    }
}

/// Process memory from /proc/self/status, in kB.
enum Memory {
    static func status(_ key: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(key + ":") {
            return Int(line.dropFirst(key.count + 1).trimmingCharacters(in: .whitespaces).split(separator: " ").first ?? "")
        }
        return nil
    }
    /// Resets VmHWM to the current RSS (Linux: `echo 5 > /proc/self/clear_refs`); false if not possible.
    @discardableResult static func resetPeak() -> Bool {
        guard let h = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
        defer { try? h.close() }
        return (try? h.write(contentsOf: Data("5".utf8))) != nil
    }
}

struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time CSV parsing, the native baseline, the Lua model and end-to-end runs on one input.")
    @Option(help: "Input CSV (from `plume-bench generate`).") var input: String
    @Option(help: "Worker threads for the multi-threaded end-to-end run.") var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Runs per mode; the median is reported.") var `repeat`: Int = 3
    @Option(help: "Modes, comma-separated: parse, native, lua, run1, runN.") var modes: String = "parse,native,lua,run1,runN"
    @Option(help: "Coefficient pack.") var pack: String = "gmsf-1.3"
    @Option(name: .customLong("models"), help: "Folder of model folders (default: ./Models or $PLUME_MODELS).") var modelsDir: String?
    @Flag(name: .customLong("no-replay"), help: "End-to-end runs put every row through the script (plume run --no-replay).") var noReplay = false

    struct Sample { var seconds: Double; var rows: Int; var total: Double }

    func run() throws {
        let repository = ModelRepository.discover(explicit: modelsDir)
        let grid = GridLookup()
        let wanted = Set(modes.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        let threadsN = max(1, threads)

        // Setup, untimed: the Lua engine (single thread), coefficients, the native baseline.
        let engine = try Engine(repository: repository, grid: grid)
        let model = try engine.model("gmsf")
        let coefficients = try engine.coefficients(for: model, pack: pack)
        let bound = try engine.bind(model, coefficients)
        let native = try GMSFNative(coefficients: coefficients, grid: grid)
        let tmp = NSTemporaryDirectory() + "plume-bench-\(ProcessInfo.processInfo.processIdentifier)"
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: tmp) }

        /// Reads the file with the host's CSV reader and row typing, handing every row to `body`.
        func stream(_ body: (LuaValue) -> Double) throws -> (rows: Int, total: Double) {
            let fd = open(input, O_RDONLY)
            guard fd >= 0 else { throw ValidationError("cannot open \(input)") }
            defer { close(fd) }
            let reader = CSVReader(fd: fd)
            var rec = CSVRecord()
            guard reader.next(&rec) else { throw ValidationError("\(input) is empty") }
            let shape = try CSVRowShape(header: rec.fields.map { String(decoding: $0, as: UTF8.self) })
            var rows = 0
            var total = 0.0
            while reader.next(&rec) {
                rows += 1
                total += body(try shape.row(rec))
            }
            return (rows, total)
        }

        var rejected = 0
        let modeList: [(String, String, () throws -> Sample)] = [
            ("parse", "(a) CSV read + row typing", {
                let t0 = DispatchTime.now().uptimeNanoseconds
                let (rows, total) = try stream { row in
                    if case .object(let m) = row { return Double(m.count) }
                    return 0
                }
                return Sample(seconds: Self.since(t0), rows: rows, total: total)
            }),
            ("native", "(b) parse + native Swift gmsf", {
                let t0 = DispatchTime.now().uptimeNanoseconds
                let (rows, total) = try stream { row in
                    do { return try native.evaluate(row).total } catch { rejected += 1; return 0 }
                }
                return Sample(seconds: Self.since(t0), rows: rows, total: total)
            }),
            ("lua", "(c) parse + Lua gmsf, 1 thread", {
                let t0 = DispatchTime.now().uptimeNanoseconds
                let (rows, total) = try stream { row in
                    if case .ok(let t, _) = engine.runtime.evaluate(bound, row: row) { return t }
                    rejected += 1
                    return 0
                }
                return Sample(seconds: Self.since(t0), rows: rows, total: total)
            }),
            ("run1", "(d1) CampaignRun end to end, 1 thread", { try self.campaign(threads: 1, repository: repository, grid: grid, tmp: tmp) }),
            ("runN", "(dN) CampaignRun end to end, \(threadsN) threads", { try self.campaign(threads: threadsN, repository: repository, grid: grid, tmp: tmp) }),
        ]

        let size = (try? FileManager.default.attributesOfItem(atPath: input)[.size] as? Int) ?? 0
        print("input \(input) (\(String(format: "%.1f", Double(size) / 1e6)) MB), pack \(pack), \(`repeat`) runs per mode (median), threads N = \(threadsN)")
        print("loadavg at start: \(Self.loadavg())")
        print("RSS after setup \(Memory.status("VmRSS").map { "\($0 / 1024) MB" } ?? "?")")
        print("mode    median_s    rows/s      us/row   peak_RSS_MB  runs_s                      total_g")
        var medians: [String: Sample] = [:]
        for (key, label, body) in modeList where wanted.contains(key) {
            let canReset = Memory.resetPeak()
            var samples: [Sample] = []
            var cpus: [Double] = []
            for _ in 0..<max(1, `repeat`) {
                let c0 = Self.cpuSeconds()
                samples.append(try body())
                cpus.append(Self.cpuSeconds() - c0)
            }
            let peak = Memory.status("VmHWM").map { $0 / 1024 }
            let sorted = samples.sorted { $0.seconds < $1.seconds }
            let m = sorted[sorted.count / 2]
            medians[key] = m
            let rate = Double(m.rows) / m.seconds
            let runs = samples.map { String(format: "%.3f", $0.seconds) }.joined(separator: " ")
            func pad(_ s: String, _ w: Int) -> String { s.count >= w ? s : s + String(repeating: " ", count: w - s.count) }
            func lpad(_ s: String, _ w: Int) -> String { s.count >= w ? s : String(repeating: " ", count: w - s.count) + s }
            print(pad(key, 6) + String(format: " %9.3f %10.0f %10.3f ", m.seconds, rate, m.seconds / Double(m.rows) * 1e6)
                  + lpad((peak.map { String($0) } ?? "?") + (canReset ? "" : "*"), 10) + "    " + pad(runs, 27) + String(format: " %.6e", m.total))
            let cpuMedian = cpus.sorted()[cpus.count / 2]
            print("       \(label); process CPU \(String(format: "%.3f", cpuMedian)) s median (\(String(format: "%.3f", cpuMedian / Double(m.rows) * 1e6)) us/row)")
        }
        print("loadavg at end: \(Self.loadavg())")
        if rejected > 0 { print("WARNING: \(rejected) row evaluations were rejected or failed") }

        func us(_ k: String) -> Double? { medians[k].map { $0.seconds / Double($0.rows) * 1e6 } }
        print("")
        print("ratios (same process, medians):")
        if let b = us("native"), let c = us("lua") {
            print(String(format: "  Lua / native, parse included (c/b):          %.2fx", c / b))
            if let a = us("parse") {
                print(String(format: "  Lua / native, model only ((c-a)/(b-a)):     %.2fx  (model us/row: Lua %.3f, native %.3f)", (c - a) / (b - a), c - a, b - a))
            }
        }
        if let b = us("native"), let d1 = us("run1") { print(String(format: "  end-to-end 1 thread / native (d1/b):        %.2fx", d1 / b)) }
        if let b = us("native"), let dn = us("runN") { print(String(format: "  end-to-end %d threads / native (dN/b):       %.2fx", threadsN, dn / b)) }
        if let d1 = us("run1"), let dn = us("runN") { print(String(format: "  %d-thread speed-up (d1/dN):                  %.2fx", threadsN, d1 / dn)) }
        if let a = us("parse"), let d1 = us("run1") { print(String(format: "  parse share of 1-thread end-to-end (a/d1):  %.0f%%", a / d1 * 100)) }
        if let c = us("lua"), let d1 = us("run1") { print(String(format: "  run overhead beyond parse+Lua (d1-c):       %.3f us/row", d1 - c)) }
    }

    /// User + system CPU seconds of this process (all threads).
    static func cpuSeconds() -> Double {
        var u = rusage()
        getrusage(RUSAGE_SELF.rawValue, &u)
        return Double(u.ru_utime.tv_sec) + Double(u.ru_utime.tv_usec) / 1e6 + Double(u.ru_stime.tv_sec) + Double(u.ru_stime.tv_usec) / 1e6
    }

    static func loadavg() -> String {
        ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "?").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func since(_ t0: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9 }

    func campaign(threads: Int, repository: ModelRepository, grid: GridLookup, tmp: String) throws -> Sample {
        var o = CampaignRun.Options(model: "gmsf")
        o.pack = pack
        o.input = input
        o.output = tmp + "/out.csv"
        o.threads = threads
        o.replay = !noReplay
        let t0 = DispatchTime.now().uptimeNanoseconds
        let outcome = try CampaignRun(options: o, repository: repository, grid: grid).run()
        let secs = Self.since(t0)
        try? FileManager.default.removeItem(atPath: o.output)
        if outcome.counts.rejected > 0 { print("WARNING: run rejected \(outcome.counts.rejected) rows") }
        return Sample(seconds: secs, rows: outcome.counts.read, total: outcome.grand.total)
    }
}

/// Where the Lua model spends its work: executed Lua lines per row (the runtime's line-coverage hook), by
/// file and by line. Line counts are a proxy for interpreter time, not a timer.
struct Profile: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Executed Lua lines per row of the gmsf model, by file and hottest lines.")
    @Option(help: "Input CSV.") var input: String
    @Option(help: "Rows to profile (from the start of the file).") var rows: Int = 2000
    @Option(help: "Hottest lines to list.") var top: Int = 25
    @Option(help: "Coefficient pack.") var pack: String = "gmsf-1.3"
    @Option(name: .customLong("models"), help: "Folder of model folders.") var modelsDir: String?

    func run() throws {
        let repository = ModelRepository.discover(explicit: modelsDir)
        let engine = try Engine(repository: repository, grid: GridLookup())
        let model = try engine.model("gmsf")
        let bound = try engine.bind(model, try engine.coefficients(for: model, pack: pack))
        let fd = open(input, O_RDONLY)
        guard fd >= 0 else { throw ValidationError("cannot open \(input)") }
        defer { close(fd) }
        let reader = CSVReader(fd: fd)
        var rec = CSVRecord()
        guard reader.next(&rec) else { throw ValidationError("empty input") }
        let shape = try CSVRowShape(header: rec.fields.map { String(decoding: $0, as: UTF8.self) })
        var parsed: [LuaValue] = []
        while parsed.count < rows, reader.next(&rec) { parsed.append(try shape.row(rec)) }
        engine.runtime.lua.setCoverage(true)
        let before = engine.runtime.lua.coverage()   // subtracted: lines counted before the rows ran
        for row in parsed { _ = engine.runtime.evaluate(bound, row: row) }
        var cov = engine.runtime.lua.coverage()
        engine.runtime.lua.setCoverage(false)
        for (file, lines) in before {
            for (l, c) in lines { cov[file]?[l, default: 0] -= c }
        }
        let n = Double(parsed.count)
        var all: [(String, Int, Int)] = []
        var perFile: [(String, Int)] = []
        for (file, lines) in cov {
            perFile.append((file, lines.values.reduce(0, +)))
            for (l, c) in lines { all.append((file, l, c)) }
        }
        let total = Double(perFile.reduce(0) { $0 + $1.1 })
        print("\(parsed.count) rows; \(String(format: "%.0f", total / n)) Lua lines executed per row")
        for (f, c) in perFile.sorted(by: { $0.1 > $1.1 }) {
            print(String(format: "  %6.1f%%  %8.1f lines/row  ", Double(c) / total * 100, Double(c) / n) + f)
        }
        print("hottest lines (executions per row):")
        for (f, l, c) in all.sorted(by: { $0.2 > $1.2 }).prefix(top) {
            print(String(format: "  %8.2f  ", Double(c) / n) + "\((f as NSString).lastPathComponent):\(l)")
        }
    }
}

PlumeBench.main()
