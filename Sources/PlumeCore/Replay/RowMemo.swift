import Foundation
import LuaHost

/// Tapes by row key, for one worker. A row's key is its text part: for every column but `id`, whether
/// the cell is absent, a number or text, and the text itself; the numbers are the tape's inputs. Two rows
/// with the same key take the same path through the script except where a guard says otherwise.
final class RowMemo {
    enum Entry {
        /// One tape per path the key's rows took (the guards tell them apart), at most `maxTapes`.
        case tapes([Tape])
        /// The script used a number in a way a tape cannot hold: rows of this key run the script.
        case script
    }

    /// The key of the row being looked up and its numbers (filled by `build`), in buffers owned here:
    /// the per-row path writes them without array bookkeeping. A memo belongs to one worker (or sits
    /// behind a lock), so its per-row state is never accessed overlappingly: @exclusivity(unchecked)
    /// spares the runtime check on every row.
    @exclusivity(unchecked) private var keyBytes: UnsafeMutablePointer<UInt8>
    @exclusivity(unchecked) private var keyCapacity: Int
    @exclusivity(unchecked) private(set) var keyCount = 0
    @exclusivity(unchecked) private(set) var inputs: UnsafeMutablePointer<Double>
    @exclusivity(unchecked) private(set) var inputCount = 0
    @exclusivity(unchecked) private var columnsCapacity: Int
    @exclusivity(unchecked) private var numberColumnBuffer: UnsafeMutablePointer<Int32>
    @exclusivity(unchecked) private(set) var hash: UInt64 = 0
    /// The number in the column `build` was asked to watch (0 when it is not a number).
    @exclusivity(unchecked) private(set) var watched = 0.0

    var key: [UInt8] { Array(UnsafeBufferPointer(start: keyBytes, count: keyCount)) }
    /// Columns of `inputs`, in order (0-based).
    var numberColumns: [Int32] { Array(UnsafeBufferPointer(start: numberColumnBuffer, count: inputCount)) }

    /// Open addressing over `records`: a record's offset / 8 + 1; 0 = empty.
    @exclusivity(unchecked) private var slots: [Int32]
    /// What a lookup reads, one record per entry in one growing block: the hash, the entry's first tape
    /// (unretained: the entry holds it; 0 for `.script`), the entry's index, the key's length, the first
    /// tape's block (so a replay reads the record and the block, not the tape object too) and the key,
    /// padded to 8 bytes. With the key in an array of its own and the entry in another, a lookup waited
    /// on three cache misses; here the record's header and key sit together.
    @exclusivity(unchecked) private var records: UnsafeMutableRawPointer
    @exclusivity(unchecked) private var recordBytes = 0, recordCapacity = 1 << 16
    @exclusivity(unchecked) private var entries: [Entry] = []
    private var bytes = 0
    private(set) var full = false
    let budget: Int

    static let maxTapes = 4

    init(budgetBytes: Int = 8 << 20) {
        budget = budgetBytes
        slots = [Int32](repeating: 0, count: 1 << 12)
        records = .allocate(byteCount: recordCapacity, alignment: 8)
        keyCapacity = 1024
        keyBytes = .allocate(capacity: keyCapacity)
        columnsCapacity = 64
        inputs = .allocate(capacity: columnsCapacity)
        numberColumnBuffer = .allocate(capacity: columnsCapacity)
        lineEnds = .allocate(capacity: columnsCapacity)
    }

    deinit {
        records.deallocate()
        keyBytes.deallocate()
        inputs.deallocate()
        numberColumnBuffer.deallocate()
        lineEnds.deallocate()
    }

    /// Room for a key of `bytes` bytes and `columns` cells.
    private func reserve(bytes: Int, columns: Int) {
        if bytes > keyCapacity {
            keyBytes.deallocate()
            keyCapacity = max(bytes, keyCapacity * 2)
            keyBytes = .allocate(capacity: keyCapacity)
        }
        if columns > columnsCapacity {
            inputs.deallocate(); numberColumnBuffer.deallocate(); lineEnds.deallocate()
            columnsCapacity = max(columns, columnsCapacity * 2)
            inputs = .allocate(capacity: columnsCapacity)
            numberColumnBuffer = .allocate(capacity: columnsCapacity)
            lineEnds = .allocate(capacity: columnsCapacity)
        }
    }

