import Foundation
import LuaHost

/// The result of one case.
public struct CaseResult: Sendable {
    public enum Status: String, Sendable { case passed, failed, skipped }
    public let id: String
    public let source: String
    public let description: String
    public let line: Int
    public let status: Status
    /// Every mismatch of the case, one line each.
    public let failures: [String]
    /// What the model produced (categories, total, traces), for --update and JSON output.
    public let got: [(String, LuaValue)]
    public let seconds: Double
}

public struct SuiteResult: Sendable {
    public let file: String
    public let name: String
    public let model: String
    public let pack: String?
    /// Pin notes: which hash moved (logic or data).
    public let notes: [String]
    public let cases: [CaseResult]

    public var passed: Int { cases.filter { $0.status == .passed }.count }
    public var failed: Int { cases.filter { $0.status == .failed }.count }
    public var skipped: Int { cases.filter { $0.status == .skipped }.count }
}

/// What a vector run exercised: lines of model files, categories, coefficient keys and entries.
public struct CoverageReport: Sendable {
    public struct FileLines: Sendable {
        public let file: String
        public let executable: [Int]
        public let hit: Set<Int>
        public var percent: Double { executable.isEmpty ? 100 : 100 * Double(executable.filter { hit.contains($0) }.count) / Double(executable.count) }
    }
    public struct ModelCoverage: Sendable {
        public let model: String
        public let categories: [String]
        public let categoriesHit: Set<String>
        public let packKeys: [String]
        public let keysRead: Set<String>
        public let entries: [String]
        public let entriesRead: Set<String>
    }
    public var files: [FileLines] = []
    public var models: [ModelCoverage] = []

    /// The mean of line, category, key and entry percentages.
    public var summaryPercent: Double {
        var parts: [Double] = []
        let lines = files.reduce((0, 0)) { acc, f in (acc.0 + f.executable.filter { f.hit.contains($0) }.count, acc.1 + f.executable.count) }
        if lines.1 > 0 { parts.append(100 * Double(lines.0) / Double(lines.1)) }
        for m in models {
            if !m.categories.isEmpty { parts.append(100 * Double(m.categoriesHit.intersection(m.categories).count) / Double(m.categories.count)) }
        }
        return parts.isEmpty ? 0 : parts.reduce(0, +) / Double(parts.count)
    }
}

/// Runs golden vector suites against models.
public final class VectorRunner {
    public let engine: Engine
    public let collectCoverage: Bool
    private var categoriesHit: [String: Set<String>] = [:]
    private var keysRead: [String: Set<String>] = [:]
    private var packsSeen: [String: ResolvedCoefficients] = [:]
    private var modelsSeen: [String: LoadedModel] = [:]   // by "id version"
    /// Cases of replay models whose recording was checked, and replays compared (Docs/DSL.md, section 6).
    public private(set) var replayStats = (cases: 0, replays: 0)

    public init(engine: Engine, coverage: Bool = false) {
        self.engine = engine
        collectCoverage = coverage
        engine.runtime.tracing = true
        engine.runtime.recording = coverage
        if coverage { engine.runtime.setCoverage(true) }
    }

