/// The shortest decimal that reads back as a given double (and of those, the nearest), written as bytes
/// without building a String: the per-row output path formats several numbers per row.
///
/// The method is Ryu (Ulf Adams, "Ryū: fast float-to-string conversion", PLDI 2018): the interval of
/// decimals that round to the double is scaled by a 128-bit power of five, and digits are removed while
/// the interval still holds a shorter decimal. The tables are computed exactly at first use (big-integer
/// arithmetic), not transcribed. One shared instance holds them; a caller formatting many numbers keeps
/// a reference (`shared` is a lazy global, checked on every access). Unchecked Sendable: the tables
/// are written once in `init` and only read after.
final class ShortestDecimal: @unchecked Sendable {
    static let shared = ShortestDecimal()

    /// 5^i's top `powBits` bits, and ⌊2^(bits(5^q) - 1 + invBits) / 5^q⌋ + 1; each as low, high words.
    private let power: UnsafeMutablePointer<UInt64>
    private let inverse: UnsafeMutablePointer<UInt64>
    /// "00" "01" ... "99", and 10^0 ... 10^19.
    private let pairs: UnsafeMutablePointer<UInt8>
    private let powersOfTen: UnsafeMutablePointer<UInt64>
    static let powBits = 125, invBits = 125

    private init() {
        let tables = Tables()
        power = .allocate(capacity: 2 * tables.power.count)
        inverse = .allocate(capacity: 2 * tables.inverse.count)
        for (i, (lo, hi)) in tables.power.enumerated() { power[2 * i] = lo; power[2 * i + 1] = hi }
        for (i, (lo, hi)) in tables.inverse.enumerated() { inverse[2 * i] = lo; inverse[2 * i + 1] = hi }
        pairs = .allocate(capacity: 200)
        for v in 0..<100 { pairs[2 * v] = UInt8(48 + v / 10); pairs[2 * v + 1] = UInt8(48 + v % 10) }
        powersOfTen = .allocate(capacity: 20)
        var p: UInt64 = 1
        for k in 0..<20 { powersOfTen[k] = p; p = p &* 10 }
    }
    // never deallocated: the one instance lives as long as the process

    /// Digits (as an integer) and the power of ten: `value = digits × 10^exponent`, `digits` shortest.
    func decimal(_ d: Double) -> (digits: UInt64, exponent: Int) {
        let bits = d.bitPattern
        let mantissa = bits & ((1 << 52) - 1)
        let biased = Int((bits >> 52) & 0x7ff)
        let e2: Int, m2: UInt64
        if biased == 0 {
            e2 = 1 - 1023 - 52 - 2
            m2 = mantissa
        } else {
            e2 = biased - 1023 - 52 - 2
            m2 = (1 << 52) | mantissa
        }
        let acceptBounds = m2 & 1 == 0
        // the interval's ends, times 4: mv ± (2, 1 or 2); the lower gap halves at a power of two
        let mv = m2 &<< 2
        let mmShift: UInt64 = (mantissa != 0 || biased <= 1) ? 1 : 0
        var vr: UInt64, vp: UInt64, vm: UInt64
        var e10: Int
        var vmIsTrailingZeros = false, vrIsTrailingZeros = false
        if e2 >= 0 {
            let q = Self.log10Pow2(e2) - (e2 > 3 ? 1 : 0)
            e10 = q
            let k = Self.invBits + Self.pow5bits(q) - 1
            let i = -e2 + q + k
            let mul = (inverse[2 * q], inverse[2 * q + 1])
            vr = Self.mulShift(mv, mul, i)
            vp = Self.mulShift(mv &+ 2, mul, i)
            vm = Self.mulShift(mv &- 1 &- mmShift, mul, i)
            if q <= 21 {
                if mv % 5 == 0 {
                    vrIsTrailingZeros = Self.multipleOfPowerOf5(mv, q)
                } else if acceptBounds {
                    vmIsTrailingZeros = Self.multipleOfPowerOf5(mv - 1 - mmShift, q)
                } else if Self.multipleOfPowerOf5(mv + 2, q) {
                    vp -= 1
                }
            }
        } else {
            let q = Self.log10Pow5(-e2) - (-e2 > 1 ? 1 : 0)
            e10 = q + e2
            let i = -e2 - q
            let k = Self.pow5bits(i) - Self.powBits
            let j = q - k
            let mul = (power[2 * i], power[2 * i + 1])
            vr = Self.mulShift(mv, mul, j)
            vp = Self.mulShift(mv &+ 2, mul, j)
            vm = Self.mulShift(mv &- 1 &- mmShift, mul, j)
            if q <= 1 {
                vrIsTrailingZeros = true
                if acceptBounds {
                    vmIsTrailingZeros = mmShift == 1
                } else {
                    vp -= 1
                }
            } else if q < 63 {
                vrIsTrailingZeros = mv & ((1 << UInt64(q)) - 1) == 0
            }
        }
        var removed = 0
        var output: UInt64
        if vmIsTrailingZeros || vrIsTrailingZeros {
            var last: UInt64 = 0
            while vp / 10 > vm / 10 {
                vmIsTrailingZeros = vmIsTrailingZeros && vm % 10 == 0
                vrIsTrailingZeros = vrIsTrailingZeros && last == 0
                last = vr % 10
                vr /= 10; vp /= 10; vm /= 10; removed += 1
            }
            if vmIsTrailingZeros {
                while vm % 10 == 0 {
                    vrIsTrailingZeros = vrIsTrailingZeros && last == 0
                    last = vr % 10
                    vr /= 10; vp /= 10; vm /= 10; removed += 1
                }
            }
            if vrIsTrailingZeros && last == 5 && vr % 2 == 0 { last = 4 }   // exactly halfway: round to even
            output = vr + (((vr == vm && (!acceptBounds || !vmIsTrailingZeros)) || last >= 5) ? 1 : 0)
        } else {
            // Without exact ties only the last digit removed decides the rounding, so digits can go
            // eight, four, two at a time (short results lose a dozen digits here).
            var roundUp = false
            @inline(__always) func drop(_ step: UInt64, _ count: Int) {
                while vp / step > vm / step {
                    roundUp = vr % step >= step / 2
                    vr /= step; vp /= step; vm /= step; removed &+= count
                }
            }
            drop(100_000_000, 8); drop(10_000, 4); drop(100, 2); drop(10, 1)
            output = vr &+ ((vr == vm || roundUp) ? 1 : 0)
        }
        return (output, e10 &+ removed)
    }

