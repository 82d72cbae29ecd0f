import Foundation
import XCTest
@testable import PlumeCore

/// `plume run`: reconciliation, bad input of every class, determinism, atomic output, pipes.
final class RunTests: TemporaryDirectoryTestCase {
    let repo = ModelRepository(root: TestPaths.models)

    func run(_ input: String, model: String = "gmsf", threads: Int = 2, batch: Int = 2048,
             format: CampaignRun.OutputFormat = .csv, onError: CampaignRun.OnError = .reject,
             groupBy: [String] = [], summary: Bool = false) throws -> (CampaignRun.Outcome, String, String) {
        var o = CampaignRun.Options(model: model)
        o.input = input
        o.output = dir.appendingPathComponent("out-\(threads)-\(batch).\(format.rawValue)").path
        o.rejects = dir.appendingPathComponent("rejects.csv").path
        o.threads = threads
        o.batchSize = batch
        o.format = format
        o.onError = onError
        o.groupBy = groupBy
        if summary { o.summary = dir.appendingPathComponent("summary.json").path }
        let outcome = try CampaignRun(options: o, repository: repo, grid: GridLookup()).run()
        let out = (try? String(contentsOfFile: o.output, encoding: .utf8)) ?? ""
        let rej = (try? String(contentsOfFile: o.rejects!, encoding: .utf8)) ?? ""
        return (outcome, out, rej)
    }

    func testExampleCampaignReconciles() throws {
        let (o, out, rej) = try run(TestPaths.root.appendingPathComponent("Examples/campaign.csv").path, groupBy: ["channel"], summary: true)
        XCTAssertEqual(o.counts.read, o.counts.written + o.counts.rejected)
        XCTAssertEqual(o.counts.rejected, 2)
        XCTAssertEqual(out.split(separator: "\n").count, o.counts.written + 1)
        XCTAssertEqual(rej.split(separator: "\n").count, o.counts.rejected + 1)
        XCTAssertTrue(out.hasPrefix("id,adSelection.adPlatform,"))
        let summary = try String(contentsOf: dir.appendingPathComponent("summary.json"), encoding: .utf8)
        for key in ["\"model\": {\"id\": \"gmsf\"", "\"pack\": {\"id\": \"gmsf-1.3\", \"hash\": \"sha256:", "\"input\": {\"path\":", "\"rows\": {\"read\": 41, \"written\": 39, \"rejected\": 2", "\"plume_version\""] {
            XCTAssertTrue(summary.contains(key), "summary lacks \(key):\n\(summary)")
        }
        // groups use the model's resolved values: aliases and case variants of a channel share a group
        let keys = o.groups.map(\.key)
        XCTAssertTrue(keys.contains("streaming-video") && keys.contains("digital-audio"), "\(keys)")
        for raw in ["Web", "olv", "audio"] { XCTAssertFalse(keys.contains(raw), "group \(raw) should be merged: \(keys)") }
        // group totals add up to the grand total
        let groupRows = o.groups.reduce(0) { $0 + $1.rows }
        XCTAssertEqual(groupRows, o.counts.written)
        XCTAssertEqual(o.groups.reduce(0.0) { $0 + $1.total }, o.grand.total, accuracy: 1e-9 * o.grand.total)
    }

    func testEveryBadInputClass() throws {
        let header = "id,impressions,channel,country,device_type\n"
        let rows: [(String, String)] = [
            ("good,1000,web,US,pc\n", ""),
            ("nonnum,abc,web,US,pc\n", "impressions"),
            ("neg,-5,web,US,pc\n", "impressions"),
            ("nan,nan,web,US,pc\n", "impressions"),
            ("inf,1e999,web,US,pc\n", "impressions"),
            ("enum,1000,hologram,US,pc\n", "channel"),
            ("country,1000,web,ZZ,pc\n", "country"),
            ("ragged,1000,web\n", "ragged row"),
            ("quote,1000,w\"eb,US,pc\n", "bad quoting"),
            ("utf8,1000,web,US,p\u{FFFD}c\n", "device_type"),
            ("good2,\"2,000\",web,US,pc\n", "impressions"),
            ("good3,2000,web,US,pc\n", ""),
        ]
        var text = header
        for (r, _) in rows { text += r }
        var data = Data(text.utf8)
        // a raw invalid UTF-8 byte in its own row
        data.append(contentsOf: Array("badbyte,1000,web,US,".utf8) + [0xC3, 0x28] + [10])
        let path = dir.appendingPathComponent("bad.csv")
        try data.write(to: path)
        let (o, out, rej) = try run(path.path)
        XCTAssertEqual(o.counts.read, rows.count + 1)
        XCTAssertEqual(o.counts.written, 2)
        XCTAssertEqual(o.counts.read, o.counts.written + o.counts.rejected)
        let lines = rej.split(separator: "\n").dropFirst().map(String.init)
        for (i, (r, fragment)) in rows.enumerated() where !fragment.isEmpty {
            let id = String(r.prefix { $0 != "," })
            guard let line = lines.first(where: { $0.hasPrefix("\(i + 1),") }) else { XCTFail("row \(i + 1) (\(id)) not in rejects"); continue }
            XCTAssertTrue(line.contains(fragment), "row \(id): \(line) lacks \(fragment)")
            XCTAssertTrue(line.contains(id), "the original record is kept: \(line)")
        }
        XCTAssertTrue(lines.contains { $0.hasPrefix("\(rows.count + 1),") && $0.contains("invalid UTF-8") }, rej)
        XCTAssertTrue(out.contains("\ngood,") && out.contains("\ngood3,"))
    }

