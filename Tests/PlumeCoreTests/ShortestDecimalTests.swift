import BenchSupport
import Foundation
import XCTest
@testable import PlumeCore

/// Plume's own shortest-decimal writer against Swift's `description` (an independent implementation
/// of the same contract: shortest digits that read back, the nearest of those).
final class ShortestDecimalTests: XCTestCase {
    /// `description`'s digits and power of ten, trailing zeros removed.
    private func digits(_ d: Double) -> (UInt64, Int) {
        var text = d.magnitude.description, exponent = 0
        if let e = text.firstIndex(of: "e") {
            exponent = Int(text[text.index(after: e)...])!
            text = String(text[..<e])
        }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        let fraction = parts.count > 1 ? String(parts[1]) : ""
        var v = UInt64(String(parts[0]) + fraction)!
        var e = exponent - fraction.count
        while v > 0 && v % 10 == 0 { v /= 10; e += 1 }
        return (v, e)
    }

    private func check(_ d: Double, _ failures: inout [String]) {
        guard d.isFinite, d != 0 else { return }
        var (v, e) = ShortestDecimal.shared.decimal(d.magnitude)
        while v % 10 == 0 { v /= 10; e += 1 }
        let want = digits(d)
        if v != want.0 || e != want.1 { failures.append("\(d): \(v)e\(e)") }
        let expected = d == d.rounded(.towardZero) && abs(d) < 1e15 ? String(Int64(d)) : d.description
        let text = RowFormatter.number(d)
        if text != expected { failures.append("\(d) written as \(text)") }
        if Double(text) != d { failures.append("\(text) does not read back as \(d)") }
    }

    func testAgreesWithSwiftOnRandomAndEdgeDoubles() {
        var rng = SplitMix64(seed: 20261204)
        var failures: [String] = []
        for _ in 0..<60_000 {
            check(Double(bitPattern: rng.next()), &failures)                         // any exponent
            let a = Double(rng.next() % 100_000) / 1000, b = Double(rng.next() % 10_000 + 1) / 7
            check(a * b, &failures); check(a / b, &failures); check(-(a + b * 1e-3), &failures)
            check(Double(rng.next() % 1_000_000) / 10_000, &failures)              // short decimals
            check(Double(rng.next() >> 11) / 9007199254740992.0 * 5000, &failures)
        }
        for k in -325...308 {
            for m in [1.0, 2.0, 5.0, 9.5, 1.5, 3.0] {
                let x = m * pow(10, Double(k))
                check(x, &failures); check(x.nextUp, &failures); check(x.nextDown, &failures)
            }
        }
        for t in 1...3000 { check(Double(bitPattern: UInt64(t)), &failures) }                // the least subnormals
        for _ in 0..<20_000 { check(Double(bitPattern: rng.next() & (1 << 52 - 1)), &failures) }    // any subnormal
        for e in -1074...1023 {
            let x = pow(2.0, Double(e))
            check(x, &failures); check(x.nextUp, &failures); check(x.nextDown, &failures)
        }
        for x in [Double.leastNonzeroMagnitude, .leastNormalMagnitude, .greatestFiniteMagnitude, 1e-4, 1e-4.nextDown,
                  0.1 + 0.2, 1e15 - 0.5, 1e15, 4503599627370495.5, 9007199254740991, 123456.789e-10] {
            check(x, &failures); check(-x, &failures)
        }
        XCTAssertEqual(failures.prefix(10), [], "\(failures.count) failures")
    }

    /// Digits eight at a time (as one word) and in pairs, for every length, written exactly in place.
    func testDigitsOfEveryLength() {
        var rng = SplitMix64(seed: 8)
        var values: [UInt64] = [1, 9, 10, 99, 100, 10_000_000, 99_999_999, 100_000_000, 12_345_678_901_234_567, .max]
        for digits in 1...20 {
            for _ in 0..<2000 {
                let high = digits == 20 ? UInt64.max : UInt64(pow(10.0, Double(digits))) - 1
                let low = digits == 1 ? 1 : UInt64(pow(10.0, Double(digits - 1)))
                values.append(low + rng.next() % (high - low + 1))
            }
        }
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: 24)
        defer { buffer.deallocate() }
        for v in values {
            buffer.initialize(repeating: 35, count: 24)
            let n = ShortestDecimal.shared.length(v)
            ShortestDecimal.shared.writeDigits(v, end: buffer + 2 + n)
            XCTAssertEqual(String(decoding: UnsafeBufferPointer(start: buffer, count: n + 4), as: UTF8.self), "##\(v)##")
        }
    }

    func testIntegralsAndSpecialValues() {
        XCTAssertEqual(RowFormatter.number(0), "0")
        XCTAssertEqual(RowFormatter.number(-0.0), "0")
        XCTAssertEqual(RowFormatter.number(-42), "-42")
        XCTAssertEqual(RowFormatter.number(999_999_999_999_999), "999999999999999")
        XCTAssertEqual(RowFormatter.number(1e15), "1000000000000000.0")
        XCTAssertEqual(RowFormatter.number(1e16), "1e+16")
        XCTAssertEqual(RowFormatter.number(0.0001), "0.0001")
        XCTAssertEqual(RowFormatter.number(0.00001), "1e-05")
        XCTAssertEqual(RowFormatter.number(-2.2970431438395005e-05), "-2.2970431438395005e-05")
        XCTAssertEqual(RowFormatter.number(-Double.leastNormalMagnitude), "-2.2250738585072014e-308")
        XCTAssertEqual(RowFormatter.number(.leastNonzeroMagnitude), "5e-324")
        XCTAssertEqual(RowFormatter.number(9007199254740992), "9007199254740992.0")
        XCTAssertEqual(RowFormatter.number(9007199254740994), "9.007199254740994e+15")
        XCTAssertEqual(RowFormatter.number(.greatestFiniteMagnitude), "1.7976931348623157e+308")
        XCTAssertEqual(RowFormatter.number(-0.5), "-0.5")
        XCTAssertEqual(RowFormatter.number(.nan), "nan")
        XCTAssertEqual(RowFormatter.json(.infinity), "null")
    }
}
