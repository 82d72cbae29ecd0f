import Foundation
import LuaHost

/// Types a CSV cell (or a `--set` value) by the rules of Docs/VECTORS.md: trimmed text; empty is absent;
/// the decimal number grammar gives a double; true/false in any case give a boolean; anything else
/// stays a string.
public enum CellTyper {
    @inline(__always) static func isSpace(_ c: UInt8) -> Bool { c == 32 || (c >= 9 && c <= 13) }

    /// nil = absent.
    public static func type(_ text: String) -> LuaValue? {
        var text = text
        return text.withUTF8 { type(bytes: UnsafeRawBufferPointer($0)) }
    }

    public static func type(bytes raw: UnsafeRawBufferPointer) -> LuaValue? {
        let s = trimmed(raw)
        if s.isEmpty { return nil }
        if let d = number(s) { return .number(d) }
        if let b = boolean(s) { return .boolean(b) }
        return .string(String(decoding: s, as: UTF8.self))
    }

    /// `range` of `b` without the white space around it.
    @inline(__always) static func trimmed(_ b: UnsafeRawBufferPointer, _ range: Range<Int>) -> Range<Int> {
        var lo = range.lowerBound, hi = range.upperBound
        while lo < hi, isSpace(b[lo]) { lo += 1 }
        while hi > lo, isSpace(b[hi - 1]) { hi -= 1 }
        return lo..<hi
    }

    @inline(__always) static func trimmed(_ b: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: b[trimmed(b, 0..<b.count)])
    }

    /// true / false in any case; nil for any other (trimmed) text.
    static func boolean(_ s: UnsafeRawBufferPointer) -> Bool? {
        func spells(_ word: StaticString) -> Bool {
            s.count == word.utf8CodeUnitCount && (0..<s.count).allSatisfy { s[$0] | 0x20 == word.utf8Start[$0] }
        }
        return spells("true") ? true : spells("false") ? false : nil
    }

    /// The decimal grammar `[+-] (digits [. [digits]] | . digits) [(e|E) [+-] digits]`, parsed with
    /// strtod (nearest double, ties to even; infinity beyond range).
    private static let powersOfTen: [Double] = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15]

    public static func number(_ s: UnsafeRawBufferPointer) -> Double? {
        var i = 0
        let n = s.count
        if i < n, s[i] == 43 || s[i] == 45 { i += 1 }
        var intDigits = 0, fracDigits = 0
        while i < n, s[i] >= 48, s[i] <= 57 { i += 1; intDigits += 1 }
        if i < n, s[i] == 46 {
            i += 1
            while i < n, s[i] >= 48, s[i] <= 57 { i += 1; fracDigits += 1 }
        }
        if intDigits == 0 && fracDigits == 0 { return nil }
        if i < n, s[i] == 101 || s[i] == 69 {
            i += 1
            if i < n, s[i] == 43 || s[i] == 45 { i += 1 }
            var expDigits = 0
            while i < n, s[i] >= 48, s[i] <= 57 { i += 1; expDigits += 1 }
            if expDigits == 0 { return nil }
        }
        if i != n { return nil }
        // Fast path for short plain integers (most cells).
        if fracDigits == 0, intDigits > 0, intDigits <= 15, n == intDigits {
            var v: Int64 = 0
            for j in 0..<n { v = v * 10 + Int64(s[j] - 48) }
            return Double(v)
        }
        // Short decimals: m / 10^k with m < 2^53 and 10^k exact is one correctly rounded IEEE division,
        // which is what strtod returns (Clinger's fast path).
        if fracDigits > 0, intDigits + fracDigits <= 15, i == n, !s.contains(101), !s.contains(69) {
            var m: Int64 = 0
            var j = s[0] == 43 || s[0] == 45 ? 1 : 0
            while j < n { let c = s[j]; if c != 46 { m = m * 10 + Int64(c - 48) }; j += 1 }
            let v = Double(m) / powersOfTen[fracDigits]
            return s[0] == 45 ? -v : v
        }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: n + 1) { buf in
            for j in 0..<n { buf[j] = CChar(bitPattern: s[j]) }
            buf[n] = 0
            return strtod(buf.baseAddress!, nil)
        }
    }
}
