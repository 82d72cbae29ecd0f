import Foundation
import LuaHost

/// One recorded evaluation of a row (prelude.lua, "Replay"): the arithmetic and the comparisons the
/// script made on the row's numbers, in the order it made them. Replaying it on other numbers performs
/// the same IEEE operations in the same order, so it gives the bits the script would have given, as
/// long as every guard (a comparison) comes out as it did when recorded.
final class Tape: @unchecked Sendable {   // immutable after init; `block` is owned and only read
    enum Op: UInt8 {
        case add = 1, sub, mul, div, unm, ltTrue, ltFalse, leTrue, leFalse, eqTrue, eqFalse,
             finiteTrue, finiteFalse, integerTrue, integerFalse
    }

    /// Slots: constants, then inputs, then one per operation. Operation i reads slots `lhs[i]` and
    /// `rhs[i]` and writes slot constants + inputs + i; `runs` gives the kinds, one word per run of
    /// operations of one kind (kind << 24 | count), so `run` switches once per run, not per operation.
    /// A memo holds thousands of tapes, so their size is its memory.
    /// All of it lives in one block with its counts in front (`Block`): a campaign's rows pick tapes at
    /// random among thousands, and with an array each the replay waited on a cache miss per array; a
    /// memo keeps the block's address beside the key, so a replayed row need not touch this object.
    let block: Block
    static let maxSlots = 1 << 12
    /// The run's group-by texts for every row of this key, joined by commas.
    let groupKey: String

    /// Slots of total, v1...vn.
    var outputCount: Int { block.outputCount }
    /// Bytes held (with the object and allocator rounding), for the memo's budget.
    var footprint: Int { block.bytes + groupKey.utf8.count + 200 }

    /// A tape's arithmetic: 32 bytes of counts (constants, inputs, runs, operations, outputs), then the
    /// constants, runs, outputs, lhs and rhs. Read only.
    struct Block: @unchecked Sendable {
        let base: UnsafeMutableRawPointer

        var constantCount: Int { Int(base.load(as: Int32.self)) }
        var inputs: Int { Int(base.load(fromByteOffset: 4, as: Int32.self)) }
        var runCount: Int { Int(base.load(fromByteOffset: 8, as: Int32.self)) }
        var operationCount: Int { Int(base.load(fromByteOffset: 12, as: Int32.self)) }
        var outputCount: Int { Int(base.load(fromByteOffset: 16, as: Int32.self)) }
        var bytes: Int { Self.bytes(constants: constantCount, runs: runCount, operations: operationCount, outputs: outputCount) }
        var constants: UnsafeMutablePointer<Double> { (base + 32).assumingMemoryBound(to: Double.self) }
        var runs: UnsafeMutablePointer<UInt32> { (base + 32 + constantCount * 8).assumingMemoryBound(to: UInt32.self) }
        var outputs: UnsafeMutablePointer<UInt16> {
            (base + 32 + constantCount * 8 + runCount * 4).assumingMemoryBound(to: UInt16.self)
        }
        var lhs: UnsafeMutablePointer<UInt16> { outputs + outputCount }
        var rhs: UnsafeMutablePointer<UInt16> { outputs + outputCount + operationCount }

        static func bytes(constants: Int, runs: Int, operations: Int, outputs: Int) -> Int {
            32 + constants * 8 + runs * 4 + (outputs + 2 * operations) * 2
        }
    }

    deinit { block.base.deallocate() }

