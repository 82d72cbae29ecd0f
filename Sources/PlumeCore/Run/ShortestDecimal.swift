/// The shortest decimal that reads back as a given double (and of those, the nearest), written as bytes
/// without building a String: the per-row output path formats several numbers per row.
///
/// The method is Schubfach (Raffaello Giulietti, "The Schubfach way to render doubles", 2020): the
/// double and the ends of the interval of reals that round to it are scaled by one 126-bit power of
/// ten, which leaves at most two candidates of the shortest length and two one digit longer to
/// compare; no loop removes digits one at a time (Ryu, used before, took a third more instructions).
/// The powers are computed exactly at first use (big-integer arithmetic), not transcribed. One shared
/// instance holds them; a caller formatting many numbers keeps a reference (`shared` is a lazy global,
/// checked on every access). Unchecked Sendable: the tables are written once in `init` and only read after.
final class ShortestDecimal: @unchecked Sendable {
    static let shared = ShortestDecimal()

    /// For k in kMin...kMax, g = ⌊10^-k × 2^(125 - ⌊-k log2 10⌋)⌋ + 1 (2^125 < g <= 2^126), as its
    /// upper 63 bits at 2(k - kMin) and its lower 63 bits at 2(k - kMin) + 1.
    private let g: UnsafeMutablePointer<UInt64>
    /// "00" "01" ... "99", and 10^0 ... 10^19.
    private let pairs: UnsafeMutablePointer<UInt8>
    private let powersOfTen: UnsafeMutablePointer<UInt64>
    /// ⌊v / 10^f⌋ = (v × reciprocals[f]) >> (64 + shifts[f]) for every v < 2^57 and f in 1...17:
    /// reciprocals[f] = ⌈2^(64 + s) / 10^f⌉ with s = ⌈log2 10^f⌉ - 1, whose excess over the exact
    /// quotient is below 2^-57 of it.
    private let reciprocals: UnsafeMutablePointer<UInt64>
    private let shifts: UnsafeMutablePointer<Int>
    static let kMin = -324, kMax = 292
    /// The smallest exponent: a double is c × 2^q with q >= qMin.
    static let qMin = -1074

    private init() {
        g = .allocate(capacity: 2 * (Self.kMax - Self.kMin + 1))
        for (k, (hi, lo)) in Tables.g() {
            g[2 * (k - Self.kMin)] = hi; g[2 * (k - Self.kMin) + 1] = lo
        }
        pairs = .allocate(capacity: 200)
        for v in 0..<100 { pairs[2 * v] = UInt8(48 + v / 10); pairs[2 * v + 1] = UInt8(48 + v % 10) }
        powersOfTen = .allocate(capacity: 20)
        var p: UInt64 = 1
        for k in 0..<20 { powersOfTen[k] = p; p = p &* 10 }
        reciprocals = .allocate(capacity: 18)
        shifts = .allocate(capacity: 18)
        reciprocals[0] = 0; shifts[0] = 0
        for f in 1...17 {
            let d = powersOfTen[f]
            let s = 64 - (d - 1).leadingZeroBitCount - 1          // ⌈log2 d⌉ - 1 (d is not a power of two)
            let (q, r) = d.dividingFullWidth((high: UInt64(1) << UInt64(s), low: 0))
            reciprocals[f] = q + (r > 0 ? 1 : 0)
            shifts[f] = s
        }
    }
    // never deallocated: the one instance lives as long as the process

    /// Digits (as an integer) and the power of ten: `value = digits × 10^exponent`, `digits` shortest
    /// and without trailing zeros. `d` finite and > 0.
    func decimal(_ d: Double) -> (digits: UInt64, exponent: Int) {
        let bits = d.bitPattern
        let t = bits & ((1 << 52) - 1)
        let bq = Int(bits >> 52 & 0x7ff)
        var (f, e): (UInt64, Int)
        if bq != 0 {
            (f, e) = decimal(q: bq - 1075, c: 1 << 52 | t)
        } else {
            (f, e) = decimal(q: Self.qMin, c: t)                    // subnormal
        }
        if f == 0 { return (0, 0) }
        while f % 10 == 0 { f /= 10; e &+= 1 }
        return (f, e)
    }

