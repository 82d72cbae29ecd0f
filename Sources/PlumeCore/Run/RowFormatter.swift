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
            out.append(contentsOf: csvField(id).utf8)
            for v in values { out.append(44); out.append(contentsOf: Self.number(v).utf8) }
            out.append(44)
            out.append(contentsOf: Self.number(total).utf8)
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
}

func csvField(_ s: String) -> String {
    if s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
    return s
}