    public func run(_ suite: VectorSuite) -> SuiteResult {
        var notes: [String] = []
        var cases: [CaseResult] = []
        let setup: (LoadedModel, ResolvedCoefficients)
        do {
            let model = try engine.model(suite.model, version: suite.modelVersion)
            let coefficients = try engine.coefficients(for: model, pack: suite.pack)
            setup = (model, coefficients)
            notes = pinNotes(suite, model, coefficients)
        } catch {
            // A configuration error: cases expecting exactly this error pass, the others fail with it.
            let message = "\(error)"
            for c in suite.cases {
                if let e = c.expectError, message.contains(e), c.expect.isEmpty, c.expectTrace.isEmpty {
                    cases.append(result(c, .passed, [], [], 0))
                } else {
                    cases.append(result(c, .failed, ["configuration error: \(message)"], [], 0))
                }
            }
            return SuiteResult(file: suite.file, name: suite.name, model: suite.model, pack: suite.pack, notes: [], cases: cases)
        }
        let (model, base) = setup
        modelsSeen[model.info.id + " " + model.info.version] = model
        packsSeen[model.info.id + "/" + base.packID] = base
        var sharedBinding: BoundModel?
        for c in suite.cases {
            let start = DispatchTime.now().uptimeNanoseconds
            var bound: BoundModel
            do {
                if c.coefficients.isEmpty {
                    if sharedBinding == nil { sharedBinding = try engine.bind(model, base) }
                    bound = sharedBinding!
                } else {
                    var resolved = base
                    for (k, v) in c.coefficients {
                        try resolved.apply(path: k, value: v, origin: .init(layer: .testCase, source: "case \(c.id)", label: c.id))
                    }
                    bound = try engine.bind(model, resolved)
                }
            } catch {
                let message = "\(error)"
                let ok = c.expectError.map { message.contains($0) } ?? false
                cases.append(result(c, ok ? .passed : .failed, ok ? [] : ["configuration error: \(message)"], [], elapsed(start)))
                continue
            }
            let outcome = engine.runtime.evaluate(bound, row: c.input)
            let traces = engine.runtime.traces()
            if collectCoverage {
                keysRead[model.info.id, default: []].formUnion(engine.runtime.takeAccessed())
            }
            if !c.coefficients.isEmpty { engine.runtime.release(bound) }
            var r = check(c, model: model, outcome: outcome, traces: traces, start: start)
            if model.info.replay, c.coefficients.isEmpty, case .ok = outcome {
                let replay = ReplayCheck.run(engine.runtime, bound, input: c.input, categories: model.info.categories)
                replayStats.cases += replay.recorded ? 1 : 0
                replayStats.replays += replay.replays
                if !replay.failures.isEmpty {
                    r = result(c, .failed, r.failures + replay.failures, r.got, elapsed(start))
                }
            }
            cases.append(r)
        }
        if let b = sharedBinding { engine.runtime.release(b) }
        return SuiteResult(file: suite.file, name: suite.name, model: suite.model, pack: suite.pack, notes: notes, cases: cases)
    }

    private func elapsed(_ start: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }

    private func result(_ c: VectorCase, _ s: CaseResult.Status, _ f: [String], _ got: [(String, LuaValue)], _ t: Double) -> CaseResult {
        CaseResult(id: c.id, source: c.source, description: c.description, line: c.line, status: s, failures: f, got: got, seconds: t)
    }

    private func pinNotes(_ suite: VectorSuite, _ model: LoadedModel, _ coefficients: ResolvedCoefficients) -> [String] {
        var moved: [String] = []
        if let pin = suite.modelHash, pin != engine.modelHash(model) { moved.append("logic") }
        if let pin = suite.coefficientsHash, pin != coefficients.pack.hash { moved.append("data") }
        switch moved {
        case ["data"]: return ["coefficients_hash moved (pack \(coefficients.packID) is now \(coefficients.pack.hash)): data changed, logic unchanged"]
        case ["logic"]: return ["model_hash moved (model \(model.info.id) is now \(engine.modelHash(model))): logic changed, data unchanged"]
        case ["logic", "data"]: return ["model_hash and coefficients_hash both moved: logic and data changed"]
        default: return []
        }
    }

    private func check(_ c: VectorCase, model: LoadedModel, outcome: RowOutcome, traces: [(String, LuaValue)], start: UInt64) -> CaseResult {
        var failures: [String] = []
        var got: [(String, LuaValue)] = []
        var outputs: [String: Double] = [:]
        switch outcome {
        case .ok(let total, let values):
            for (k, v) in zip(model.info.categories, values) {
                outputs[k] = v
                got.append((k, .number(v)))
                if collectCoverage, v != 0 { categoriesHit[model.info.id, default: []].insert(k) }
            }
            outputs["total"] = total
            got.append(("total", .number(total)))
            got += traces
            if let e = c.expectError {
                failures.append("expected the row to be rejected with an error containing \"\(e)\", but it was accepted (total \(fmt(total)))")
            }
        case .rejected(let message, _):
            got.append(("error", .string(message)))
            if let e = c.expectError {
                if !message.contains(e) { failures.append("rejected with \"\(message)\", which does not contain \"\(e)\"") }
            } else {
                failures.append("row rejected: \(message)")
            }
        case .failed(let message, let traceback):
            got.append(("error", .string(message)))
            failures.append("model error: \(message)" + (traceback.isEmpty ? "" : "\n      " + traceback.replacingOccurrences(of: "\n", with: "\n      ")))
        }
        if case .ok = outcome {
            let traceMap = Dictionary(traces, uniquingKeysWith: { _, b in b })
            for (key, expected) in c.expect {
                if let v = outputs[key] {
                    compare(key, expected, .number(v), c.tolerance, &failures)
                } else if let t = traceMap[key] {
                    compare(key, expected, t, c.tolerance, &failures)
                } else {
                    failures.append("\(key): expected \(show(expected)), but the model reports no such category or trace")
                }
            }
            for (key, expected) in c.expectTrace {
                if let t = traceMap[key] {
                    compare(key, expected, t, c.tolerance, &failures)
                } else {
                    failures.append("\(key): expected trace \(show(expected)), but nothing was traced under that name")
                }
            }
            for key in c.expectAbsent where outputs[key] != nil {
                failures.append("\(key): must be absent (the framework excludes it) but is reported as \(fmt(outputs[key]!))")
            }
        }
        return result(c, failures.isEmpty ? .passed : .failed, failures, got, elapsed(start))
    }