    /// The decimal for c × 2^q (c < 2^54).
    @inline(__always) private func decimal(q: Int, c: UInt64) -> (UInt64, Int) {
        let out: UInt64 = c & 1                  // an odd c excludes the interval's ends (ties go to even)
        let cb = c << 2, cbr = cb + 2
        let cbl: UInt64, k: Int
        if c != 1 << 52 || q == Self.qMin {
            cbl = cb - 2
            k = Self.flog10pow2(q)
        } else {
            cbl = cb - 1                         // a power of two: the gap below is half the gap above
            k = Self.flog10threeQuartersPow2(q)
        }
        let h = q + Self.flog2pow10(-k) + 2
        let g1 = g[2 * (k - Self.kMin)], g0 = g[2 * (k - Self.kMin) + 1]
        let vb = Self.rop(g1, g0, cb << UInt64(h))
        let vbl = Self.rop(g1, g0, cbl << UInt64(h))
        let vbr = Self.rop(g1, g0, cbr << UInt64(h))
        let s = vb >> 2
        // One digit shorter: s' = ⌊s / 10⌋ by a multiply; sp10 = 10 s', tp10 = 10 (s' + 1). The interval
        // is under ten units wide, so at most one of them is in it. (Java's version of the method skips
        // this below s = 100 to keep two digits; the shortest wants it for the least subnormals too.)
        let sp10 = 10 &* s.multipliedFullWidth(by: 115_292_150_460_684_698 << 4).high
        let tp10 = sp10 &+ 10
        let upin = vbl &+ out <= sp10 << 2
        let wpin = (tp10 << 2) &+ out <= vbr
        if upin != wpin { return (upin ? sp10 : tp10, k) }
        let tt = s &+ 1
        let uin = vbl &+ out <= s << 2
        let win = (tt << 2) &+ out <= vbr
        if uin != win { return (uin ? s : tt, k) }
        // both (never neither): the nearer, the even one on a tie
        let cmp = Int64(bitPattern: vb &- ((s &+ tt) << 1))
        return (cmp < 0 || (cmp == 0 && s & 1 == 0) ? s : tt, k)
    }

    /// ⌈g × cp / 2^127⌉ roughly: the high bits of the product, with the lowest bit set when anything
    /// below them is nonzero (so comparisons see an inexact value as inexact).
    @inline(__always) private static func rop(_ g1: UInt64, _ g0: UInt64, _ cp: UInt64) -> UInt64 {
        let x1 = g0.multipliedFullWidth(by: cp).high
        let y = g1.multipliedFullWidth(by: cp)
        let z = (y.low >> 1) &+ x1
        let vbp = y.high &+ (z >> 63)
        return vbp | (((z & (1 << 63 - 1)) &+ (1 << 63 - 1)) >> 63)
    }

    /// ⌊q log10 2⌋, ⌊log10(3/4 × 2^q)⌋ and ⌊e log2 10⌋ for the exponents doubles need.
    @inline(__always) static func flog10pow2(_ q: Int) -> Int { (q &* 661_971_961_083) >> 41 }
    @inline(__always) static func flog10threeQuartersPow2(_ q: Int) -> Int { (q &* 661_971_961_083 &- 274_743_187_321) >> 41 }
    @inline(__always) static func flog2pow10(_ e: Int) -> Int { (e &* 913_124_641_741) >> 38 }

    /// Writes `d` as Swift's `description` would when that is plain decimal notation with a fraction
    /// (`0.0001 <= |d| < 10^15`, not integral); returns the byte count, or nil for every other value
    /// (the caller then formats it another way). `out` must hold `room` bytes: past the number's end
    /// it may write bytes that mean nothing.
    func writePlain(_ d: Double, to out: UnsafeMutablePointer<UInt8>) -> Int? {
        let a = abs(d)
        guard a >= 1e-4, a < 1e15, Double(Int64(a)) != a else { return nil }
        let (digits, exponent) = decimal(a)
        let n = length(digits)
        let point = n &+ exponent                 // digits before the point: value = 0.d1d2... × 10^point
        guard point >= -3, point < n else { return nil }
        var o = 0
        if d < 0 { out[0] = 45; o = 1 }
        if point <= 0 {
            out[o] = 48; out[o &+ 1] = 46; o &+= 2
            for _ in 0 ..< -point { out[o] = 48; o &+= 1 }
            writeDigits(digits, end: out + o + n)
            return o &+ n
        }
        // Integer part and fraction from one exact multiply (no division instruction), each written
        // where it belongs: writing the digits once and moving the integer part over made the processor
        // wait for its stores to reach a load that spanned them.
        let f = n &- point                        // fraction digits, 1...16
        let q = digits.multipliedFullWidth(by: reciprocals[f]).high >> UInt64(shifts[f])
        let r = digits &- q &* powersOfTen[f]
        // left to right, each part in at most two words, so that what a word writes past its part is
        // written over next (and past the number, means nothing)
        Self.writeFixed(q, count: point, at: out + o)
        out[o &+ point] = 46
        Self.writeFixed(r, count: f, at: out + o + point + 1)
        return o &+ 1 &+ n
    }