    /// Decodes a recording (CLuaShim.h, "Operation recorder": operand codes are node n > 0, constant
    /// -k, 0 unused; `outputs` are the codes of total, v1...vn). Nil when malformed.
    init?(op opList: [UInt8], a aList: [Int32], b bList: [Int32], constants: [Double], outputs os: [Int32],
          groups: [String], inputs: Int) {
        guard opList.count == aList.count, opList.count == bList.count,
              constants.count + inputs + opList.count <= Self.maxSlots else { return nil }
        let base = constants.count
        func slot(_ c: Int32, limit: Int) -> Int32? {
            let c = Int(c)
            if c < 0 { return -c <= base ? Int32(-c - 1) : nil }
            let s = c > 0 ? base + c - 1 : 0
            return s < limit ? Int32(s) : nil
        }
        var packed: [UInt32] = []
        packed.reserveCapacity(opList.count)
        for i in 0..<opList.count {
            let limit = max(base + inputs + i, 1)   // an operand is an earlier slot
            guard Op(rawValue: opList[i]) != nil,
                  let x = slot(aList[i], limit: limit), let y = slot(bList[i], limit: limit) else { return nil }
            packed.append(UInt32(opList[i]) << 24 | UInt32(x) << 12 | UInt32(y))
        }
        var outs: [UInt16] = []
        for v in os { guard let s = slot(v, limit: base + inputs + packed.count) else { return nil }; outs.append(UInt16(s)) }
        guard !outs.isEmpty else { return nil }
        let (code, consts, simplifiedOuts) = Self.simplified(packed, constants: constants, inputs: inputs, outputs: outs)
        outs = simplifiedOuts
        var runs: [UInt32] = []
        for w in code {
            if let last = runs.last, last >> 24 == w >> 24 { runs[runs.count - 1] = last + 1 } else { runs.append(w & 0xff00_0000 | 1) }
        }
        let nk = consts.count, nr = runs.count, no = outs.count, nc = code.count
        let start = UnsafeMutableRawPointer.allocate(byteCount: Block.bytes(constants: nk, runs: nr, operations: nc, outputs: no),
                                                     alignment: 8)
        let counts: [Int] = [nk, inputs, nr, nc, no, 0, 0, 0]
        for i in 0..<8 { start.storeBytes(of: Int32(counts[i]), toByteOffset: 4 * i, as: Int32.self) }
        block = Block(base: start)
        (start + 32).bindMemory(to: Double.self, capacity: nk).initialize(from: consts, count: nk)
        (start + 32 + nk * 8).bindMemory(to: UInt32.self, capacity: nr).initialize(from: runs, count: nr)
        (start + 32 + nk * 8 + nr * 4).bindMemory(to: UInt16.self, capacity: no + 2 * nc).initialize(from: outs, count: no)
        let l = block.lhs, r = block.rhs
        for i in 0..<nc {
            l[i] = UInt16(truncatingIfNeeded: code[i] >> 12 & 0xfff)
            r[i] = UInt16(truncatingIfNeeded: code[i] & 0xfff)
        }
        self.groupKey = groups.joined(separator: ",")
    }

    static func isGuard(_ op: UInt32) -> Bool { op >= UInt32(Op.ltTrue.rawValue) }

