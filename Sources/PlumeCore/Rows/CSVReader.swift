import Foundation
import LuaHost

/// One CSV record: unquoted field bytes back to back (`ends[i]` is where field i stops), the original
/// text (for rejects) and its first line number. Flat storage keeps a row to three allocations.
public struct CSVRecord: Sendable {
    public var bytes: [UInt8] = []
    public var ends: [Int] = []
    public var raw: [UInt8] = []
    public var line: Int = 0
    /// A problem of the record itself (bad quoting); the row is rejected with it.
    public var error: String?

    public init() {}

    public var count: Int { ends.count }

    public func field(_ i: Int) -> ArraySlice<UInt8> { bytes[(i == 0 ? 0 : ends[i - 1])..<ends[i]] }

    public var fields: [[UInt8]] { (0..<count).map { Array(field($0)) } }
}

/// Whole CSV records cut from a stream, for a worker to parse.
public struct CSVSlice: Sendable {
    public let bytes: [UInt8]
    /// Records in `bytes`, blank lines not counted.
    public let records: Int
    /// Line number of the first byte.
    public let firstLine: Int
}

/// A streaming RFC 4180 reader over a file descriptor: constant memory however long the file.
public final class CSVReader {
    private let fd: Int32
    private var buffer: [UInt8]
    private var start = 0
    private var end = 0
    private var eof = false
    private var line = 1
    private var lastSliceBytes = 0
    private let chunk = 1 << 20
    /// When set, every byte read is hashed (for the run summary's input hash).
    var hasher: SHA256.Hasher?

    public init(fd: Int32, hashing: Bool = false) {
        self.fd = fd
        buffer = [UInt8](repeating: 0, count: 1 << 20)
        if hashing { hasher = SHA256.Hasher() }
    }

    /// sha256 of everything read so far.
    public func inputHash() -> String? {
        guard var h = hasher else { return nil }
        return "sha256:" + h.finish()
    }

    private func refill() -> Bool {
        if eof { return false }
        if start > 0 {
            let n = end - start
            if n > 0 { buffer.withUnsafeMutableBufferPointer { b in _ = memmove(b.baseAddress!, b.baseAddress! + start, n) } }
            end = n
            start = 0
        }
        if end == buffer.count { buffer.append(contentsOf: [UInt8](repeating: 0, count: buffer.count)) }
        let got = buffer.withUnsafeMutableBytes { b in read(fd, b.baseAddress! + end, min(chunk, b.count - end)) }
        if got <= 0 { eof = true; return false }
        if hasher != nil { buffer.withUnsafeBytes { hasher!.update(buffer: UnsafeRawBufferPointer(rebasing: $0[end..<(end + got)])) } }
        end += got
        return true
    }

    /// The next whole records, up to `maxRecords` of them (blank lines are not counted), as bytes for
    /// a `CSVSliceReader`: the main thread only finds where records end, the workers parse them. The
    /// scan is the slice reader's state machine without keeping any bytes; `CSVSliceTests` checks that
    /// the way a stream is sliced never changes a record.
    public func nextSlice(maxRecords: Int) -> CSVSlice? {
        var out: [UInt8] = []
        out.reserveCapacity(lastSliceBytes + lastSliceBytes / 8)    // no regrowing copies: slices are alike
        var records = 0
        let firstLine = line
        while records < maxRecords {
            if start >= end && !refill() { break }
            // Most records hold no quote: such a record is the bytes up to the next newline, found with
            // memchr, and a run of them is copied at once; a record with a quote (or without a newline
            // yet) takes the state machine.
            let (runEnd, runRecords, runLines) = buffer.withUnsafeBytes { b -> (Int, Int, Int) in
                var s = start, n = 0, lines = 0
                // no quote before `clear`: searched 64 KB at a time ahead of the lines, not once a line
                var clear = s, quoteFound = false
                while records + n < maxRecords {
                    let base = b.baseAddress! + s
                    guard let nl = memchr(base, 10, end - s) else { break }
                    let len = base.distance(to: UnsafeRawPointer(nl))
                    while s + len > clear && !quoteFound {
                        let window = min(1 << 16, end - clear)
                        if let q = memchr(b.baseAddress! + clear, 34, window) {
                            clear = b.baseAddress!.distance(to: UnsafeRawPointer(q))
                            quoteFound = true
                        } else {
                            clear += window
                        }
                    }
                    if s + len > clear { break }            // this line holds a quote
                    if !Self.blank(b, s, s + len) { n += 1 }
                    lines += 1
                    s += len + 1
                }
                return (s, n, lines)
            }
            if runEnd > start {
                take(upTo: runEnd, lines: runLines, into: &out)
                records += runRecords
                continue
            }
            var i = 0, lines = 1
            scanRecord(&i, &lines)
            var blank = true
            for j in start..<i where buffer[j] != 10 && buffer[j] != 13 { blank = false; break }
            out.append(contentsOf: buffer[start..<i])
            line += max(lines, 1)
            start = i
            if !blank { records += 1 }
        }
        if out.isEmpty { return nil }
        lastSliceBytes = out.count
        return CSVSlice(bytes: out, records: records, firstLine: firstLine)
    }

