import Foundation
import LuaHost

struct InputRecord: Sendable {
    let number: Int
    let record: CSVRecord
    var line: Int { record.line }
    var raw: [UInt8] { record.raw }
    var error: String? { record.error }
}

/// A batch: whole CSV records or JSONL lines still as bytes (the worker splits and parses them; rows are
/// numbered from `firstNumber`).
struct InputBatch: Sendable {
    let index: Int
    var slice: CSVSlice?
    var firstNumber = 1
}

/// Splits the input into numbered records, in batches; typing and model work happen in the workers.
final class RowSource {
    let format: CampaignRun.InputFormat
    let batchSize: Int
    private let csv: CSVReader
    private(set) var shape: CSVRowShape?
    private var number = 0
    private var batches = 0
    private(set) var fatalError: String?

    init(fd: Int32, format: CampaignRun.InputFormat, hashing: Bool, batchSize: Int) {
        self.format = format
        self.batchSize = batchSize
        csv = CSVReader(fd: fd, hashing: hashing)
    }

    func readHeader() throws {
        guard format == .csv else { return }
        var rec = CSVRecord()
        guard csv.next(&rec) else { throw PlumeError.config("input is empty: a CSV campaign file starts with a header row") }
        if let e = rec.error { throw PlumeError.config("CSV header (line \(rec.line)): \(e)") }
        let names = try rec.fields.enumerated().map { (i, f) -> String in
            guard let s = String(validating: f, as: UTF8.self) else { throw PlumeError.config("CSV header: column \(i + 1) is not valid UTF-8") }
            return s.trimmingCharacters(in: CharacterSet(charactersIn: " \t\r\n\u{0B}\u{0C}"))
        }
        shape = try CSVRowShape(header: names)
    }

    /// The next records as bytes for a worker to split: CSV records, or JSONL lines.
    func nextBatch() -> InputBatch? {
        let slice = format == .csv ? csv.nextSlice(maxRecords: batchSize) : csv.nextLines(maxRecords: batchSize)
        guard let slice else { return nil }
        defer { number += slice.records; batches += 1 }
        return InputBatch(index: batches, slice: slice, firstNumber: number + 1)
    }

    /// The next record alone (blank lines skipped), numbered: a file read one row at a time.
    func nextRecord() -> InputRecord? {
        while let slice = format == .csv ? csv.nextSlice(maxRecords: 1) : csv.nextLines(maxRecords: 1) {
            guard slice.records == 1 else { continue }
            number += 1
            if format == .csv {
                var reader = CSVSliceReader(slice: slice)
                var rec = CSVRecord()
                return reader.next(&rec) ? InputRecord(number: number, record: rec) : nil
            }
            var found: InputRecord?
            JSONLines.forEach(slice) { line, lineNumber in
                var rec = CSVRecord()
                rec.line = lineNumber
                rec.raw = Array(line)
                found = InputRecord(number: number, record: rec)
            }
            return found
        }
        return nil
    }

    func inputHash() -> String? { csv.inputHash() }
}

/// Splitting a slice of JSONL lines: each line's content is its bytes without the line break and the
/// carriage returns before it; a line of nothing else is blank (not a record).
enum JSONLines {
    /// Calls `body` with each line's content (a blank line skipped) and its line number.
    static func forEach(_ slice: CSVSlice, _ body: (UnsafeRawBufferPointer, Int) -> Void) {
        slice.bytes.withUnsafeBytes { b in
            var pos = 0, line = slice.firstLine
            while pos < b.count {
                var next = b.count, e = b.count
                if let nl = memchr(b.baseAddress! + pos, 10, b.count - pos) {
                    e = b.baseAddress!.distance(to: UnsafeRawPointer(nl))
                    next = e + 1
                }
                while e > pos, b[e - 1] == 13 { e -= 1 }
                if e > pos { body(UnsafeRawBufferPointer(rebasing: b[pos..<e]), line) }
                line += 1
                pos = next
            }
        }
    }
}

/// Where output goes: a file written atomically, or standard output.
final class OutputSink {
    private let file: AtomicFile.Writer?
    private var done = false

    private let fd: Int32

    /// `-` is standard output; `-2` standard error (rejects when no file is named, so none are lost).
    init(path: String) throws {
        fd = path == "-2" ? 2 : 1
        file = (path == "-" || path == "-2") ? nil : try AtomicFile.Writer(path: path)
    }

    func write(_ bytes: [UInt8]) throws {
        if let file { try file.write(bytes: bytes) } else {
            bytes.withUnsafeBytes { b in
                var off = 0
                while off < b.count {
                    let n = Foundation.write(fd, b.baseAddress! + off, b.count - off)
                    if n <= 0 { break }
                    off += n
                }
            }
        }
    }

    func commit() throws {
        try file?.commit()
        done = true
    }

    func discardIfOpen() { if !done { file?.discard() } }
}