    /// Writes `d` as Swift's `description` would when that is plain decimal notation with a fraction
    /// (`0.0001 <= |d| < 10^15`, not integral); returns the byte count, or nil for every other value
    /// (the caller then formats it another way). `out` must hold 32 bytes.
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
        // the digits one byte to the right, then the integer part back over the gap and the point
        writeDigits(digits, end: out + o + 1 + n)
        (out + o).update(from: out + o + 1, count: point)
        out[o &+ point] = 46
        return o &+ 1 &+ n
    }

    /// Decimal digits of `v` (v > 0).
    @inline(__always) func length(_ v: UInt64) -> Int {
        let guess = ((64 &- v.leadingZeroBitCount) &* 1233) >> 12      // ⌊log10(2^bits)⌋, one short at most
        return guess &+ (v >= powersOfTen[guess] ? 1 : 0)
    }

    /// Writes `v`'s digits so that the last one ends just before `end`: eight at a time in two
    /// independent halves (the divisions are the cost), then pairs.
    @inline(__always) func writeDigits(_ v: UInt64, end: UnsafeMutablePointer<UInt8>) {
        var v = v, p = end
        let t = pairs
        @inline(__always) func pair(_ r: UInt32, _ at: UnsafeMutablePointer<UInt8>) {
            at[0] = t[Int(r &* 2)]; at[1] = t[Int(r &* 2 &+ 1)]
        }
        while v >= 100_000_000 {
            let low = UInt32(truncatingIfNeeded: v % 100_000_000)
            v /= 100_000_000
            p -= 8
            let hi = low / 10_000, lo = low % 10_000
            pair(hi / 100, p); pair(hi % 100, p + 2); pair(lo / 100, p + 4); pair(lo % 100, p + 6)
        }
        var w = UInt32(truncatingIfNeeded: v)
        while w >= 100 { p -= 2; pair(w % 100, p); w /= 100 }
        if w >= 10 { p -= 2; pair(w, p) } else { p -= 1; p[0] = UInt8(truncatingIfNeeded: 48 &+ w) }
    }

    @inline(__always) static func pow5bits(_ e: Int) -> Int { ((e * 1_217_359) >> 19) + 1 }
    @inline(__always) static func log10Pow2(_ e: Int) -> Int { (e * 78_913) >> 18 }
    @inline(__always) static func log10Pow5(_ e: Int) -> Int { (e * 732_923) >> 20 }

    static func multipleOfPowerOf5(_ v: UInt64, _ p: Int) -> Bool {
        var v = v, count = 0
        while v % 5 == 0 { v /= 5; count += 1 }   // v > 0 here
        return count >= p
    }

    /// (m × mul) >> j for a 128-bit `mul` (low, high) and 64 <= j < 192, the result fitting 64 bits.
    @inline(__always) static func mulShift(_ m: UInt64, _ mul: (UInt64, UInt64), _ j: Int) -> UInt64 {
        let low = m.multipliedFullWidth(by: mul.0)
        let high = m.multipliedFullWidth(by: mul.1)
        let (mid, carry) = high.low.addingReportingOverflow(low.high)
        let top = high.high &+ (carry ? 1 : 0)
        let s = j - 64
        if s == 0 { return mid }
        if s >= 64 { return top >> UInt64(s - 64) }
        return top << UInt64(64 - s) | mid >> UInt64(s)
    }

    /// 128-bit scaled powers of five: `power[i]` is 5^i's top `powBits` bits; `inverse[q]` is
    /// ⌊2^(bits(5^q) - 1 + invBits) / 5^q⌋ + 1.
    private struct Tables {
        let power: [(UInt64, UInt64)]
        let inverse: [(UInt64, UInt64)]

        init() {
            var power: [(UInt64, UInt64)] = [], inverse: [(UInt64, UInt64)] = []
            var p: [UInt64] = [1]                       // 5^i, little-endian limbs
            for i in 0..<342 {
                let bits = Self.bitLength(p)
                precondition(bits == ShortestDecimal.pow5bits(i), "pow5bits(\(i))")
                if i < 326 { power.append(Self.top(p, bits: bits, keep: ShortestDecimal.powBits)) }
                inverse.append(Self.inverse(p, bits: bits))
                p = Self.times5(p)
            }
            self.power = power
            self.inverse = inverse
        }

        static func bitLength(_ a: [UInt64]) -> Int {
            var n = a.count
            while n > 1 && a[n - 1] == 0 { n -= 1 }
            return (n - 1) * 64 + (64 - a[n - 1].leadingZeroBitCount)
        }

        static func times5(_ a: [UInt64]) -> [UInt64] {
            var out: [UInt64] = [], carry: UInt64 = 0
            for limb in a {
                let (hi, lo) = limb.multipliedFullWidth(by: 5)
                let (sum, o) = lo.addingReportingOverflow(carry)
                out.append(sum)
                carry = hi + (o ? 1 : 0)
            }
            if carry > 0 { out.append(carry) }
            return out
        }

        static func bit(_ a: [UInt64], _ k: Int) -> UInt64 {
            k < 0 || k / 64 >= a.count ? 0 : (a[k / 64] >> UInt64(k % 64)) & 1
        }

        /// The top `keep` bits of `a` (shifted left when `a` is shorter), as (low, high).
        static func top(_ a: [UInt64], bits: Int, keep: Int) -> (UInt64, UInt64) {
            var lo: UInt64 = 0, hi: UInt64 = 0
            for k in 0..<keep {
                let b = bit(a, bits - keep + k)
                if k < 64 { lo |= b << UInt64(k) } else { hi |= b << UInt64(k - 64) }
            }
            return (lo, hi)
        }

        /// ⌊2^(bits - 1 + invBits) / a⌋ + 1 by binary long division. The dividend's one set bit makes
        /// the remainder 2^(bits - 1) once the quotient can first be nonzero, at bit `invBits`.
        static func inverse(_ a: [UInt64], bits: Int) -> (UInt64, UInt64) {
            var r = [UInt64](repeating: 0, count: a.count + 1)
            r[(bits - 1) / 64] = 1 << UInt64((bits - 1) % 64)
            var lo: UInt64 = 0, hi: UInt64 = 0
            for k in stride(from: ShortestDecimal.invBits, through: 0, by: -1) {
                if k < ShortestDecimal.invBits { shiftLeft1(&r) }
                if !less(r, a) {
                    subtract(&r, a)
                    if k < 64 { lo |= 1 << UInt64(k) } else { hi |= 1 << UInt64(k - 64) }
                }
            }
            let (sum, o) = lo.addingReportingOverflow(1)
            return (sum, hi + (o ? 1 : 0))
        }

        static func shiftLeft1(_ r: inout [UInt64]) {
            var carry: UInt64 = 0
            for i in r.indices { let next = r[i] >> 63; r[i] = r[i] << 1 | carry; carry = next }
        }

        static func less(_ r: [UInt64], _ a: [UInt64]) -> Bool {
            for i in stride(from: max(r.count, a.count) - 1, through: 0, by: -1) {
                let x = i < r.count ? r[i] : 0, y = i < a.count ? a[i] : 0
                if x != y { return x < y }
            }
            return false
        }

        static func subtract(_ r: inout [UInt64], _ a: [UInt64]) {
            var borrow: UInt64 = 0
            for i in r.indices {
                let y = i < a.count ? a[i] : 0
                let (d1, o1) = r[i].subtractingReportingOverflow(y)
                let (d2, o2) = d1.subtractingReportingOverflow(borrow)
                r[i] = d2
                borrow = (o1 || o2) ? 1 : 0
            }
        }
    }
}
