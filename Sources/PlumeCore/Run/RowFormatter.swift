import Foundation
import LuaHost

/// Formats result rows. Numbers use the shortest text that parses back to the same double.
struct RowFormatter: Sendable {
    let format: CampaignRun.OutputFormat
    let categories: [String]

    func header() -> [UInt8] {
        switch format {
        case .csv: return Array((["id"] + categories + ["total"]).map(csvField).joined(separator: ",").utf8) + [10]
        case .jsonl: return []
        }
    }

    func row(id: String, idIsNumber: Bool, total: Double, values: [Double], into out: inout [UInt8]) {
        switch format {
        case .csv:
            Self.append(csvField(id), to: &out)
            for v in values { out.append(44); Self.append(number: v, to: &out) }
            out.append(44)
            Self.append(number: total, to: &out)
            out.append(10)
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

    /// Swift prints the shortest round-trip form; integral values lose their ".0".
    static func number(_ d: Double) -> String {
        if d == d.rounded(.towardZero), abs(d) < 1e15 { return String(Int64(d)) }
        return "\(d)"
    }

    static func json(_ d: Double) -> String { d.isFinite ? number(d) : "null" }

    /// `number(d)` appended as bytes (the per-row path: no `String` for integral values).
    @inline(__always) static func append(number d: Double, to out: inout [UInt8]) {
        if d == d.rounded(.towardZero), abs(d) < 1e15 {
            var v = Int64(d)
            if v == 0 { out.append(48); return }
            if v < 0 { out.append(45); v = -v }
            var digits: (UInt64, UInt64) = (0, 0)
            let n = withUnsafeMutableBytes(of: &digits) { b -> Int in
                var i = 16
                while v > 0 { i -= 1; b[i] = UInt8(48 + v % 10); v /= 10 }
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: b[i..<16]))
                return 16 - i
            }
            _ = n
            return
        }
        append(d.description, to: &out)
    }

    @inline(__always) static func append(_ s: String, to out: inout [UInt8]) {
        var s = s
        s.withUTF8 { out.append(contentsOf: $0) }
    }
}

func csvField(_ s: String) -> String {
    if s.utf8.contains(where: { $0 == 44 || $0 == 34 || $0 == 10 || $0 == 13 }) {
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
    return s
}