    func testMissingColumnRejectsEveryRow() throws {
        let (o, _, rej) = try run(try write("m.csv", "id,channel\na,web\nb,app\n"))
        XCTAssertEqual(o.counts.rejected, 2)
        XCTAssertTrue(rej.contains("impressions is required"), rej)
    }

    func testEmptyFileAndHeaderOnly() throws {
        XCTAssertThrowsError(try run(try write("e.csv", ""))) { XCTAssertTrue("\($0)".contains("empty"), "\($0)") }
        let (o, out, _) = try run(try write("h.csv", "id,impressions,channel\n"))
        XCTAssertEqual(o.counts, CampaignRun.Counts())
        XCTAssertEqual(out.split(separator: "\n").count, 1, "header only in, header only out")
    }

    func testBadHeader() throws {
        XCTAssertThrowsError(try run(try write("d.csv", "id,impressions,impressions\n1,2,3\n"))) { XCTAssertTrue("\($0)".contains("appears twice")) }
        XCTAssertThrowsError(try run(try write("p.csv", "id,property,property.total_sessions\n1,2,3\n"))) { XCTAssertTrue("\($0)".contains("prefix")) }
    }

    /// Same input, any thread count and batch size: byte-identical output and totals.
    func testDeterministicAcrossThreads() throws {
        let lines = try String(contentsOf: TestPaths.root.appendingPathComponent("Examples/campaign.csv"), encoding: .utf8)
            .split(separator: "\n").map(String.init)
        var text = lines[0] + "\n"
        for i in 0..<3000 {
            let r = lines[1 + i % (lines.count - 1)]
            let rest = r.split(separator: ",", maxSplits: 2, omittingEmptySubsequences: false)
            text += "r\(i),\(1000 + i * 7),\(rest[2])\n"
        }
        let input = try write("many.csv", text)
        let (o1, out1, rej1) = try run(input, threads: 1, batch: 4096, groupBy: ["country"])
        for (t, b) in [(2, 64), (3, 100), (4, 7)] {
            let (o, out, rej) = try run(input, threads: t, batch: b, groupBy: ["country"])
            XCTAssertEqual(out, out1, "threads \(t), batch \(b)")
            XCTAssertEqual(rej, rej1)
            XCTAssertEqual(o.counts, o1.counts)
            XCTAssertEqual(o.groups.map(\.key), o1.groups.map(\.key))
        }
        // sums can differ in the last bits with other batch sizes, but not with other thread counts
        let (oa, outa, _) = try run(input, threads: 1, batch: 64, groupBy: ["country"])
        let (ob, outb, _) = try run(input, threads: 3, batch: 64, groupBy: ["country"])
        XCTAssertEqual(outa, outb)
        XCTAssertEqual(oa.grand.total, ob.grand.total)
        XCTAssertEqual(oa.groups.map(\.total), ob.groups.map(\.total))
    }