    /// Builds the key of a CSV record; false when a number cell is not finite (such rows are not
    /// memoised: the script checks them).
    func build(_ rec: CSVRecord, skip: Int?, watch: Int? = nil) -> Bool {
        reserve(bytes: rec.bytes.count + 5 * rec.ends.count, columns: rec.ends.count)
        var w = KeyWriter(self)
        let finite = rec.bytes.withUnsafeBytes { b in
            rec.ends.withUnsafeBufferPointer { ends -> Bool in
                var lo = 0
                for i in 0..<ends.count {
                    let end = ends[i]
                    defer { lo = end }
                    if i == skip { continue }
                    if !w.add(UnsafeRawBufferPointer(rebasing: b[lo..<end]), column: i, watched: i == watch) { return false }
                }
                return true
            }
        }
        return finish(w, finite: finite)
    }

    /// Where each cell of the last `build(line:)` ends (cell i starts one byte, the comma, after cell i-1).
    @exclusivity(unchecked) private(set) var lineEnds: UnsafeMutablePointer<Int>

    /// Builds the key of a plain line (no quote, no line break): cells are what the commas separate,
    /// so a key comes straight from the input bytes, in one pass: an empty cell costs a store, and a
    /// cell of digits is read as it is scanned. Nil when the line has not `columns` cells; false when
    /// a number is not finite.
    func build(line: UnsafeRawBufferPointer, columns: Int, skip: Int?, watch: Int? = nil) -> Bool? {
        reserve(bytes: line.count + 5 * columns + 8, columns: columns)
        let skip = skip ?? -1, watch = watch ?? -1
        var w = KeyWriter(self)
        let n = line.count
        guard n > 0, let b = line.baseAddress?.assumingMemoryBound(to: UInt8.self) else {
            guard columns == 1 else { return nil }
            lineEnds[0] = 0
            if skip != 0 { w.empty() }
            return finish(w, finite: true)
        }
        var i = 0, column = 0
        var finite = true
        while true {
            guard column < columns else { return nil }
            let start = i
            if i == n || b[i] == 44 {                              // empty
                // A delivery row is mostly empty cells: up to eight commas in a row are read as one
                // word (the count of leading comma bytes), instead of a branch on every cell.
                if i &+ 8 <= n && column &+ 8 <= columns && (skip < column || skip >= column &+ 8) {
                    let x = UnsafeRawPointer(b + i).loadUnaligned(as: UInt64.self).littleEndian ^ 0x2c2c_2c2c_2c2c_2c2c
                    let nonzero = (((x & 0x7f7f_7f7f_7f7f_7f7f) &+ 0x7f7f_7f7f_7f7f_7f7f) | x) & 0x8080_8080_8080_8080
                    let k = nonzero == 0 ? 8 : nonzero.trailingZeroBitCount >> 3     // >= 1: b[i] is a comma
                    w.empties(k)
                    for j in 0..<k { lineEnds[column &+ j] = i &+ j }
                    column &+= k
                    i &+= k
                    continue
                }
                if column != skip { w.empty() }
            } else if (b[i] | 0x20) &- 97 < 26 {                   // starts with a letter: text
                while i < n && b[i] != 44 { i &+= 1 }
                if column != skip && finite {
                    let cell = UnsafeRawBufferPointer(start: b + start, count: i - start)
                    finite = CellTyper.isSpace(b[i - 1]) ? w.add(cell, column: column, watched: column == watch) : w.text(cell)
                }
            } else {
                // digits are summed while looking for the comma; anything else makes the cell general
                var value: UInt64 = 0, digits = 0, plain = true
                while i < n {
                    let c = b[i]
                    if c == 44 { break }
                    let d = c &- 48
                    if d < 10 { value = value &* 10 &+ UInt64(d); digits &+= 1 } else { plain = false }
                    i &+= 1
                }
                if column != skip {
                    if plain && digits <= 15 {
                        w.number(Double(value), column: column, watched: column == watch)
                    } else if finite {
                        finite = w.add(UnsafeRawBufferPointer(start: b + start, count: i - start), column: column, watched: column == watch)
                    }
                }
            }
            lineEnds[column] = i
            column &+= 1
            if i == n { break }
            i &+= 1
        }
        guard column == columns else { return nil }
        return finish(w, finite: finite)
    }

