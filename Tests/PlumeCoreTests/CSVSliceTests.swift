import BenchSupport
import Foundation
import XCTest
@testable import PlumeCore

/// `plume run` cuts the input into slices of whole records on the main thread and parses them in the
/// workers; how the stream is cut (one record at a time, as `next` does, or many) must never change a
/// record, its line number or its error.
final class CSVSliceTests: XCTestCase {
    struct Seen: Equatable {
        let line: Int, bytes: [UInt8], ends: [Int], raw: [UInt8], error: String?
    }

    func records(_ reader: CSVReader) -> [Seen] {
        var out: [Seen] = []
        var rec = CSVRecord()
        while reader.next(&rec) { out.append(Seen(line: rec.line, bytes: rec.bytes, ends: rec.ends, raw: rec.raw, error: rec.error)) }
        return out
    }

    func records(_ slice: CSVSlice) -> [Seen] {
        var reader = CSVSliceReader(slice: slice)
        var out: [Seen] = []
        var rec = CSVRecord()
        while reader.next(&rec) { out.append(Seen(line: rec.line, bytes: rec.bytes, ends: rec.ends, raw: rec.raw, error: rec.error)) }
        return out
    }

    func reader(_ bytes: [UInt8]) throws -> CSVReader {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("slice-\(UUID().uuidString).csv")
        try Data(bytes).write(to: url)
        let fd = open(url.path, O_RDONLY)
        XCTAssertGreaterThanOrEqual(fd, 0)
        try? FileManager.default.removeItem(at: url)   // the open descriptor keeps the data
        return CSVReader(fd: fd)
    }

    func sliced(_ bytes: [UInt8], maxRecords: Int) throws -> (records: [Seen], counted: Int) {
        let whole = try reader(bytes)
        var out: [Seen] = []
        var counted = 0
        while let slice = whole.nextSlice(maxRecords: maxRecords) {
            XCTAssertLessThanOrEqual(slice.records, maxRecords)
            let part = records(slice)
            XCTAssertEqual(part.count, slice.records, "a slice counts its records as its reader reads them")
            counted += slice.records
            out += part
        }
        return (out, counted)
    }

    func testRandomInputsSliceLikeTheWholeStream() throws {
        let alphabet: [UInt8] = Array("a,\"\n\r \t".utf8) + [0xC3, 0x28]
        var rng = SplitMix64(seed: 3)
        for _ in 0..<600 {
            let bytes = (0..<rng.int(0...60)).map { _ in rng.pick(alphabet) }
            let expected = records(try reader(bytes))
            for size in [1, 2, 3, 7] {
                let (got, counted) = try sliced(bytes, maxRecords: size)
                XCTAssertEqual(got, expected, "input \(String(decoding: bytes, as: UTF8.self).debugDescription), slices of \(size)")
                XCTAssertEqual(counted, expected.count)
            }
        }
    }

    func testQuotedNewlinesAndBlankLines() throws {
        let text = "id,note\n\n1,\"two\nlines\"\r\n\r\n2, \"a \"\"q\"\"\" \n3,\"open\n"
        let expected = records(try reader(Array(text.utf8)))
        XCTAssertEqual(expected.map(\.line), [1, 3, 6, 7])
        XCTAssertEqual(try sliced(Array(text.utf8), maxRecords: 1).records, expected)
    }

    /// A file much larger than the reader's 1 MB buffer, so slices cross refills.
    func testGeneratedFileAcrossBufferRefills() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("slice-big-\(UUID().uuidString).csv").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try DeliveryGenerator.writeCSV(rows: 40_000, seed: 5, to: path)
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        let expected = records(try reader(bytes))
        XCTAssertEqual(expected.count, 40_001)
        XCTAssertEqual(try sliced(bytes, maxRecords: 2048).records, expected)
    }

    /// Cells typed as numbers take a fast path for short decimals; it must give strtod's double.
    func testShortDecimalsParseLikeStrtod() {
        var rng = SplitMix64(seed: 9)
        for _ in 0..<200_000 {
            let digits = (0..<rng.int(1...15)).map { _ in Character(String(rng.below(10))) }
            var text = String(digits)
            let dot = rng.int(0...digits.count)
            text.insert(".", at: text.index(text.startIndex, offsetBy: dot))
            if rng.chance(0.3) { text = (rng.chance(0.5) ? "-" : "+") + text }
            if text.hasSuffix(".") && dot == 0 { continue }
            var copy = text
            let fast = copy.withUTF8 { CellTyper.number(UnsafeRawBufferPointer($0)) }
            let slow = strtod(text, nil)
            XCTAssertEqual(fast?.bitPattern, slow.bitPattern, text)
            if fast?.bitPattern != slow.bitPattern { return }
        }
    }
}