    private func compare(_ key: String, _ expected: LuaValue, _ got: LuaValue, _ tol: Tolerance, _ failures: inout [String]) {
        if let e = expected.doubleValue {
            guard let g = got.doubleValue else {
                failures.append("\(key): expected \(fmt(e)), got \(show(got))")
                return
            }
            if !tol.accepts(expected: e, got: g) {
                let diff = abs(g - e)
                let rel = e == 0 ? Double.infinity : diff / abs(e)
                failures.append("\(key): expected \(fmt(e)), got \(fmt(g)) (diff \(fmt(diff)), rel \(fmt(rel)); tolerance abs \(fmt(tol.abs)) + rel \(fmt(tol.rel)))")
            }
            return
        }
        if expected != got {
            failures.append("\(key): expected \(show(expected)), got \(show(got))")
        }
    }

    func fmt(_ d: Double) -> String { CanonicalJSON.number(d) == "null" ? "\(d)" : "\(d)" }

    func show(_ v: LuaValue) -> String {
        switch v {
        case .string(let s): return "\"\(s)\""
        case .number(let d): return fmt(d)
        default: return CanonicalJSON.encode(v)
        }
    }

    // MARK: Coverage

    public func coverage() -> CoverageReport {
        var report = CoverageReport()
        for (file, hits) in engine.runtime.lua.coverage().sorted(by: { $0.key < $1.key }) where file.hasSuffix(".lua") && !file.hasPrefix("plume/") {
            let executable = Self.executableLines(file)
            report.files.append(.init(file: file, executable: executable, hit: Set(hits.keys)))
        }
        for (label, model) in modelsSeen.sorted(by: { $0.key < $1.key }) {
            let id = model.info.id
            let resolved = packsSeen.filter { $0.key.hasPrefix(id + "/") }.map(\.value)
            var keys = Set<String>(), entries = Set<String>()
            for r in resolved {
                for e in r.pack.entries {
                    keys.insert(e.key)
                    Self.leaves(e.value, e.key, &entries)
                }
            }
            let read = keysRead[id] ?? []
            report.models.append(.init(model: label, categories: model.info.categories,
                                       categoriesHit: categoriesHit[id] ?? [],
                                       packKeys: keys.sorted(), keysRead: Set(read.compactMap { $0.split(separator: ".").first.map(String.init) }),
                                       entries: entries.sorted(), entriesRead: read.intersection(entries)))
        }
        return report
    }

    static func leaves(_ v: LuaValue, _ path: String, _ out: inout Set<String>) {
        if case .object(let m) = v {
            for (k, x) in m { leaves(x, path + "." + k, &out) }
        } else if path.contains(".") {
            out.insert(path)
        }
    }

    /// Lines that hold code: not blank, not only a comment, not only a closing keyword or bracket.
    static func executableLines(_ file: String) -> [Int] {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return [] }
        var out: [Int] = []
        var inBlockComment = false
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if inBlockComment { if line.contains("]]") { inBlockComment = false }; continue }
            if line.hasPrefix("--[[") || line.hasPrefix("--[=[") { inBlockComment = !line.contains("]]"); continue }
            if line.isEmpty || line.hasPrefix("--") { continue }
            let trivial: Set<String> = ["end", "else", "}", "},", ")", "})", "end)", "end,", "end }", "do", "then", "{", "]]", "end)", "}))"]
            if trivial.contains(line) { continue }
            // Lua attributes a function definition to the line of its `end`, so a header line alone
            // (`local function f(x)`, `compute = function(ctx, c, p)`) never runs by itself.
            if line.hasSuffix(")"), line.hasPrefix("local function ") || line.hasPrefix("function ")
                || line.range(of: #"^[\w\.\[\]"']+\s*=\s*function\s*\([^)]*\)$"#, options: .regularExpression) != nil
                || line.range(of: #"^(local\s+)?[\w\.]+\s*=\s*function\s*\([^)]*\)$"#, options: .regularExpression) != nil { continue }
            out.append(i + 1)
        }
        return out
    }
}
