import BenchSupport
import Foundation
import LuaHost
import XCTest
@testable import PlumeCore

/// `plume run` keys a plain line straight from its bytes, and any other record from its parsed cells;
/// both must give one key, the same numbers and the same hash, or a row would miss (or worse, hit)
/// another row's tape.
final class RowMemoTests: XCTestCase {
    func testLineKeysEqualRecordKeys() {
        let cells = ["", " ", "12", " 12 ", "007", "1.5", "-3", "+4", "1e3", ".5", "5.", "abc", "x y", "12a", "a12",
                     "9999999999999999", "123456789012345", "TRUE", "nan", "1e999", "\t7\t", "0", "00000000000000000001"]
        var rng = SplitMix64(seed: 11)
        let byLine = RowMemo(), byRecord = RowMemo()
        for n in 0..<6000 {
            // short rows of any cells, and long mostly empty rows (runs of empty cells are read a word at a time)
            let columns = n % 2 == 0 ? rng.int(1...9) : rng.int(1...40)
            let row = (0..<columns).map { _ in n % 2 == 0 || rng.int(0...2) == 0 ? rng.pick(cells) : "" }
            let text = Array(row.joined(separator: ",").utf8)
            var record = CSVRecord()
            for cell in row { record.bytes += Array(cell.utf8); record.ends.append(record.bytes.count) }
            let skip = rng.int(0...3) == 0 ? rng.int(0...(columns - 1)) : nil
            let watch = rng.int(0...(columns - 1))
            let fromLine = text.withUnsafeBytes { byLine.build(line: $0, columns: columns, skip: skip, watch: watch) }
            let fromRecord = byRecord.build(record, skip: skip, watch: watch)
            let shown = "\(row) skip \(String(describing: skip))"
            XCTAssertEqual(fromLine, fromRecord, shown)
            XCTAssertNil(text.withUnsafeBytes { byLine.build(line: $0, columns: columns + 1, skip: skip) }, "too few cells: \(shown)")
            guard fromRecord else { continue }
            _ = text.withUnsafeBytes { byLine.build(line: $0, columns: columns, skip: skip, watch: watch) }
            XCTAssertEqual(byLine.key, byRecord.key, shown)
            XCTAssertEqual(byLine.hash, byRecord.hash, shown)
            XCTAssertEqual(byLine.numberColumns, byRecord.numberColumns, shown)
            XCTAssertEqual(Array(UnsafeBufferPointer(start: byLine.inputs, count: byLine.inputCount)).map(\.bitPattern),
                           Array(UnsafeBufferPointer(start: byRecord.inputs, count: byRecord.inputCount)).map(\.bitPattern), shown)
            XCTAssertEqual(byLine.watched.bitPattern, byRecord.watched.bitPattern, shown)
            XCTAssertEqual((0..<columns).map { byLine.lineEnds[$0] }, record.ends.enumerated().map { $0.element + $0.offset },
                           "cell ends: \(shown)")
            if columns > 1 {
                XCTAssertNil(text.withUnsafeBytes { byLine.build(line: $0, columns: columns - 1, skip: nil) }, "too many cells: \(shown)")
            }
        }
    }

    /// x * 2 (one input): total and one category.
    private func tape() -> Tape {
        Tape(op: [3], a: [1], b: [-1], constants: [2], outputs: [2, 2], groups: [], inputs: 1)!
    }

