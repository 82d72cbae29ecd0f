import BenchSupport
import Foundation
import LuaHost
import XCTest
@testable import PlumeCore

/// Replay (Docs/DSL.md): a tape replayed on a row's numbers gives the bits the script gives, every row
/// the tape cannot hold runs the script, and a model that breaks the contract is caught by the spot check.
final class ReplayTests: TemporaryDirectoryTestCase {
    let fixtures = ModelRepository(root: CoreFixture.url("replay/Models"))

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
            // quoted cells and CRLF lines take the record path, plain lines the byte path: same keys
            let kind = rng.pick(["", "x", "y", " Y ", "\"y\"", "\"x,\"\"\""])
            csv += "r\(i),\(n),\(views),\(slots),\(kind)" + rng.pick(["\n", "\r\n"])
        }
        let replayed = try assertSameAsScript(try write("guarded.csv", csv), model: "guarded", repo: fixtures)
        // 16 keys whose guards go both ways on these values: up to four paths (tapes) per key serve
        // about 1140 rows; one tape per key served about 350
        XCTAssertGreaterThan(replayed, 900)
    }

    /// JSONL rows replay too, keyed by their whole structure: the guards both ways, with each number
    /// written as an integer in some rows and as a float in others (a replayed run gives a model doubles).
    func testJSONLGuardsSendRowsBackToTheScript() throws {
        let values = ["0", "1", "999.5", "1000", "1000.0", "1000.0000001", "1001", "2e9", "7", "123456789", "5e-324", "-0", "1e999"]
        var rng = SplitMix64(seed: 8)
        var jsonl = ""
        for i in 1...2000 {
            var fields = ["\"id\":\"r\(i)\"", "\"impressions\":\(rng.pick(values))"]
            if let v = rng.pick([nil, "0", "3", "1500", "1500.0", "null"]) { fields.append("\"views\":\(v)") }
            if let v = rng.pick([nil, "2", "3", "2.5"]) { fields.append("\"slots\":\(v)") }
            if let v = rng.pick([nil, "\"x\"", "\"y\"", "\" Y \"", "\"\"", "\"12\"", "true"]) { fields.append("\"kind\":\(v)") }
            jsonl += "{" + fields.joined(separator: ",") + "}\n"
        }
        let replayed = try assertSameAsScript(try write("guarded.jsonl", jsonl), model: "guarded", repo: fixtures)
        // most rows are rejected (kind "12", true or "", slots 2.5, views above twice the impressions) and
        // a rejected row always runs the script; about 300 of the rest replay
        XCTAssertGreaterThan(replayed, 250)
    }

    /// The generated campaign as JSON objects (nested where the columns are dotted), with rows only JSON
    /// can write (lists, nulls, a number as a string, an empty object, a number id) repeated among them,
    /// through the scope3 family: the script's bytes, and most rows replayed.
    func testJSONLCampaignsReplayLikeTheScript() throws {
        let repo = ModelRepository(root: TestPaths.models)
        let csv = dir.appendingPathComponent("repeated.csv").path
        try DeliveryGenerator.writeCSV(rows: 3000, seed: 11, profiles: 150, to: csv)
        let fd = open(csv, O_RDONLY)
        defer { close(fd) }
        let reader = CSVReader(fd: fd)
        var rec = CSVRecord()
        XCTAssertTrue(reader.next(&rec))
        let shape = try CSVRowShape(header: rec.fields.map { String(decoding: $0, as: UTF8.self) })
        let odd = [
            #"{"id":"o1","impressions":1000,"channel":"web","country":"FR","device_type":"pc","tags":[1,2.5,{"a":3}]}"#,
            #"{"id":"o2","impressions":1000.0,"channel":"web","country":"FR","device_type":"pc","ad_format":null}"#,
            #"{"id":"o3","impressions":"1000","channel":"web","country":"FR","device_type":"pc"}"#,
            #"{"id":4,"impressions":250,"channel":"web","country":"FR","device_type":"pc","ad_format":{}}"#,
            #"{"id":"o5","impressions":1e999,"channel":"web","country":"FR","device_type":"pc"}"#,
        ]
        var jsonl = "", n = 0
        while reader.next(&rec) {
            jsonl += CanonicalJSON.encode(try shape.row(rec)) + "\n"
            n += 1
            if n % 97 == 0 { jsonl += odd[(n / 97) % odd.count] + "\n" }
        }
        let path = try write("repeated.jsonl", jsonl)
        for model in ["gmsf", "scope3", "scope3-consumer-device"] {
            XCTAssertGreaterThan(try assertSameAsScript(path, model: model, repo: repo), 2500, model)
        }
    }

    /// Replayed plain lines write their id from the input bytes when it is plain text; every other id
    /// (a number, a boolean, spaces around, non-ASCII, none) must print as the script path prints it.
    func testIDsPrintAlikeOnEveryPath() throws {
        let ids = ["r1", "1.50", "007", "TRUE", "False", " r2 ", "a b", "é", "x\ty", "truex", "-3", "", "1e3"]
        var rng = SplitMix64(seed: 5)
        var csv = "id,impressions,views,slots,kind\n", bare = "impressions,views,slots,kind\n"
        for _ in 1...600 {
            let rest = "\(rng.pick(["1", "7", "1000"])),3,2,x\n"
            csv += "\(rng.pick(ids)),\(rest)"
            bare += rest
        }
        XCTAssertGreaterThan(try assertSameAsScript(try write("ids.csv", csv), model: "guarded", repo: fixtures), 300)
        XCTAssertGreaterThan(try assertSameAsScript(try write("bare.csv", bare), model: "guarded", repo: fixtures), 300)
        let (out, _, _, _) = try run(try write("ids2.csv", csv), model: "guarded", repo: fixtures, replay: true)
        let printed = Set(out.split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false)[0] })
        for id in ["r1", "1.5", "7", "true", "false", "r2", "a b", "é", "x\ty", "truex", "-3", "1000"] {
            XCTAssertTrue(printed.contains(Substring(id)), "\(id) in \(printed.sorted())")
        }
    }

    func testScriptOnlyUsesOfNumbersFallBack() throws {
        var csv = "id,impressions,mode\n"
        for i in 1...400 { csv += "\(i),\(i * 37 % 1000),\(["", "floor", "text", "mod", "pcall"][i % 5])\n" }
        let replayed = try assertSameAsScript(try write("escapes.csv", csv), model: "escapes", repo: fixtures)
        // only the 80 rows without a mode (one key) can replay, less the one or two that recorded it
        XCTAssertTrue((78...79).contains(replayed), "\(replayed)")
    }

    /// `sneaky` compares a number with `==`, `keyed` looks one up as a table key: neither is visible to
    /// the recorder, and the run's spot check reports the row where the tape goes wrong.
    func testSpotCheckCatchesAModelThatBreaksTheContract() throws {
        var csv = "id,impressions\n"
        for i in 1...BatchWorker.verifyEvery { csv += "\(i),\(i)\n" }
        let input = try write("sneaky.csv", csv)
        for model in ["sneaky", "keyed"] {
            let (plain, _, _, _) = try run(input, model: model, repo: fixtures, replay: false)
            XCTAssertTrue(plain.hasSuffix("\n\(BatchWorker.verifyEvery),1,1\n"), "\(model): \(plain.suffix(40))")
            let (_, rejects, counts, _) = try run(input, model: model, repo: fixtures, replay: true)
            XCTAssertEqual(counts.modelErrors, 1, model)
            XCTAssertTrue(rejects.contains("replay check: total replayed 512 but the script gives 1"), "\(model): \(rejects)")
            XCTAssertTrue(rejects.contains("--no-replay"), rejects)
        }
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

    /// `plume test` checks the contract on every case of a replay model: the shipped models pass it, and
    /// a model that breaks it fails its own vector.
    func testVectorCasesReplayLikeTheScript() throws {
        let repo = ModelRepository(root: TestPaths.models)
        let runner = VectorRunner(engine: try Engine(repository: repo, grid: GridLookup()))
        var failed: [String] = []
        for url in VectorSuite.files(in: repo.modelIDs().map { repo.folder(of: $0).appendingPathComponent("vectors").path }) {
            let r = runner.run(try VectorSuite(url: url))
            failed += r.cases.filter { $0.status == .failed }.map { "\(r.file) \($0.id): \($0.failures)" }
        }
        XCTAssertEqual(failed, [])
        print("replay contract on the shipped vectors: \(runner.replayStats.cases) cases recorded, \(runner.replayStats.replays) replays compared")
        XCTAssertGreaterThan(runner.replayStats.cases, 250, "replay models' vector cases went missing")
        XCTAssertGreaterThan(runner.replayStats.replays, 1500)

        for model in ["sneaky", "keyed"] {
            let broken = VectorRunner(engine: try Engine(repository: fixtures, grid: GridLookup()))
            let r = broken.run(try VectorSuite(url: CoreFixture.url("replay/Models/\(model)/vectors/\(model).yaml")))
            XCTAssertEqual(r.failed, 1, model)
            let message = r.cases.first { $0.status == .failed }?.failures.joined() ?? ""
            XCTAssertTrue(message.contains("with the numbers [4096] the tape gives total = 512 but the script gives 1"), "\(model): \(message)")
            XCTAssertEqual(r.passed, 1, "\(model): a case away from the hidden value replays correctly")
        }
    }
}