    /// The same results with less work: an operation or guard repeating an earlier one on the same slots
    /// is dropped (its result is the earlier one's: the operations are pure), then everything neither
    /// an output nor a guard depends on (traced-only values), and unused constants; slots are renumbered.
    /// Every recording decodes its tape, so the work runs in one scratch block (no arrays per step).
    static func simplified(_ code: [UInt32], constants: [Double], inputs: Int, outputs: [UInt16]) -> ([UInt32], [Double], [UInt16]) {
        let base = constants.count, first = base + inputs, n = code.count, total = first + n
        let tableSize = max(16, (n * 2).nextPowerOf2), mask = tableSize - 1
        // alias (slot -> the slot holding its value), state, new slot: `total` each; the rewritten
        // words and the dedupe table (entry index + 1, 0 = empty)
        let scratch = UnsafeMutablePointer<Int32>.allocate(capacity: 3 * total + n + tableSize)
        defer { scratch.deallocate() }
        let alias = scratch, state = scratch + total, slot = scratch + 2 * total
        let rewritten = UnsafeMutableRawPointer(scratch + 3 * total).bindMemory(to: UInt32.self, capacity: n)
        let table = scratch + 3 * total + n
        table.initialize(repeating: 0, count: tableSize)
        for s in 0..<total { alias[s] = Int32(s) }
        // an operation's state: -1 dropped (a repeat, or dead), 0 kept; later its link in the ready lists
        for i in 0..<n {
            let w = code[i]
            let a = alias[Int(w >> 12 & 0xfff)], b = alias[Int(w & 0xfff)]
            let canonical = w & 0xff00_0000 | UInt32(a) << 12 | UInt32(b)
            rewritten[i] = canonical
            var h = Int(truncatingIfNeeded: (UInt64(canonical) &* 0x9E37_79B9_7F4A_7C15) >> 40) & mask
            while table[h] != 0 && rewritten[Int(table[h]) - 1] != canonical { h = (h + 1) & mask }
            if table[h] != 0 {
                state[first + i] = -1
                alias[first + i] = Int32(first) + table[h] - 1
            } else {
                state[first + i] = 0
                table[h] = Int32(i + 1)
            }
        }
        // live: slot marks (1) in `slot`, reused for the renumbering below
        slot.initialize(repeating: 0, count: total)
        for o in outputs { slot[Int(alias[Int(o)])] = 1 }
        for i in stride(from: n - 1, through: 0, by: -1) where state[first + i] == 0 {
            let w = rewritten[i]
            if isGuard(w >> 24) || slot[first + i] == 1 {
                slot[first + i] = 1
                slot[Int(w >> 12 & 0xfff)] = 1
                slot[Int(w & 0xfff)] = 1
            } else {
                state[first + i] = -1
            }
        }
        // Order: any order in which each operation follows its operands gives the recorded bits (the
        // operations are pure). `run` switches once per run of one kind, and a switch is an indirect
        // branch the processor often mispredicts, so the order is built greedily for long runs: the
        // kind with the most operations ready goes next, with every operation of that kind it makes
        // ready in turn. Guards (nothing depends on them) wait until no arithmetic is ready.
        let pending = UnsafeMutablePointer<Int32>.allocate(capacity: 4 * n + 1)   // + users' starts, users
        defer { pending.deallocate() }
        let userStart = pending + n, users = pending + 2 * n + 1
        pending.initialize(repeating: 0, count: 2 * n + 1)
        var keptCount = 0
        @inline(__always) func dependency(_ slotIndex: UInt32, of i: Int) -> Int? {
            let j = Int(slotIndex) - first
            return j >= 0 && j < i ? j : nil                 // an earlier operation (not a constant or input)
        }
        for i in 0..<n where state[first + i] == 0 {
            keptCount += 1
            let w = rewritten[i]
            if let j = dependency(w >> 12 & 0xfff, of: i) { pending[i] += 1; userStart[j + 1] += 1 }
            if let j = dependency(w & 0xfff, of: i) { pending[i] += 1; userStart[j + 1] += 1 }
        }
        for j in 0..<n { userStart[j + 1] += userStart[j] }
        @inline(__always) func addUser(_ i: Int, of j: Int?) {
            guard let j else { return }
            users[Int(userStart[j])] = Int32(i)
            userStart[j] += 1                                // ends as the end of j's users: its start is j - 1's end
        }
        for i in 0..<n where state[first + i] == 0 {
            let w = rewritten[i]
            addUser(i, of: dependency(w >> 12 & 0xfff, of: i))
            addUser(i, of: dependency(w & 0xfff, of: i))
        }
        // ready operations: one FIFO list per kind, linked through `next` (the operations' states)
        let next = state + first
        // (pointers, not arrays: a nested function mutating captured arrays checks exclusivity per call)
        let lists = UnsafeMutablePointer<Int32>.allocate(capacity: 48)
        defer { lists.deallocate() }
        let head = lists, tail = lists + 16, ready = lists + 32
        lists.initialize(repeating: -1, count: 32)
        ready.initialize(repeating: 0, count: 16)
        @inline(__always) func push(_ i: Int) {
            let k = Int(rewritten[i] >> 24)
            next[i] = -1
            if tail[k] >= 0 { next[Int(tail[k])] = Int32(i) } else { head[k] = Int32(i) }
            tail[k] = Int32(i)
            ready[k] += 1
        }
        let kept = UnsafeMutablePointer<Bool>.allocate(capacity: max(n, 1))
        defer { kept.deallocate() }
        for i in 0..<n { kept[i] = state[first + i] == 0 }
        for i in 0..<n where kept[i] && pending[i] == 0 { push(i) }
        let order = UnsafeMutablePointer<Int32>.allocate(capacity: max(keptCount, 1))
        defer { order.deallocate() }
        var emitted = 0
        while true {
            var kind = 0
            for k in 1..<16 where ready[k] > 0 && (kind == 0 || (isGuard(UInt32(kind)) && !isGuard(UInt32(k))) ||
                                                    (isGuard(UInt32(kind)) == isGuard(UInt32(k)) && ready[k] > ready[kind])) { kind = k }
            if kind == 0 { break }
            while head[kind] >= 0 {
                let i = Int(head[kind])
                head[kind] = next[i]
                if head[kind] < 0 { tail[kind] = -1 }
                ready[kind] -= 1
                order[emitted] = Int32(i)
                emitted += 1
                for u in Int(i == 0 ? 0 : userStart[i - 1]) ..< Int(userStart[i]) {
                    let user = Int(users[u])
                    pending[user] -= 1
                    if pending[user] == 0 { push(user) }
                }
            }
        }
        precondition(emitted == keptCount, "a tape's operations form a cycle")
        // renumber: live constants, all inputs, kept operations in that order
        var consts: [Double] = []
        for k in 0..<base where slot[k] == 1 { slot[k] = Int32(consts.count); consts.append(constants[k]) }
        for j in 0..<inputs { slot[base + j] = Int32(consts.count + j) }
        var out: [UInt32] = []
        out.reserveCapacity(keptCount)
        let opBase = consts.count + inputs
        for j in 0..<keptCount {
            let i = Int(order[j])
            let w = rewritten[i]
            slot[first + i] = Int32(opBase + j)
            out.append(w & 0xff00_0000 | UInt32(slot[Int(w >> 12 & 0xfff)]) << 12 | UInt32(slot[Int(w & 0xfff)]))
        }
        return (out, consts, outputs.map { UInt16(slot[Int(alias[Int($0)])]) })
    }

