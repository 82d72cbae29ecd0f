import Foundation
import LuaHost

/// Formats result rows. Numbers use the shortest text that parses back to the same double.
struct RowFormatter: Sendable {
    let format: CampaignRun.OutputFormat
    let categories: [String]
    private let decimals = ShortestDecimal.shared

    func header() -> [UInt8] {
        switch format {
        case .csv: return Array((["id"] + categories + ["total"]).map(csvField).joined(separator: ",").utf8) + [10]
        case .jsonl: return []
        }
    }

    func row(id: String, idIsNumber: Bool, total: Double, values: UnsafeBufferPointer<Double>, into out: inout [UInt8]) {
        switch format {
        case .csv:
            var field = csvField(id)
            field.withUTF8 { csvRow(id: UnsafeRawBufferPointer($0), total: total, values: values, into: &out) }
        case .jsonl:
            out.append(contentsOf: "{\"id\":".utf8)
            out.append(contentsOf: (idIsNumber ? id : CanonicalJSON.string(id)).utf8)
            for (k, v) in zip(categories, values) {
                out.append(44)
                out.append(contentsOf: CanonicalJSON.string(k).utf8)
                out.append(58)
                out.append(contentsOf: Self.json(v).utf8)
            }
            out.append(contentsOf: ",\"total\":".utf8)
            out.append(contentsOf: Self.json(total).utf8)
            out.append(contentsOf: "}\n".utf8)
        }
    }

    /// A CSV row whose id is already a CSV field (`csvField` would leave it as it is). The row is laid
    /// out in a stack buffer and appended once: one capacity check per row.
    func csvRow(id: UnsafeRawBufferPointer, total: Double, values: UnsafeBufferPointer<Double>, into out: inout [UInt8]) {
        let bound = id.count + (values.count + 1) * Self.maxNumberBytes + 2
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: bound) { buf in
            let p = buf.baseAddress!
            if id.count > 0 { UnsafeMutableRawPointer(p).copyMemory(from: id.baseAddress!, byteCount: id.count) }
            var o = id.count
            for v in values { p[o] = 44; o += 1; o += Self.write(number: v, to: p + o, with: decimals) }
            p[o] = 44; o += 1
            o += Self.write(number: total, to: p + o, with: decimals)
            p[o] = 10; o += 1
            out.append(contentsOf: UnsafeBufferPointer(start: p, count: o))
        }
    }

    /// The shortest text that parses back to `d`, as Swift's `description` writes it, except that
    /// integral values below 10^15 lose their ".0".
    static func number(_ d: Double) -> String {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: maxNumberBytes) { buf in
            String(decoding: UnsafeBufferPointer(start: buf.baseAddress!, count: write(number: d, to: buf.baseAddress!)), as: UTF8.self)
        }
    }

    static func json(_ d: Double) -> String { d.isFinite ? number(d) : "null" }

    /// Room `write(number:to:)` needs: its longest output ("-2.2250738585072014e-308", 24 bytes) and
    /// the bytes `ShortestDecimal.writePlain` may touch past a shorter one.
    static let maxNumberBytes = max(32, ShortestDecimal.room)

    /// Writes `number(d)` at `p` (room for `maxNumberBytes`), returns the byte count. Integral values,
    /// plain decimals and exponent forms are written directly; the rest (integral values from 1e15 to
    /// 2^53, NaN, infinities) go through `description`.
    @inline(__always) static func write(number d: Double, to p: UnsafeMutablePointer<UInt8>,
                                        with decimals: ShortestDecimal = .shared) -> Int {
        if abs(d) < 1e15 {
            let v = Int64(d)
            if Double(v) == d {
                if v == 0 { p[0] = 48; return 1 }
                let sign = v < 0 ? 1 : 0
                if sign == 1 { p[0] = 45 }
                let magnitude = v.magnitude
                let n = decimals.length(magnitude)
                decimals.writeDigits(magnitude, end: p + sign + n)
                return sign + n
            }
        }
        if let n = decimals.writePlain(d, to: p) { return n }
        // description's exponent form: below 1e-4, and above 2^53 (where it stops writing every digit)
        if d.isFinite && (abs(d) < 1e-4 || abs(d) > 9007199254740992) { return decimals.writeExponent(d, to: p) }
        var s = d.description
        return s.withUTF8 { b in
            p.update(from: b.baseAddress!, count: b.count)
            return b.count
        }
    }
}

func csvField(_ s: String) -> String {
    if s.utf8.contains(where: { $0 == 44 || $0 == 34 || $0 == 10 || $0 == 13 }) {
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
    return s
}