    /// A worker's memo counts the bytes of the tapes it holds alone, and only the key and references for
    /// tapes the run's shared memo holds: counting those twice filled a worker's memo on a 20k-key
    /// campaign and sent later keys to the script.
    /// A JSONL line keyed from its text must give the key, numbers and hash of the row the parser makes
    /// of it (numbers as doubles, `id` taken out), with `impressions` watched and the `id` found; a line
    /// the text reader declines (escapes, non-ASCII, a number id, bad JSON) goes through the parser.
    func testJSONLineKeysEqualParsedKeys() throws {
        let values = ["0", "-0", "12", "-3", "1.5", "1e3", "2E-2", "123456789012345678", "1234567890123456789",
                      "0.1", "1e999", "01", "+4", ".5", "\"\"", "\"x\"", "\"a b\"", "\"12\"", "\"caf\\u00e9\"",
                      "\"é\"", "\"q\\\"\"", "true", "false", "null", "tru", "[]", "[1,\"a\",[2]]", "{}",
                      "{\"id\":7,\"n\":1}", "{\"k\":[true,null,2.5]}"]
        let names = ["impressions", "id", "channel", "n", "a.b", "", "impressions"]
        var rng = SplitMix64(seed: 21)
        let byText = RowMemo(), byParser = RowMemo()
        var read = 0
        for _ in 0..<8000 {
            let members = (0..<rng.int(0...6)).map { _ in
                let name = rng.pick(names)
                let value = name == "id" ? rng.pick(["\"r1\"", "\"a,b\"", "\" x \"", "5", "\"\""]) : rng.pick(values)
                return rng.pick(["", " "]) + "\"\(name)\"" + rng.pick([":", " : "]) + value
            }
            let line = rng.int(0...20) == 0 ? "[1]" : "{" + members.joined(separator: ",") + rng.pick(["}", " } ", "}x"])
            let fromText = line.utf8CString.withUnsafeBytes { byText.build(jsonLine: UnsafeRawBufferPointer(rebasing: $0.dropLast())) }
            guard let fromText else { continue }
            read += 1
            let row = try JSONValue.parse(line)
            let fromParser = byParser.build(json: ReplayCheck.floats(row.removing(key: "id")))
            XCTAssertEqual(fromText, fromParser, line)
            XCTAssertEqual(byText.key, byParser.key, line)
            XCTAssertEqual(byText.hash, byParser.hash, line)
            let a = (0..<byText.inputCount).map { byText.inputs[$0].bitPattern }
            let b = (0..<byParser.inputCount).map { byParser.inputs[$0].bitPattern }
            XCTAssertEqual(a, b, line)
            var leaves: [[LuaValue]] = [], numbers: [Double] = []
            ReplayCheck.numbers(ReplayCheck.floats(row.removing(key: "id")), path: [], &leaves, &numbers)
            XCTAssertEqual(numbers.map(\.bitPattern), a, "inputs in the order of the recorded paths: \(line)")
            XCTAssertEqual(byText.watched.bitPattern, (row["impressions"]?.doubleValue ?? 0).bitPattern, line)
            let id = byText.jsonID.map { String(decoding: Array(line.utf8)[$0], as: UTF8.self) }
            XCTAssertEqual(id, row["id"]?.stringValue, line)
        }
        XCTAssertGreaterThan(read, 1500)
    }

    func testSharedTapesCountOnlyTheirReferences() {
        let t = tape()
        let budget = 64 << 10
        let own = RowMemo(budgetBytes: budget), held = RowMemo(budgetBytes: budget)
        var ownKept = 0
        for i in 0..<400 {
            let line = Array("k\(i),5".utf8)
            for memo in [own, held] { _ = line.withUnsafeBytes { memo.build(line: $0, columns: 2, skip: nil) } }
            if own.insert(.tapes([t]), hash: own.hash, key: own.key) { ownKept += 1 }
            XCTAssertTrue(held.insert(.tapes([t]), hash: held.hash, key: held.key, shared: true), "key \(i)")
        }
        XCTAssertTrue(own.full)
        XCTAssertFalse(held.full)
        XCTAssertLessThan(ownKept, 400)
        XCTAssertGreaterThan(ownKept, budget / (t.footprint + 200))
        // the shared memo hands back what it holds, so a worker that recorded a key another worker
        // had stored keeps that one
        let shared = SharedTapes()
        let other = tape()
        _ = Array("a,1".utf8).withUnsafeBytes { own.build(line: $0, columns: 2, skip: nil) }
        guard case .tapes(let first)? = shared.insert(.tapes([t]), hash: own.hash, key: own.key),
              case .tapes(let second)? = shared.insert(.tapes([other]), hash: own.hash, key: own.key) else {
            return XCTFail("the shared memo refused a key")
        }
        XCTAssertTrue(first[0] === t)
        XCTAssertTrue(second[0] === t)
        XCTAssertEqual(t.run([3]), [6, 6])
    }
}
