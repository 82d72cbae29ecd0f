import Foundation

/// The reproducibility record of a run (`--summary FILE`).
struct RunSummary {
    let model: ModelInfo
    let packID: String
    let packHash: String
    let modelHash: String
    let overlayHashes: [String]
    let input: String
    let inputHash: String?
    let groupBy: [String]
    let outcome: CampaignRun.Outcome

    func json() -> String {
        func s(_ x: String) -> String { CanonicalJSON.string(x) }
        func n(_ d: Double) -> String { RowFormatter.json(d) }
        func totals(_ g: GroupTotals) -> String {
            var parts = ["\"rows\":\(g.rows)", "\"impressions\":\(n(g.impressions))", "\"total_g\":\(n(g.total))",
                         "\"g_per_1000_impressions\":\(g.perThousand.map(n) ?? "null")"]
            parts.append("\"categories\":{" + zip(outcome.categories, g.values).map { "\(s($0)):\(n($1))" }.joined(separator: ",") + "}")
            return "{" + parts.joined(separator: ",") + "}"
        }
        let c = outcome.counts
        var out = "{\n"
        out += "  \"plume_version\": \(s(PlumeVersion.current)),\n"
        out += "  \"model\": {\"id\": \(s(model.id)), \"version\": \(s(model.version)), \"hash\": \(s(modelHash))},\n"
        out += "  \"pack\": {\"id\": \(s(packID)), \"hash\": \(s(packHash))},\n"
        out += "  \"overlays\": [\(overlayHashes.map(s).joined(separator: ", "))],\n"
        out += "  \"input\": {\"path\": \(s(input)), \"hash\": \(inputHash.map(s) ?? "null")},\n"
        out += "  \"rows\": {\"read\": \(c.read), \"written\": \(c.written), \"rejected\": \(c.rejected), \"model_errors\": \(c.modelErrors)},\n"
        out += "  \"group_by\": [\(groupBy.map(s).joined(separator: ", "))],\n"
        out += "  \"groups\": [\n" + outcome.groups.map { "    {\"key\": \(s($0.key)), \"totals\": \(totals($0))}" }.joined(separator: ",\n") + "\n  ],\n"
        out += "  \"total\": \(totals(outcome.grand))\n"
        return out + "}\n"
    }
}