    /// Replays `block` on `input` (one double per tracked number, in column order), using `slots` (room
    /// for `maxSlots`) as scratch; writes total then the category values into `results` (room for
    /// `outputCount`). False when a guard fails: the row must go through the script.
    static func run(_ block: Block, _ input: UnsafePointer<Double>, slots v: UnsafeMutablePointer<Double>,
                    results: UnsafeMutablePointer<Double>) -> Bool {
        let base = block.constantCount, inputs = block.inputs, runCount = block.runCount
        if base > 0 { v.update(from: block.constants, count: base) }
        if inputs > 0 { (v + base).update(from: input, count: inputs) }
        let runs = block.runs, l = block.lhs, r = block.rhs, out = v + base + inputs
        var i = 0
        @inline(__always) func each(_ end: Int, _ body: (Double, Double) -> Double) {
            while i < end { out[i] = body(v[Int(l[i])], v[Int(r[i])]); i &+= 1 }
        }
        @inline(__always) func holds(_ end: Int, _ test: (Double, Double) -> Bool) -> Bool {
            while i < end { if !test(v[Int(l[i])], v[Int(r[i])]) { return false }; i &+= 1 }
            return true
        }
        for k in 0..<runCount {
            let run = runs[k]
            let end = i &+ Int(run & 0xff_ffff)
            switch UInt8(truncatingIfNeeded: run >> 24) {
            case Op.add.rawValue: each(end) { $0 + $1 }
            case Op.sub.rawValue: each(end) { $0 - $1 }
            case Op.mul.rawValue: each(end) { $0 * $1 }
            case Op.div.rawValue: each(end) { $0 / $1 }
            case Op.unm.rawValue: each(end) { x, _ in -x }
            case Op.ltTrue.rawValue: guard holds(end, { $0 < $1 }) else { return false }
            case Op.ltFalse.rawValue: guard holds(end, { !($0 < $1) }) else { return false }
            case Op.leTrue.rawValue: guard holds(end, { $0 <= $1 }) else { return false }
            case Op.leFalse.rawValue: guard holds(end, { !($0 <= $1) }) else { return false }
            case Op.eqTrue.rawValue: guard holds(end, { $0 == $1 }) else { return false }
            case Op.eqFalse.rawValue: guard holds(end, { !($0 == $1) }) else { return false }
            case Op.finiteTrue.rawValue: guard holds(end, { x, _ in x.isFinite }) else { return false }
            case Op.finiteFalse.rawValue: guard holds(end, { x, _ in !x.isFinite }) else { return false }
            case Op.integerTrue.rawValue: guard holds(end, { x, _ in x == x.rounded(.down) }) else { return false }
            default: guard holds(end, { x, _ in x != x.rounded(.down) }) else { return false }   // integerFalse (checked at decode)
            }
        }
        let outputs = block.outputs
        for k in 0..<block.outputCount { results[k] = v[Int(outputs[k])] }
        return true
    }

    func run(_ input: [Double]) -> [Double]? {
        let slots = UnsafeMutablePointer<Double>.allocate(capacity: Self.maxSlots)
        defer { slots.deallocate() }
        var results = [Double](repeating: 0, count: outputCount)
        let ok = input.withUnsafeBufferPointer { i in
            results.withUnsafeMutableBufferPointer { Self.run(block, i.baseAddress ?? UnsafePointer(slots), slots: slots, results: $0.baseAddress!) }
        }
        return ok ? results : nil
    }
}

private extension Int {
    /// The least power of two >= self (self > 0).
    var nextPowerOf2: Int { 1 << (Int.bitWidth - (self - 1).leadingZeroBitCount) }
}
