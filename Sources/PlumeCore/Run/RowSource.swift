import Foundation
import LuaHost

struct InputRecord: Sendable {
    let number: Int
    let record: CSVRecord
    var line: Int { record.line }
    var raw: [UInt8] { record.raw }
    var error: String? { record.error }
}

/// A batch is either whole CSV records still as bytes (the worker parses them; rows are numbered from
/// `firstNumber`) or JSONL lines split by the reader.
struct InputBatch: Sendable {
    let index: Int
    var records: [InputRecord] = []
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

    func nextBatch() -> InputBatch? {
        if format == .csv {
            guard let slice = csv.nextSlice(maxRecords: batchSize) else { return nil }
            defer { number += slice.records; batches += 1 }
            return InputBatch(index: batches, slice: slice, firstNumber: number + 1)
        }
        var records: [InputRecord] = []
        records.reserveCapacity(batchSize)
        var rec = CSVRecord()
        while records.count < batchSize, csv.next(&rec) {
            number += 1
            if format == .jsonl { rec.error = nil; rec.bytes = []; rec.ends = [] }
            records.append(InputRecord(number: number, record: rec))
        }
        if records.isEmpty { return nil }
        defer { batches += 1 }
        return InputBatch(index: batches, records: records, slice: nil)
    }

    func inputHash() -> String? { csv.inputHash() }
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