    /// The next whole lines, up to `maxRecords` of them that are not blank, as bytes: JSONL's records.
    /// A JSON text holds no raw line break, so a line is a record whatever quotes it holds (read as CSV,
    /// a quote opening a field could swallow the next line).
    public func nextLines(maxRecords: Int) -> CSVSlice? {
        var out: [UInt8] = []
        out.reserveCapacity(lastSliceBytes + lastSliceBytes / 8)
        var records = 0
        let firstLine = line
        while records < maxRecords {
            if start >= end && !refill() { break }
            let (runEnd, runRecords, runLines) = buffer.withUnsafeBytes { b -> (Int, Int, Int) in
                var s = start, n = 0, lines = 0
                while records + n < maxRecords, let nl = memchr(b.baseAddress! + s, 10, end - s) {
                    let e = b.baseAddress!.distance(to: UnsafeRawPointer(nl))
                    if !Self.blank(b, s, e) { n += 1 }
                    lines += 1
                    s = e + 1
                }
                return (s, n, lines)
            }
            if runEnd > start {
                take(upTo: runEnd, lines: runLines, into: &out)
                records += runRecords
                continue
            }
            if records == maxRecords { break }
            // a line without its line break yet: read on, or at the end it is the last line
            if refill() { continue }
            if start < end {
                if !buffer.withUnsafeBytes({ Self.blank($0, start, end) }) { records += 1 }
                take(upTo: end, lines: 1, into: &out)
            }
            break
        }
        if out.isEmpty { return nil }
        lastSliceBytes = out.count
        return CSVSlice(bytes: out, records: records, firstLine: firstLine)
    }

    /// A line of nothing but carriage returns (or nothing) is blank: no record.
    private static func blank(_ b: UnsafeRawBufferPointer, _ from: Int, _ to: Int) -> Bool {
        for j in from..<to where b[j] != 13 { return false }
        return true
    }

    /// Moves the buffer's bytes up to `runEnd`, `lines` lines of them, into `out`.
    private func take(upTo runEnd: Int, lines: Int, into out: inout [UInt8]) {
        buffer.withUnsafeBytes { b in out.append(contentsOf: UnsafeRawBufferPointer(rebasing: b[start..<runEnd])) }
        line += lines
        start = runEnd
    }

    /// Moves `i` from `start` past one record (refilling as needed), counting its line breaks: the slice
    /// reader's state machine without keeping bytes.
    private func scanRecord(_ i: inout Int, _ lines: inout Int) {
        i = start
        lines = 0
        var inQuotes = false, afterQuote = false, quoted = false
        var fieldBlank = true           // only spaces and tabs so far in this field
        while true {
            if i >= end {
                let offset = i - start
                if eof || !refill() { i = start + offset; return }
                i = start + offset
                continue
            }
            let c = buffer[i]
            if inQuotes {
                if c == 34 {
                    if i + 1 >= end && !eof {
                        let offset = i - start
                        _ = refill()
                        i = start + offset
                        continue
                    }
                    if i + 1 < end && buffer[i + 1] == 34 { i += 2; continue }
                    inQuotes = false
                    afterQuote = true
                    i += 1
                    continue
                }
                if c == 10 { lines += 1 }
                i += 1
                continue
            }
            if c == 44 { quoted = false; afterQuote = false; fieldBlank = true; i += 1; continue }
            if c == 10 { i += 1; lines += 1; return }
            if c == 34 && !quoted && fieldBlank && !afterQuote {
                quoted = true
                inQuotes = true
                i += 1
                continue
            }
            if c != 32 && c != 9 { fieldBlank = false }
            i += 1
        }
    }