    /// Builds the key of a JSON row (`id` already taken out): its whole structure in document order,
    /// member names, strings, booleans and nulls written, each number a mark and an input, in the order
    /// `ReplayCheck.numbers` lists their paths. False when a number is not finite. `build(jsonLine:)`
    /// writes the same bytes from the line's text.
    func build(json row: LuaValue) -> Bool {
        var key: [UInt8] = [], numbers: [Double] = []
        func text(_ s: String) {
            let n = s.utf8.count
            key.append(UInt8(truncatingIfNeeded: n)); key.append(UInt8(truncatingIfNeeded: n >> 8))
            key.append(UInt8(truncatingIfNeeded: n >> 16)); key.append(UInt8(truncatingIfNeeded: n >> 24))
            key.append(contentsOf: s.utf8)
        }
        func add(_ v: LuaValue) -> Bool {
            switch v {
            case .number(let d):
                guard d.isFinite else { return false }
                key.append(JSONTag.number); numbers.append(d)
            case .integer(let i):
                key.append(JSONTag.number); numbers.append(Double(i))
            case .string(let s): key.append(JSONTag.string); text(s)
            case .boolean(let b): key.append(b ? JSONTag.true : JSONTag.false)
            case .array(let a):
                key.append(JSONTag.list)
                for x in a where !add(x) { return false }
                key.append(JSONTag.listEnd)
            case .object(let o):
                key.append(JSONTag.object)
                for (k, x) in o {
                    key.append(JSONTag.member); text(k)
                    if !add(x) { return false }
                }
                key.append(JSONTag.objectEnd)
            default: key.append(JSONTag.null)
            }
            return true
        }
        guard add(row) else { return false }
        reserve(bytes: key.count + 8, columns: numbers.count)
        var w = KeyWriter(self)
        key.withUnsafeBytes { k in UnsafeMutableRawPointer(w.key).copyMemory(from: k.baseAddress!, byteCount: k.count) }
        w.k = key.count
        for (i, d) in numbers.enumerated() { w.inputs[i] = d; w.columns[i] = Int32(i) }
        w.m = numbers.count
        return finish(w, finite: true)
    }

    private enum JSONTag {
        static let null: UInt8 = 0, number: UInt8 = 1, string: UInt8 = 2, `true`: UInt8 = 3, `false`: UInt8 = 4
        static let list: UInt8 = 5, listEnd: UInt8 = 8, object: UInt8 = 6, objectEnd: UInt8 = 7, member: UInt8 = 9
    }

    /// Where the top-level `id` string of the last `build(jsonLine:)` lies in the line (nil: no `id`).
    @exclusivity(unchecked) private(set) var jsonID: Range<Int>?

    /// The key `build(json:)` gives the line's row (its numbers as doubles, `id` taken out), read straight
    /// from the text, with the top-level `impressions` number watched and the `id` string's place kept.
    /// Nil for anything it does not read exactly as `JSONValue` would: an escape or a byte outside
    /// printable ASCII in a string, an `id` that is not such a string, a number that is not finite, text
    /// that is not JSON; such a line goes through the parser (which also reports what is wrong with it).
    func build(jsonLine line: UnsafeRawBufferPointer) -> Bool? {
        let n = line.count
        guard n > 1, let p = line.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return nil }
        reserve(bytes: 3 &* n &+ 16, columns: n / 2 &+ 1)
        let key = keyBytes, numbers = inputs, columns = numberColumnBuffer
        var i = 0, k = 0, m = 0
        var id: Range<Int>?, watchedValue = 0.0, watchedSeen = false