    /// Writes finite, nonzero `d` in exponent form as Swift's `description` does ("2.5e-05", "5e-324",
    /// "9.007199254740994e+15") and returns the byte count; `out` must hold `room` bytes. Small results
    /// (a per-impression storage share) take this form in about a sixth of gmsf's rows, where a
    /// `description` cost a string's allocation.
    func writeExponent(_ d: Double, to out: UnsafeMutablePointer<UInt8>) -> Int {
        let (digits, exponent) = decimal(abs(d))
        let n = length(digits)
        var o = 0
        if d < 0 { out[0] = 45; o = 1 }
        writeDigits(digits, end: out + o + 1 + n)     // one place to the right: the point follows the first
        out[o] = out[o &+ 1]
        if n > 1 { out[o &+ 1] = 46; o &+= 1 &+ n } else { o &+= 1 }
        let e = exponent &+ n &- 1
        out[o] = 101
        out[o &+ 1] = e < 0 ? 45 : 43
        o &+= 2
        var m = Int(e.magnitude)                      // at most 324
        if m >= 100 { out[o] = 48 &+ UInt8(m / 100); o &+= 1; m %= 100 }
        out[o] = 48 &+ UInt8(m / 10)
        out[o &+ 1] = 48 &+ UInt8(m % 10)
        return o &+ 2
    }

    /// Writes v < 10^count as exactly `count` (1...16) digits at `p`, and up to 7 bytes that mean
    /// nothing after them.
    @inline(__always) private static func writeFixed(_ v: UInt64, count: Int, at p: UnsafeMutablePointer<UInt8>) {
        if count > 8 {
            storeLast(count &- 8, of: eightDigits(UInt32(truncatingIfNeeded: v / 100_000_000)), at: p)
            UnsafeMutableRawPointer(p + count - 8).storeBytes(of: eightDigits(UInt32(truncatingIfNeeded: v % 100_000_000)).littleEndian,
                                                             as: UInt64.self)
        } else {
            storeLast(count, of: eightDigits(UInt32(truncatingIfNeeded: v)), at: p)
        }
    }

    /// Stores the last `count` (1...8) of the eight digits in `word` at `p`, and 8 - count bytes that
    /// mean nothing after them.
    @inline(__always) private static func storeLast(_ count: Int, of word: UInt64, at p: UnsafeMutablePointer<UInt8>) {
        UnsafeMutableRawPointer(p).storeBytes(of: (word >> UInt64(8 &* (8 &- count))).littleEndian, as: UInt64.self)
    }

    /// Bytes `writePlain` may touch from `out`: a sign, 17 digits, the point and 7 bytes past them
    /// (`writeExponent` needs 24: a sign, 17 digits, the point and "e-324").
    static let room = 26

    /// Decimal digits of `v` (v > 0).
    @inline(__always) func length(_ v: UInt64) -> Int {
        let guess = ((64 &- v.leadingZeroBitCount) &* 1233) >> 12      // ⌊log10(2^bits)⌋, one short at most
        return guess &+ (v >= powersOfTen[guess] ? 1 : 0)
    }

    /// Writes `v`'s digits so that the last one ends just before `end` (and nothing else): eight at a
    /// time as one word, then pairs.
    @inline(__always) func writeDigits(_ v: UInt64, end: UnsafeMutablePointer<UInt8>) {
        var v = v, p = end
        while v >= 100_000_000 {
            let low = UInt32(truncatingIfNeeded: v % 100_000_000)
            v /= 100_000_000
            p -= 8
            UnsafeMutableRawPointer(p).storeBytes(of: Self.eightDigits(low).littleEndian, as: UInt64.self)
        }
        var w = UInt32(truncatingIfNeeded: v)
        if w >= 10_000_000 {
            UnsafeMutableRawPointer(p - 8).storeBytes(of: Self.eightDigits(w).littleEndian, as: UInt64.self)
            return
        }
        let t = pairs
        @inline(__always) func pair(_ r: UInt32, _ at: UnsafeMutablePointer<UInt8>) {
            at[0] = t[Int(r &* 2)]; at[1] = t[Int(r &* 2 &+ 1)]
        }
        while w >= 100 { p -= 2; pair(w % 100, p); w /= 100 }
        if w >= 10 { p -= 2; pair(w, p) } else { p -= 1; p[0] = UInt8(truncatingIfNeeded: 48 &+ w) }
    }