    /// Reads the next record into `rec` (its storage is reused); false at the end of input. Blank
    /// lines are skipped. One record is one slice: the state machine lives in `CSVSliceReader`.
    public func next(_ rec: inout CSVRecord) -> Bool {
        guard let slice = nextSlice(maxRecords: 1) else { return false }
        var reader = CSVSliceReader(slice: slice)
        return reader.next(&rec)
    }
}

/// Maps a header of dotted column names onto nested rows (shared spec vectors.md, "Flat CSV rows").
public struct CSVRowShape: Sendable {
    indirect enum Node: Sendable {
        case column(Int)
        case object([(String, Node)])
    }

    public let columns: [String]
    let root: [(String, Node)]   // read by CSVRowPusher

    /// Checks the header: no empty or duplicate names, and no column that is the prefix of another.
    public init(header: [String]) throws {
        columns = header
        var seen = Set<String>()
        for (i, c) in header.enumerated() {
            if c.isEmpty { throw PlumeError.config("CSV header: column \(i + 1) has no name") }
            if !seen.insert(c).inserted { throw PlumeError.config("CSV header: column '\(c)' appears twice") }
            if c.split(separator: ".", omittingEmptySubsequences: false).contains(where: \.isEmpty) {
                throw PlumeError.config("CSV header: column '\(c)' has an empty part")
            }
        }
        for c in header where header.contains(where: { $0.hasPrefix(c + ".") }) {
            let other = header.first { $0.hasPrefix(c + ".") }!
            throw PlumeError.config("CSV header: column '\(c)' is also the prefix of column '\(other)'")
        }
        func build(_ items: [(parts: [Substring], index: Int)]) -> [(String, Node)] {
            var order: [String] = []
            var groups: [String: [(parts: [Substring], index: Int)]] = [:]
            var leaves: [String: Int] = [:]
            for it in items {
                let head = String(it.parts[0])
                if groups[head] == nil && leaves[head] == nil { order.append(head) }
                if it.parts.count == 1 { leaves[head] = it.index } else { groups[head, default: []].append((Array(it.parts.dropFirst()), it.index)) }
            }
            return order.map { k in
                if let i = leaves[k] { return (k, .column(i)) }
                return (k, .object(build(groups[k]!)))
            }
        }
        root = build(header.enumerated().map { ($0.element.split(separator: ".", omittingEmptySubsequences: false), $0.offset) })
    }

    public enum RowError: Error { case invalidUTF8(column: String) }

    /// The typed row of a record whose field count matches the header.
    public func row(_ fields: [[UInt8]]) throws -> LuaValue {
        try row { i in fields[i][...] }
    }

    public func row(_ rec: CSVRecord) throws -> LuaValue {
        try row { rec.field($0) }
    }

    func row(_ field: (Int) -> ArraySlice<UInt8>) throws -> LuaValue {
        func fill(_ nodes: [(String, Node)]) throws -> LuaValue? {
            var members: [(String, LuaValue)] = []
            for (k, n) in nodes {
                switch n {
                case .column(let i):
                    let bytes = field(i)
                    let typed = bytes.withUnsafeBytes { CellTyper.type(bytes: $0) }
                    if case .string(let s)? = typed {
                        // invalid UTF-8 would have been repaired by String(decoding:); refuse it instead
                        if String(validating: bytes, as: UTF8.self) == nil { throw RowError.invalidUTF8(column: columns[i]) }
                        members.append((k, .string(s)))
                    } else if let typed {
                        members.append((k, typed))
                    }
                case .object(let children):
                    if let v = try fill(children) { members.append((k, v)) }
                }
            }
            return members.isEmpty ? nil : .object(members)
        }
        return try fill(root) ?? .object([])
    }

    /// The column index of a dotted name, if the header has it.
    public func column(_ name: String) -> Int? { columns.firstIndex(of: name) }
}

/// Reads the records of one `CSVSlice` (RFC 4180 with Plume's rules for bad quoting and line breaks).
/// A slice holds whole records, so there are no refills, and runs of plain bytes are copied at once.
public struct CSVSliceReader {
    private let slice: CSVSlice
    private var pos = 0
    private var line: Int

    public init(slice: CSVSlice) {
        self.slice = slice
        line = slice.firstLine
    }

    public mutating func next(_ rec: inout CSVRecord) -> Bool {
        slice.bytes.withUnsafeBufferPointer { read(from: $0, into: &rec) }
    }

    /// A record that is one plain line: no quote, not blank. `content` excludes the line break.
    public struct PlainLine {
        public let content: Range<Int>
        let next: Int
    }