        func ws() { while i < n, p[i] == 32 || p[i] == 9 || p[i] == 10 || p[i] == 13 { i &+= 1 } }
        /// A string at `i` without escapes, control or non-ASCII bytes: its content's range.
        func string() -> Range<Int>? {
            guard i < n, p[i] == 34 else { return nil }
            i &+= 1
            let s = i
            while i < n {
                let c = p[i]
                if c == 34 { i &+= 1; return s..<(i &- 1) }
                if c == 92 || c < 0x20 || c >= 0x80 { return nil }
                i &+= 1
            }
            return nil
        }
        func text(_ r: Range<Int>) {
            let c = r.count
            key[k] = UInt8(truncatingIfNeeded: c); key[k &+ 1] = UInt8(truncatingIfNeeded: c >> 8)
            key[k &+ 2] = UInt8(truncatingIfNeeded: c >> 16); key[k &+ 3] = UInt8(truncatingIfNeeded: c >> 24)
            k &+= 4
            for j in r { key[k] = p[j]; k &+= 1 }
        }
        func word(_ w: StaticString, _ tag: UInt8) -> Bool {
            let c = w.utf8CodeUnitCount
            guard i &+ c <= n else { return false }
            for j in 0..<c where p[i &+ j] != w.utf8Start[j] { return false }
            i &+= c
            key[k] = tag; k &+= 1
            return true
        }
        /// JSONValue's number grammar and values: up to 18 characters of an integral number are an
        /// integer (so -0 is 0), the rest the nearest double.
        func number() -> Bool {
            let start = i
            var integral = true
            if i < n, p[i] == 45 { i &+= 1 }
            guard i < n, p[i] &- 48 < 10 else { return false }
            if p[i] == 48 { i &+= 1 } else { while i < n, p[i] &- 48 < 10 { i &+= 1 } }
            if i < n, p[i] == 46 {
                integral = false
                i &+= 1
                guard i < n, p[i] &- 48 < 10 else { return false }
                while i < n, p[i] &- 48 < 10 { i &+= 1 }
            }
            if i < n, p[i] | 0x20 == 101 {
                integral = false
                i &+= 1
                if i < n, p[i] == 43 || p[i] == 45 { i &+= 1 }
                guard i < n, p[i] &- 48 < 10 else { return false }
                while i < n, p[i] &- 48 < 10 { i &+= 1 }
            }
            let d: Double
            if integral && i &- start <= 18 {
                var v: Int64 = 0
                for j in start..<i where p[j] != 45 { v = v &* 10 &+ Int64(p[j] &- 48) }
                d = Double(p[start] == 45 ? -v : v)
            } else {
                guard let x = CellTyper.number(UnsafeRawBufferPointer(start: p + start, count: i &- start)), x.isFinite else { return false }
                d = x
            }
            key[k] = JSONTag.number; k &+= 1
            numbers[m] = d; columns[m] = Int32(truncatingIfNeeded: m); m &+= 1
            return true
        }
        func value(_ depth: Int) -> Bool {
            guard depth < 64, i < n else { return false }
            switch p[i] {
            case 123:                                   // {
                i &+= 1
                key[k] = JSONTag.object; k &+= 1
                ws()
                if i < n, p[i] == 125 { i &+= 1; key[k] = JSONTag.objectEnd; k &+= 1; return true }
                while true {
                    ws()
                    guard let name = string() else { return false }
                    ws()
                    guard i < n, p[i] == 58 else { return false }
                    i &+= 1
                    ws()
                    // at the top, `id` is left out of the key and `impressions` watched
                    if depth == 0 && name.count == 2 && p[name.lowerBound] == 105 && p[name.lowerBound &+ 1] == 100 {
                        guard id == nil, let r = string() else { return false }
                        id = r
                    } else {
                        let watch = depth == 0 && name.count == 11 && memcmp(p + name.lowerBound, "impressions", 11) == 0
                        if watch && (watchedSeen || i >= n || !(p[i] == 45 || p[i] &- 48 < 10)) { return false }
                        key[k] = JSONTag.member; k &+= 1
                        text(name)
                        guard value(depth &+ 1) else { return false }
                        if watch { watchedSeen = true; watchedValue = numbers[m &- 1] }
                    }
                    ws()
                    guard i < n else { return false }
                    if p[i] == 44 { i &+= 1; continue }
                    if p[i] == 125 { i &+= 1; key[k] = JSONTag.objectEnd; k &+= 1; return true }
                    return false
                }
            case 91:                                    // [
                i &+= 1
                key[k] = JSONTag.list; k &+= 1
                ws()
                if i < n, p[i] == 93 { i &+= 1; key[k] = JSONTag.listEnd; k &+= 1; return true }
                while true {
                    ws()
                    guard value(depth &+ 1) else { return false }
                    ws()
                    guard i < n else { return false }
                    if p[i] == 44 { i &+= 1; continue }
                    if p[i] == 93 { i &+= 1; key[k] = JSONTag.listEnd; k &+= 1; return true }
                    return false
                }
            case 34:
                guard let r = string() else { return false }
                key[k] = JSONTag.string; k &+= 1
                text(r)
                return true
            case 116: return word("true", JSONTag.true)
            case 102: return word("false", JSONTag.false)
            case 110: return word("null", JSONTag.null)
            default: return number()
            }
        }

