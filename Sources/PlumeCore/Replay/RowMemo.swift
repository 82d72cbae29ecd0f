import Foundation

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

    /// The key of the row being looked up and its numbers (filled by `build`).
    private(set) var key: [UInt8] = []
    private(set) var inputs: [Double] = []
    /// Columns of `inputs`, in order (0-based).
    private(set) var numberColumns: [Int32] = []
    private(set) var hash: UInt64 = 0

    private var slots: [Int32]            // index + 1 into entries; 0 = empty
    private var entries: [(hash: UInt64, key: [UInt8], entry: Entry)] = []
    private var bytes = 0
    private(set) var full = false
    let budget: Int

    static let maxTapes = 4

    init(budgetBytes: Int = 8 << 20) {
        budget = budgetBytes
        slots = [Int32](repeating: 0, count: 1 << 12)
    }

    /// Builds the key of a CSV record; false when a number cell is not finite (such rows are not
    /// memoised: the script checks them).
    func build(_ rec: CSVRecord, skip: Int?) -> Bool {
        rec.bytes.withUnsafeBytes { b in
            rec.ends.withUnsafeBufferPointer { build(b, ends: $0, gap: 0, skip: skip) }
        }
    }

    /// Where each cell of the last `build(line:)` ends (cell i starts one byte, the comma, after cell i-1).
    private(set) var lineEnds: [Int] = []

    /// Builds the key of a plain line (no quote, no line break): cells are what the commas separate,
    /// so a key comes straight from the input bytes. Nil when the line has not `columns` cells.
    func build(line: UnsafeRawBufferPointer, columns: Int, skip: Int?) -> Bool? {
        var ends: [Int] = []
        swap(&ends, &lineEnds)
        defer { swap(&ends, &lineEnds) }
        ends.removeAll(keepingCapacity: true)
        var i = 0
        while let comma = memchr(line.baseAddress! + i, 44, line.count - i) {
            let at = line.baseAddress!.distance(to: UnsafeRawPointer(comma))
            ends.append(at)
            i = at + 1
        }
        ends.append(line.count)
        guard ends.count == columns else { return nil }
        return ends.withUnsafeBufferPointer { build(line, ends: $0, gap: 1, skip: skip) }
    }

    /// The key of the cells of `b` ending at `ends`, each `gap` bytes after the previous one's end.
    private func build(_ b: UnsafeRawBufferPointer, ends cellEnds: UnsafeBufferPointer<Int>, gap: Int, skip: Int?) -> Bool {
        // work on locals: appending to a class's arrays pays an exclusivity check per byte
        var key: [UInt8] = [], inputs: [Double] = [], numberColumns: [Int32] = []
        swap(&key, &self.key); swap(&inputs, &self.inputs); swap(&numberColumns, &self.numberColumns)
        defer { swap(&key, &self.key); swap(&inputs, &self.inputs); swap(&numberColumns, &self.numberColumns) }
        key.removeAll(keepingCapacity: true)
        inputs.removeAll(keepingCapacity: true)
        numberColumns.removeAll(keepingCapacity: true)
        var finite = true
        var lo = 0
        for i in 0..<cellEnds.count {
            let end = cellEnds[i]
            defer { lo = end + gap }
            if i == skip { continue }
            var x = lo, z = end
            while x < z, CellTyper.isSpace(b[x]) { x += 1 }
            while z > x, CellTyper.isSpace(b[z - 1]) { z -= 1 }
            if x == z { key.append(0); continue }
            let cell = UnsafeRawBufferPointer(rebasing: b[x..<z])
            if let d = CellTyper.number(cell) {
                if !d.isFinite { finite = false; break }
                key.append(1)
                inputs.append(d)
                numberColumns.append(Int32(i))
            } else {
                let n = cell.count
                key.append(2)
                key.append(UInt8(truncatingIfNeeded: n)); key.append(UInt8(truncatingIfNeeded: n >> 8))
                key.append(UInt8(truncatingIfNeeded: n >> 16)); key.append(UInt8(truncatingIfNeeded: n >> 24))
                key.append(contentsOf: cell)
            }
        }
        hash = finite ? Self.hash(key) : 0
        return finite
    }

    func find() -> Entry? { find(hash: hash, key: key) }

    func find(hash: UInt64, key: [UInt8]) -> Entry? {
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: hash) & mask
        while true {
            let s = slots[i]
            if s == 0 { return nil }
            let n = Int(s) - 1
            if entries[n].hash == hash && entries[n].key == key { return entries[n].entry }
            i = (i + 1) & mask
        }
    }

    /// Stores the current key's entry, unless the byte budget is spent: then the keys met first stay
    /// (in a campaign the frequent deliveries come early), memory stays flat, and later keys run the
    /// script. Results never depend on what is memoised, only speed does.
    func insert(_ entry: Entry) { insert(entry, hash: hash, key: key) }

    func insert(_ entry: Entry, hash: UInt64, key: [UInt8]) {
        let size = key.count + 96 + entry.tapeFootprint
        if bytes + size > budget { full = true; return }
        if (entries.count + 1) * 2 > slots.count { grow() }
        entries.append((hash, key, entry))
        bytes += size
        place(Int32(entries.count), hash: hash)
    }

    /// Adds a tape (another path) to the current key's entry, within the budget.
    func add(_ tape: Tape) {
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: hash) & mask
        while slots[i] != 0 {
            let n = Int(slots[i]) - 1
            if entries[n].hash == hash && entries[n].key == key {
                guard case .tapes(let ts) = entries[n].entry, ts.count < Self.maxTapes else { return }
                if bytes + tape.footprint > budget { full = true; return }
                bytes += tape.footprint
                entries[n].entry = .tapes(ts + [tape])
                return
            }
            i = (i + 1) & mask
        }
    }

    private func place(_ index: Int32, hash: UInt64) {
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: hash) & mask
        while slots[i] != 0 { i = (i + 1) & mask }
        slots[i] = index
    }

    private func grow() {
        slots = [Int32](repeating: 0, count: slots.count * 2)
        for (n, e) in entries.enumerated() { place(Int32(n + 1), hash: e.hash) }
    }

    /// FNV-1a over 8-byte words, then a final mix: the key is hashed once per row, so speed matters
    /// more than strength; equal hashes are confirmed by comparing keys.
    static func hash(_ k: [UInt8]) -> UInt64 {
        k.withUnsafeBytes { b -> UInt64 in
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
}

private extension RowMemo.Entry {
    var tapeFootprint: Int {
        if case .tapes(let ts) = self { return ts.reduce(0) { $0 + $1.footprint } }
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

    func insert(_ entry: RowMemo.Entry, hash: UInt64, key: [UInt8]) {
        lock.lock(); defer { lock.unlock() }
        if memo.find(hash: hash, key: key) == nil { memo.insert(entry, hash: hash, key: key) }
    }
}