    /// The next record when it is a plain line (its cells are what the commas separate), without
    /// reading it; `skip` then moves past it. Nil for anything else: `next` reads that.
    public func peekPlain() -> PlainLine? {
        slice.bytes.withUnsafeBytes { b -> PlainLine? in
            guard pos < b.count else { return nil }
            let base = b.baseAddress! + pos
            let rest = b.count - pos
            var len = rest, next = b.count
            if let nl = memchr(base, 10, rest) {
                len = base.distance(to: UnsafeRawPointer(nl))
                next = pos + len + 1
            }
            if memchr(base, 34, len) != nil { return nil }
            var end = pos + len
            while end > pos, b[end - 1] == 13 { end -= 1 }
            if end == pos { return nil }             // blank: `next` skips it
            return PlainLine(content: pos..<(pos + len), next: next)
        }
    }

    public mutating func skip(_ line: PlainLine) {
        pos = line.next
        self.line += 1
    }

    /// Line number of the next record `next` or `peekPlain` sees, when it starts at a line.
    public var nextLine: Int { line }

    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try slice.bytes.withUnsafeBytes(body)
    }

    private mutating func read(from buf: UnsafeBufferPointer<UInt8>, into rec: inout CSVRecord) -> Bool {
        let end = buf.count
        while true {
            if pos >= end { return false }
            rec.bytes.removeAll(keepingCapacity: true)
            rec.ends.removeAll(keepingCapacity: true)
            let start = pos
            var i = start
            var fieldStart = 0
            var quoted = false, inQuotes = false, afterQuote = false
            var error: String?
            var lines = 0
            while true {
                if i >= end {
                    if inQuotes { error = "unterminated quoted field" }
                    break
                }
                let c = buf[i]
                if inQuotes {
                    if c == 34 {
                        if i + 1 < end && buf[i + 1] == 34 { rec.bytes.append(34); i += 2; continue }
                        inQuotes = false
                        afterQuote = true
                        i += 1
                        continue
                    }
                    var j = i
                    while j < end && buf[j] != 34 { if buf[j] == 10 { lines += 1 }; j += 1 }
                    rec.bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buf[i..<j]))
                    i = j
                    continue
                }
                if c == 44 {
                    rec.ends.append(rec.bytes.count)
                    fieldStart = rec.bytes.count
                    quoted = false; afterQuote = false
                    i += 1
                    continue
                }
                if c == 10 {
                    i += 1
                    lines += 1
                    break
                }
                if c == 34 {
                    let blankSoFar = rec.bytes[fieldStart...].allSatisfy { $0 == 32 || $0 == 9 }
                    if !quoted && blankSoFar && !afterQuote {
                        quoted = true
                        inQuotes = true
                        rec.bytes.removeSubrange(fieldStart...)
                        i += 1
                        continue
                    }
                    if error == nil { error = "bad quoting: a quote inside an unquoted field or after a closing quote" }
                    rec.bytes.append(c)
                    i += 1
                    continue
                }
                if afterQuote {
                    if c != 13 && c != 32 && c != 9 && error == nil { error = "bad quoting: text after a closing quote" }
                    i += 1
                    continue
                }
                var j = i + 1
                while j < end {
                    let d = buf[j]
                    if d == 44 || d == 10 || d == 34 { break }
                    j += 1
                }
                rec.bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buf[i..<j]))
                i = j
            }
            rec.ends.append(rec.bytes.count)
            var rawEnd = i
            while rawEnd > start, buf[rawEnd - 1] == 10 || buf[rawEnd - 1] == 13 { rawEnd -= 1 }
            let first = line
            line += max(lines, 1)
            let blank = rawEnd == start && rec.ends.count == 1 && error == nil
            if !blank {
                rec.raw.removeAll(keepingCapacity: true)
                rec.raw.append(contentsOf: UnsafeBufferPointer(rebasing: buf[start..<rawEnd]))
            }
            pos = i
            if blank { continue }
            if !quoted || !afterQuote, let last = rec.bytes.last, last == 13, rec.ends.last == rec.bytes.count {
                let lastStart = rec.ends.count > 1 ? rec.ends[rec.ends.count - 2] : 0
                if rec.bytes.count > lastStart {
                    rec.bytes.removeLast()
                    rec.ends[rec.ends.count - 1] -= 1
                }
            }
            rec.line = first
            rec.error = error
            return true
        }
    }
}