    /// The eight ASCII digits of x < 10^8, the first in the lowest byte: split into two halves of four
    /// digits, each half into pairs, each pair into digits, every step on all the lanes of one word
    /// (a multiply and a shift divide each lane by 100 or 10 exactly in its range).
    @inline(__always) static func eightDigits(_ x: UInt32) -> UInt64 {
        let merged = UInt64(x / 10_000) | UInt64(x % 10_000) << 32
        let top = ((merged &* 10486) >> 20) & (0x7F << 32 | 0x7F)
        let bottom = merged &- 100 &* top
        let hundreds = (bottom << 16) &+ top
        var tens = ((hundreds &* 103) >> 10) & (0xF << 48 | 0xF << 32 | 0xF << 16 | 0xF)
        tens &+= (hundreds &- 10 &* tens) << 8
        return tens | 0x3030_3030_3030_3030
    }

    /// The table of powers, by exact big-integer arithmetic (little-endian 64-bit limbs).
    private enum Tables {
        /// g for every k (see `g`), as (upper 63 bits, lower 63 bits): 10^-k scaled into
        /// [2^125, 2^126), floored, plus one. For k <= 0 from 10^-k, for k > 0 from ⌊2^m / 10^k⌋ with m
        /// large enough for all of them (⌊⌊a / b⌋ / c⌋ = ⌊a / bc⌋), each power one step from the last.
        static func g() -> [(Int, (UInt64, UInt64))] {
            var out: [(Int, (UInt64, UInt64))] = []
            var p: [UInt64] = [1]                                   // 10^-k
            for k in stride(from: 0, through: ShortestDecimal.kMin, by: -1) {
                if k < 0 { p = times10(p) }
                out.append((k, split(p, scaledBy: 125 - ShortestDecimal.flog2pow10(-k))))
            }
            let m = 125 - ShortestDecimal.flog2pow10(-ShortestDecimal.kMax) + 1
            var q = [UInt64](repeating: 0, count: m / 64 + 1)       // ⌊2^m / 10^k⌋
            q[m / 64] = 1 << UInt64(m % 64)
            for k in 1...ShortestDecimal.kMax {
                q = dividedBy10(q)
                out.append((k, split(q, scaledBy: 125 - ShortestDecimal.flog2pow10(-k) - m)))
            }
            return out
        }

        /// ⌊a × 2^shift⌋ + 1 (126 bits) as (upper 63 bits, lower 63 bits).
        static func split(_ a: [UInt64], scaledBy shift: Int) -> (UInt64, UInt64) {
            var lo: UInt64 = 0, hi: UInt64 = 0
            for i in 0..<126 where bit(a, i - shift) {
                if i < 63 { lo |= 1 << UInt64(i) } else { hi |= 1 << UInt64(i - 63) }
            }
            let top = a.lastIndex { $0 != 0 }.map { $0 * 64 + 64 - a[$0].leadingZeroBitCount } ?? 0    // bit length
            precondition(hi >> 62 == 1 && top + shift == 126, "a power of ten out of [2^125, 2^126)")
            lo += 1
            if lo >> 63 == 1 { lo = 0; hi += 1 }                    // never past 2^126: 10^-k is not a power of two
            return (hi, lo)
        }

        static func bit(_ a: [UInt64], _ i: Int) -> Bool { i >= 0 && i / 64 < a.count && a[i / 64] >> UInt64(i % 64) & 1 == 1 }

        static func times10(_ a: [UInt64]) -> [UInt64] {
            var out: [UInt64] = [], carry: UInt64 = 0
            for limb in a {
                let (hi, lo) = limb.multipliedFullWidth(by: 10)
                let (sum, o) = lo.addingReportingOverflow(carry)
                out.append(sum)
                carry = hi + (o ? 1 : 0)
            }
            if carry > 0 { out.append(carry) }
            return out
        }

        static func dividedBy10(_ a: [UInt64]) -> [UInt64] {
            var out = a, remainder: UInt64 = 0
            for i in stride(from: a.count - 1, through: 0, by: -1) {
                (out[i], remainder) = UInt64(10).dividingFullWidth((remainder, a[i]))
            }
            return out
        }
    }
}
