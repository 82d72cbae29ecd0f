import BenchSupport
import Foundation
import LuaHost
import XCTest
@testable import PlumeCore

/// Replay (Docs/DSL.md): a tape replayed on a row's numbers gives the bits the script gives, every row
/// the tape cannot hold runs the script, and a model that breaks the contract is caught by the spot check.
final class ReplayTests: XCTestCase {
    var dir: URL!
    let fixtures = ModelRepository(root: CoreFixture.url("replay/Models"))

    override func setUpWithError() throws { dir = try TestPaths.temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func write(_ name: String, _ text: String) throws -> String {
        let url = dir.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    /// Output, rejects and counts of one run.
    func run(_ input: String, model: String, pack: String? = nil, repo: ModelRepository, replay: Bool, threads: Int = 1) throws -> (String, String, CampaignRun.Counts, CampaignRun.ReplayStats) {
        var o = CampaignRun.Options(model: model)
        o.pack = pack
        o.input = input
        let tag = "\(model)-\(replay)-\(threads)"
        o.output = dir.appendingPathComponent("out-\(tag).csv").path
        o.rejects = dir.appendingPathComponent("rejects-\(tag).csv").path
        o.threads = threads
        o.batchSize = 256
        o.replay = replay
        let outcome = try CampaignRun(options: o, repository: repo, grid: GridLookup()).run()
        return (try String(contentsOfFile: o.output, encoding: .utf8), try String(contentsOfFile: o.rejects!, encoding: .utf8), outcome.counts, outcome.replay)
    }

    /// Replayed and scripted runs write the same bytes, for 1 and 2 threads; returns the replayed count.
    @discardableResult
    func assertSameAsScript(_ input: String, model: String, pack: String? = nil, repo: ModelRepository, file: StaticString = #filePath, line: UInt = #line) throws -> Int {
        let (plain, plainRejects, plainCounts, plainReplay) = try run(input, model: model, pack: pack, repo: repo, replay: false)
        XCTAssertEqual(plainReplay.replayed, 0, file: file, line: line)
        var replayed = 0
        for threads in [1, 2] {
            let (out, rejects, counts, stats) = try run(input, model: model, pack: pack, repo: repo, replay: true, threads: threads)
            XCTAssertEqual(counts, plainCounts, file: file, line: line)
            XCTAssertEqual(out, plain, "\(model), \(threads) threads: replayed output differs from the script's", file: file, line: line)
            XCTAssertEqual(rejects, plainRejects, "\(model), \(threads) threads: rejects differ", file: file, line: line)
            XCTAssertEqual(counts.modelErrors, 0, file: file, line: line)
            replayed = stats.replayed
        }
        return replayed
    }

    func testGuardsSendRowsBackToTheScript() throws {
        var csv = "id,impressions,views,slots,kind\n"
        let values = ["0", "1", "999.5", "1000", "1000.0000001", "1001", "2e9", "7", "123456789", "5e-324", "-0"]
        var rng = SplitMix64(seed: 7)
        for i in 1...3000 {
            let n = rng.pick(values)
            let views = rng.pick(["", "0", "3", "1500", n])
            let slots = rng.pick(["", "2", "3", "2.5"])          // 2.5 fails the integer check: a reject
            let kind = rng.pick(["", "x", "y", " Y "])
            csv += "r\(i),\(n),\(views),\(slots),\(kind)\n"
        }
        let replayed = try assertSameAsScript(try write("guarded.csv", csv), model: "guarded", repo: fixtures)
        // 16 keys, but the guards go both ways on these values: a tape serves only rows on its own path
        XCTAssertGreaterThan(replayed, 200)
    }

    func testScriptOnlyUsesOfNumbersFallBack() throws {
        var csv = "id,impressions,mode\n"
        for i in 1...400 { csv += "\(i),\(i * 37 % 1000),\(["", "floor", "text", "mod", "pcall"][i % 5])\n" }
        let replayed = try assertSameAsScript(try write("escapes.csv", csv), model: "escapes", repo: fixtures)
        XCTAssertEqual(replayed, 80, "only the rows without a mode (one in five) can replay")
    }

    func testSpotCheckCatchesAModelThatBreaksTheContract() throws {
        var csv = "id,impressions\n"
        for i in 1...BatchWorker.verifyEvery { csv += "\(i),\(i)\n" }
        let input = try write("sneaky.csv", csv)
        let (plain, _, _, _) = try run(input, model: "sneaky", repo: fixtures, replay: false)
        XCTAssertTrue(plain.hasSuffix("\n\(BatchWorker.verifyEvery),1,1\n"), String(plain.suffix(40)))
        let (_, rejects, counts, _) = try run(input, model: "sneaky", repo: fixtures, replay: true)
        XCTAssertEqual(counts.modelErrors, 1)
        XCTAssertTrue(rejects.contains("replay check: total replayed 512 but the script gives 1"), rejects)
        XCTAssertTrue(rejects.contains("--no-replay"), rejects)
    }

    func testACopyOfTypeIsALoadError() throws {
        let engine = try Engine(repository: fixtures, grid: GridLookup())
        XCTAssertThrowsError(try engine.model("copies", version: nil)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("copies/model.lua:2:"), message)
            XCTAssertTrue(message.contains("replay model calls type, tonumber"), message)
        }
    }

    func testExampleCampaignThroughEveryFramework() throws {
        let repo = ModelRepository(root: TestPaths.models)
        let campaign = TestPaths.root.appendingPathComponent("Examples/campaign.csv").path
        for model in ["gmsf", "scope3", "sri", "wfa-anz", "swd"] {
            XCTAssertTrue(try Engine(repository: repo, grid: GridLookup()).model(model, version: nil).info.replay, model)
            try assertSameAsScript(campaign, model: model, repo: repo)
        }
    }

    /// Generated delivery rows (repeated deliveries and fresh ones) through every replay model of the
    /// scope3 family, and through the pack with the power model.
    func testScope3FamilyOnGeneratedCampaigns() throws {
        let repo = ModelRepository(root: TestPaths.models)
        let repeated = dir.appendingPathComponent("repeated.csv").path
        let fresh = dir.appendingPathComponent("fresh.csv").path
        try DeliveryGenerator.writeCSV(rows: 3000, seed: 11, profiles: 150, to: repeated)
        try DeliveryGenerator.writeCSV(rows: 1500, seed: 12, to: fresh)
        for model in ["gmsf", "scope3", "scope3-consumer-device"] {
            let replayed = try assertSameAsScript(repeated, model: model, repo: repo)
            XCTAssertGreaterThan(replayed, 2500, model)
            try assertSameAsScript(fresh, model: model, repo: repo)
        }
        XCTAssertGreaterThan(try assertSameAsScript(repeated, model: "scope3", pack: "may-2024", repo: repo), 2500)
    }

    /// Every vector case of every replay model: record the case, then replay the tape on changed numbers
    /// and compare with the script on the same numbers, bit for bit (a guard that fails skips a variant).
    /// A model comparing a number with `==` or using one outside arithmetic shows up here.
    func testVectorCasesReplayLikeTheScript() throws {
        let repo = ModelRepository(root: TestPaths.models)
        let engine = try Engine(repository: repo, grid: GridLookup())
        let runtime = engine.runtime
        var cases = 0, replays = 0
        for url in VectorSuite.files(in: repo.modelIDs().map { repo.folder(of: $0).appendingPathComponent("vectors").path }) {
            let suite = try VectorSuite(url: url)
            let model = try engine.model(suite.model, version: suite.modelVersion)
            guard model.info.replay else { continue }
            let bound = try engine.bind(model, try engine.coefficients(for: model, pack: suite.pack))
            for c in suite.cases where c.coefficients.isEmpty {
                let row = Self.floats(c.input)           // CSV rows hold doubles; so do tapes
                var leaves: [[LuaValue]] = [], values: [Double] = []
                Self.numbers(row, path: [], &leaves, &values)
                let paths = runtime.pathList(leaves)
                defer { runtime.lua.release(paths) }
                let recorded = try runtime.record(bound, paths: paths, numberColumns: (0..<leaves.count).map { Int32($0) },
                                                  pushRow: { runtime.lua.push(row) })
                guard case .tape(let tape) = recorded else { continue }
                cases += 1
                for variant in Self.variants(values) {
                    var total = 0.0, got: [Double] = [], slots: [Double] = []
                    guard variant.withUnsafeBufferPointer({ tape.run($0, slots: &slots, total: &total, values: &got) }) else { continue }
                    let changed = Self.replacing(row, leaves: leaves, with: variant)
                    guard case .ok(let t2, let v2) = runtime.evaluate(bound, row: changed) else {
                        XCTFail("\(suite.file) \(c.id): the tape replays \(variant) but the script does not evaluate it")
                        continue
                    }
                    XCTAssertEqual(([total] + got).map(\.bitPattern), ([t2] + v2).map(\.bitPattern),
                                   "\(suite.file) \(c.id) with numbers \(variant): replay \([total] + got), script \([t2] + v2)")
                    replays += 1
                }
            }
        }
        print("replay vs script on vector cases: \(cases) cases recorded, \(replays) variants replayed")
        XCTAssertGreaterThan(cases, 100, "replay models' vector cases went missing")
        XCTAssertGreaterThan(replays, 500)
    }

    static func floats(_ v: LuaValue) -> LuaValue {
        switch v {
        case .integer(let i): return .number(Double(i))
        case .array(let a): return .array(a.map(floats))
        case .object(let o): return .object(o.map { ($0.0, floats($0.1)) })
        default: return v
        }
    }

    static func numbers(_ v: LuaValue, path: [LuaValue], _ leaves: inout [[LuaValue]], _ values: inout [Double]) {
        switch v {
        case .number(let d): leaves.append(path); values.append(d)
        case .array(let a): for (i, x) in a.enumerated() { numbers(x, path: path + [.integer(Int64(i + 1))], &leaves, &values) }
        case .object(let o): for (k, x) in o { numbers(x, path: path + [.string(k)], &leaves, &values) }
        default: break
        }
    }

    static func replacing(_ v: LuaValue, leaves: [[LuaValue]], with values: [Double]) -> LuaValue {
        var out = v
        for (path, d) in zip(leaves, values) { out = set(out, path[...], .number(d)) }
        return out
    }

    static func set(_ v: LuaValue, _ path: ArraySlice<LuaValue>, _ new: LuaValue) -> LuaValue {
        guard let head = path.first else { return new }
        switch (v, head) {
        case (.array(var a), .integer(let i)): a[Int(i) - 1] = set(a[Int(i) - 1], path.dropFirst(), new); return .array(a)
        case (.object(var o), .string(let k)):
            if let j = o.firstIndex(where: { $0.0 == k }) { o[j].1 = set(o[j].1, path.dropFirst(), new) }
            return .object(o)
        default: return v
        }
    }

    /// The case's own numbers (a recording must reproduce its own row), all doubled, halved, tripled; and
    /// each of the first three alone plus one, and set to zero.
    static func variants(_ values: [Double]) -> [[Double]] {
        var out = [values, values.map { $0 * 2 }, values.map { $0 * 0.5 }, values.map { $0 * 3 }]
        for i in values.indices.prefix(3) {
            var plus = values; plus[i] += 1; out.append(plus)
            var zero = values; zero[i] = 0; out.append(zero)
        }
        return out
    }
}
