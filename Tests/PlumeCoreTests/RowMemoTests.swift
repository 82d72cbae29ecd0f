import BenchSupport
import Foundation
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