        ws()
        guard i < n, p[i] == 123, value(0) else { return nil }
        ws()
        guard i == n else { return nil }
        var w = KeyWriter(self)
        w.k = k
        w.m = m
        w.watched = watchedValue
        jsonID = id
        return finish(w, finite: true)
    }

    /// Appends cells to the key and the numbers to the inputs, in the memo's buffers.
    private struct KeyWriter {
        let key: UnsafeMutablePointer<UInt8>, inputs: UnsafeMutablePointer<Double>, columns: UnsafeMutablePointer<Int32>
        var k = 0, m = 0
        var watched = 0.0

        init(_ memo: RowMemo) {
            key = memo.keyBytes; inputs = memo.inputs; columns = memo.numberColumnBuffer
        }

        @inline(__always) mutating func empty() { key[k] = 0; k &+= 1 }

        /// `count` (<= 8) empty cells; the key has 8 bytes of room past its end.
        @inline(__always) mutating func empties(_ count: Int) {
            UnsafeMutableRawPointer(key + k).storeBytes(of: 0, as: UInt64.self)
            k &+= count
        }

        @inline(__always) mutating func number(_ d: Double, column: Int, watched watch: Bool) {
            key[k] = 1; k &+= 1
            inputs[m] = d
            columns[m] = Int32(truncatingIfNeeded: column)
            m &+= 1
            if watch { watched = d }
        }

        /// A cell as written (spaces around it ignored); false for a number that is not finite.
        mutating func add(_ raw: UnsafeRawBufferPointer, column: Int, watched watch: Bool) -> Bool {
            let cell = CellTyper.trimmed(raw)
            if cell.isEmpty { empty(); return true }
            if let d = CellTyper.number(cell) {
                if !d.isFinite { return false }
                number(d, column: column, watched: watch)
                return true
            }
            return text(cell)
        }

        /// A trimmed cell that is not a number; returns true.
        @inline(__always) mutating func text(_ cell: UnsafeRawBufferPointer) -> Bool {
            let c = cell.count
            key[k] = 2
            key[k + 1] = UInt8(truncatingIfNeeded: c); key[k + 2] = UInt8(truncatingIfNeeded: c >> 8)
            key[k + 3] = UInt8(truncatingIfNeeded: c >> 16); key[k + 4] = UInt8(truncatingIfNeeded: c >> 24)
            let from = cell.baseAddress!.assumingMemoryBound(to: UInt8.self), to = key + k + 5
            for j in 0..<c { to[j] = from[j] }      // short cells: cheaper than a memcpy call
            k += 5 + c
            return true
        }
    }

    private func finish(_ w: KeyWriter, finite: Bool) -> Bool {
        keyCount = w.k
        inputCount = w.m
        watched = w.watched
        hash = finite ? Self.hash(UnsafeRawBufferPointer(start: keyBytes, count: w.k)) : 0
        return finite
    }

    func find() -> Entry? { record(hash: hash, key: currentKey).map { entries[Self.index($0)] } }

    /// The current key's first tape for which `fits` holds; nil when there is none (or no entry).
    /// The per-row path: it takes no reference. Tapes are shared by the workers, and retaining one
    /// from two threads made its reference count a cache line the cores passed back and forth on
    /// every row (4 % of a run). The memo holds its tapes as long as it lives.
    @inline(__always) func firstTape(where fits: (Tape.Block) -> Bool) -> (tape: Unmanaged<Tape>, block: Tape.Block)? {
        guard let r = record(hash: hash, key: currentKey),
              let bits = UnsafeRawPointer(bitPattern: r.load(fromByteOffset: 8, as: UInt.self)),
              let block = UnsafeMutableRawPointer(bitPattern: r.load(fromByteOffset: 24, as: UInt.self)) else { return nil }
        if fits(Tape.Block(base: block)) { return (Unmanaged<Tape>.fromOpaque(bits), Tape.Block(base: block)) }
        guard case .tapes(let ts) = entries[Self.index(r)], ts.count > 1 else { return nil }
        for t in ts.dropFirst() where fits(t.block) { return (Unmanaged.passUnretained(t), t.block) }
        return nil
    }

    func find(hash: UInt64, key: [UInt8]) -> Entry? {
        key.withUnsafeBytes { k in record(hash: hash, key: k).map { entries[Self.index($0)] } }
    }

    private var currentKey: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: keyBytes, count: keyCount) }

    /// The key's record, by linear probing from its hash.
    @inline(__always) private func record(hash: UInt64, key: UnsafeRawBufferPointer) -> UnsafeMutableRawPointer? {
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: hash) & mask
        while true {
            let s = slots[i]
            if s == 0 { return nil }
            let r = records + (Int(s) - 1) * 8
            if r.load(as: UInt64.self) == hash {
                let length = Int(r.load(fromByteOffset: 20, as: Int32.self))
                if length == key.count && (length == 0 || memcmp(r + 32, key.baseAddress!, length) == 0) { return r }
            }
            i = (i + 1) & mask
        }
    }

    @inline(__always) private static func index(_ record: UnsafeMutableRawPointer) -> Int {
        Int(record.load(fromByteOffset: 16, as: Int32.self))
    }

    /// Stores the current key's entry, unless the byte budget is spent: then the keys met first stay
    /// (in a campaign the frequent deliveries come early), memory stays flat, and later keys run the
    /// script. Results never depend on what is memoised, only speed does.
    /// `shared`: the tapes are also held by the run's shared memo, whose budget counts them; here
    /// only the key and the references count.
    func insert(_ entry: Entry, shared: Bool = false) { insert(entry, hash: hash, key: key, shared: shared) }

    @discardableResult
    func insert(_ entry: Entry, hash: UInt64, key: [UInt8], shared: Bool = false) -> Bool {
        let size = key.count + 96 + (shared ? 16 * entry.tapeCount : entry.tapeFootprint)
        if bytes + size > budget { full = true; return false }
        if (entries.count + 1) * 2 > slots.count { grow() }
        var first: UInt = 0, block: UInt = 0
        if case .tapes(let ts) = entry, let t = ts.first {
            first = UInt(bitPattern: Unmanaged.passUnretained(t).toOpaque())
            block = UInt(bitPattern: t.block.base)
        }
        let recordSize = 32 + (key.count + 7) & ~7
        if recordBytes + recordSize > recordCapacity {
            let grown = UnsafeMutableRawPointer.allocate(byteCount: max(2 * recordCapacity, recordBytes + recordSize), alignment: 8)
            grown.copyMemory(from: records, byteCount: recordBytes)
            records.deallocate()
            records = grown
            recordCapacity = max(2 * recordCapacity, recordBytes + recordSize)
        }
        let r = records + recordBytes
        r.storeBytes(of: hash, as: UInt64.self)
        r.storeBytes(of: first, toByteOffset: 8, as: UInt.self)
        r.storeBytes(of: Int32(entries.count), toByteOffset: 16, as: Int32.self)
        r.storeBytes(of: Int32(key.count), toByteOffset: 20, as: Int32.self)
        r.storeBytes(of: block, toByteOffset: 24, as: UInt.self)
        key.withUnsafeBytes { if $0.count > 0 { (r + 32).copyMemory(from: $0.baseAddress!, byteCount: $0.count) } }
        entries.append(entry)
        bytes += size
        place(Int32(recordBytes / 8 + 1), hash: hash)
        recordBytes += recordSize
        return true
    }

    /// Adds a tape (another path) to the current key's entry, within the budget.
    func add(_ tape: Tape) {
        guard let r = record(hash: hash, key: currentKey), case .tapes(let ts) = entries[Self.index(r)],
              ts.count < Self.maxTapes else { return }
        if bytes + tape.footprint > budget { full = true; return }
        bytes += tape.footprint
        entries[Self.index(r)] = .tapes(ts + [tape])
    }

    private func place(_ slot: Int32, hash: UInt64) {
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: hash) & mask
        while slots[i] != 0 { i = (i + 1) & mask }
        slots[i] = slot
    }

    private func grow() {
        slots = [Int32](repeating: 0, count: slots.count * 2)
        var offset = 0
        while offset < recordBytes {
            let r = records + offset
            place(Int32(offset / 8 + 1), hash: r.load(as: UInt64.self))
            offset += 32 + (Int(r.load(fromByteOffset: 20, as: Int32.self)) + 7) & ~7
        }
    }

    /// FNV-1a over 8-byte words, then a final mix: the key is hashed once per row, so speed matters
    /// more than strength; equal hashes are confirmed by comparing keys.
    static func hash(_ b: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        var i = 0
        let n = b.count
        while i + 8 <= n {
            h = (h ^ b.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0x0000_0100_0000_01b3
            h ^= h >> 29
            i += 8
        }
        while i < n { h = (h ^ UInt64(b[i])) &* 0x0000_0100_0000_01b3; i += 1 }
        h ^= h >> 33; h = h &* 0xff51_afd7_ed55_8ccd; h ^= h >> 33
        return h
    }
}

private extension RowMemo.Entry {
    var tapeFootprint: Int {
        if case .tapes(let ts) = self { return ts.reduce(0) { $0 + $1.footprint } }
        return 0
    }

    var tapeCount: Int {
        if case .tapes(let ts) = self { return ts.count }
        return 0
    }
}

/// The tapes of all workers of one run: a worker that misses its own memo looks here before recording,
/// so a key is recorded about once per run rather than once per worker. Only misses take the lock.
final class SharedTapes: @unchecked Sendable {
    private let lock = NSLock()
    private let memo = RowMemo(budgetBytes: 16 << 20)

    func find(hash: UInt64, key: [UInt8]) -> RowMemo.Entry? {
        lock.lock(); defer { lock.unlock() }
        return memo.find(hash: hash, key: key)
    }

    /// The entry the memo holds for the key afterwards (an earlier worker's, or this one), nil when
    /// the budget is spent.
    @discardableResult
    func insert(_ entry: RowMemo.Entry, hash: UInt64, key: [UInt8]) -> RowMemo.Entry? {
        lock.lock(); defer { lock.unlock() }
        if let held = memo.find(hash: hash, key: key) { return held }
        return memo.insert(entry, hash: hash, key: key) ? entry : nil
    }
}