    func testOnErrorFailLeavesNoOutput() throws {
        var text = "id,impressions,channel,country\n"
        for i in 0..<500 { text += "r\(i),\(i + 1),web,US\n" }
        text += "bad,-1,web,US\n"
        for i in 0..<500 { text += "s\(i),\(i + 1),web,US\n" }
        let out = dir.appendingPathComponent("out-1-50.csv")
        try "previous run".write(to: out, atomically: true, encoding: .utf8)
        let (o, written, _) = try run(try write("f.csv", text), threads: 1, batch: 50, onError: .fail)
        XCTAssertNotNil(o.stoppedBy)
        XCTAssertTrue(o.stoppedBy!.contains("row 501"), o.stoppedBy!)
        XCTAssertEqual(written, "previous run", "a failed run never replaces the output")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix(".plume-tmp") }
        XCTAssertEqual(leftovers, [])
    }

    /// Past `syncEvery` bytes the writer syncs behind itself on another thread; what lands is still
    /// every byte in order, and a discarded file leaves nothing behind.
    func testLargeOutputsSyncBehindAndStayWhole() throws {
        let path = dir.appendingPathComponent("large.bin").path
        var expected = [UInt8]()
        let w = try AtomicFile.Writer(path: path)
        for i in 0..<(3 * AtomicFile.Writer.syncEvery / (1 << 20) + 1) {
            let chunk = [UInt8](repeating: UInt8(truncatingIfNeeded: i &* 37 &+ 1), count: 1 << 20)
            try w.write(bytes: chunk)
            expected += chunk
        }
        try w.commit()
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), Data(expected))
        let d = try AtomicFile.Writer(path: dir.appendingPathComponent("dropped.bin").path)
        for _ in 0..<(2 * AtomicFile.Writer.syncEvery / (1 << 20)) { try d.write(bytes: [UInt8](repeating: 7, count: 1 << 20)) }
        d.discard()
        let left = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains("dropped") }
        XCTAssertEqual(left, [])
    }

    func testJSONLInAndOut() throws {
        let input = try write("r.jsonl", """
        {"id": "j1", "impressions": 1000, "channel": "web", "country": "US", "placement": {"ad_platforms": []}}
        {"id": "j2", "impressions": "1000", "channel": "web"}
        not json

        """)
        let (o, out, rej) = try run(input, format: .jsonl)
        XCTAssertEqual(o.counts.read, 3)
        XCTAssertEqual(o.counts.written, 1)
        XCTAssertTrue(out.hasPrefix("{\"id\":\"j1\",\"adSelection.adPlatform\":"), out)
        XCTAssertTrue(rej.contains("invalid JSON"), rej)
        XCTAssertTrue(rej.contains("impressions"), rej)
    }

    /// A JSONL record is a line, whatever quotes it holds (read as CSV, a last field starting `"\""`
    /// stayed quoted past the line end and swallowed the next line); blank lines are not records.
    func testJSONLLinesAreRecords() throws {
        let row = #""impressions": 1000, "channel": "web", "country": "US", "device_type": "pc""#
        let input = try write("q.jsonl", "{\"id\": \"a\", \(row),\"\\\"\":1}\n\n{\"id\": \"b\", \(row)}\r\n\r\n{\"id\": \"c\", \(row)}")
        let (o, out, rej) = try run(input)
        XCTAssertEqual(o.counts.read, 3, rej)
        XCTAssertEqual(o.counts.read, o.counts.written + o.counts.rejected)
        XCTAssertTrue(out.contains("\nb,") && out.contains("\nc,"), out)
        // the first row's odd key is the model's to judge, named by its line
        if o.counts.rejected > 0 { XCTAssertTrue(rej.hasPrefix("row,line,field,reason,record\n1,1,"), rej) }
        XCTAssertEqual(try LuaValueBox.fromFile(input, index: 3).value["id"]?.stringValue, "c")
    }

    /// `plume explain --input FILE --row-index N` takes the Nth data row of a CSV or JSONL file.
    func testExplainTakesTheRowFromAFile() throws {
        let csv = try write("e.csv", "id,impressions,channel\n\nr1,5,web\n\"r,2\",6,web\n")
        XCTAssertEqual(try LuaValueBox.fromFile(csv, index: 2).value["id"]?.stringValue, "r,2")
        XCTAssertEqual(try LuaValueBox.fromFile(csv, index: 1).value["impressions"]?.doubleValue, 5)
        XCTAssertThrowsError(try LuaValueBox.fromFile(csv, index: 3))
        let jsonl = try write("e.jsonl", "\n{\"id\": \"j1\"}\n\n{\"id\": \"j2\"}\n")
        XCTAssertEqual(try LuaValueBox.fromFile(jsonl, index: 2).value["id"]?.stringValue, "j2")
    }

    /// A device or pipe as the output is written in place, never renamed over (that would replace
    /// /dev/null itself for a root user).
    func testOutputToAPipeStaysAPipe() throws {
        let fifo = dir.appendingPathComponent("out.fifo").path
        XCTAssertEqual(mkfifo(fifo, 0o644), 0)
        let reader = Thread {
            if let h = FileHandle(forReadingAtPath: fifo) { _ = h.readDataToEndOfFile() }
        }
        reader.start()
        var o = CampaignRun.Options(model: "gmsf")
        o.input = TestPaths.root.appendingPathComponent("Examples/campaign.csv").path
        o.output = fifo
        o.rejects = dir.appendingPathComponent("r.csv").path
        _ = try CampaignRun(options: o, repository: repo, grid: GridLookup()).run()
        var st = stat()
        XCTAssertEqual(stat(fifo, &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFIFO, "the FIFO must not be replaced by a regular file")
    }

    /// stdin to stdout through the real executable.
    func testPipes() throws {
        let exe = TestPaths.root.appendingPathComponent(".build/debug/plume")
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: exe.path), "plume not built at \(exe.path)")
        let input = TestPaths.root.appendingPathComponent("Examples/campaign.csv")
        let p = Process()
        p.executableURL = exe
        p.currentDirectoryURL = TestPaths.root
        p.arguments = ["run", "--model", "gmsf", "--threads", "2"]
        p.standardInput = try FileHandle(forReadingFrom: input)
        let outPipe = Pipe(), errPipe = Pipe()
        p.standardOutput = outPipe
        p.standardError = errPipe
        try p.run()
        let stdout = outPipe.fileHandleForReading.readDataToEndOfFile()
        let stderr = String(decoding: errPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, stderr)
        let (_, file, _) = try run(input.path)
        XCTAssertEqual(String(decoding: stdout, as: UTF8.self), file)
        XCTAssertTrue(stderr.contains("rows read 41 = written 39 + rejected 2"), stderr)
    }
}
