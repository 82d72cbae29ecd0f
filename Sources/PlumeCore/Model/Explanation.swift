import Foundation
import LuaHost

/// A row value from the command line or a file.
public struct LuaValueBox {
    public let value: LuaValue

    public static func json(_ text: String) throws -> LuaValueBox {
        do {
            let v = try JSONValue.parse(text)
            guard case .object = v else { throw PlumeError.config("--row must be a JSON object") }
            return LuaValueBox(value: v)
        } catch let e as JSONValue.ParseError {
            throw PlumeError.config("--row: \(e)")
        }
    }

    /// Data row `index` (1-based) of a CSV or JSONL file.
    public static func fromFile(_ path: String, index: Int) throws -> LuaValueBox {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw PlumeError.config("cannot open \(path)") }
        defer { close(fd) }
        let jsonl = path.hasSuffix(".jsonl") || path.hasSuffix(".ndjson")
        let source = RowSource(fd: fd, format: jsonl ? .jsonl : .csv, hashing: false, batchSize: 1)
        try source.readHeader()
        while let r = source.nextRecord() {
            guard r.number == index else { continue }
            if let e = r.error { throw PlumeError.config("\(path) row \(index) (line \(r.line)): \(e)") }
            if let shape = source.shape {
                guard r.record.count == shape.columns.count else {
                    throw PlumeError.config("\(path) row \(index) (line \(r.line)): expected \(shape.columns.count) fields, found \(r.record.count)")
                }
                return LuaValueBox(value: try shape.row(r.record))
            }
            return try r.raw.withUnsafeBytes { LuaValueBox(value: try JSONValue.parse(bytes: $0)) }
        }
        throw PlumeError.config("\(path) has no data row \(index)")
    }
}

/// One row explained: its result and every value behind it.
public struct Explanation {
    public struct Coefficient {
        public let path: String
        public let value: LuaValue
        public let unit: String
        public let layer: String
        public let label: String
        public let source: String
    }

    public let model: ModelInfo
    public let packID: String
    public let packHash: String
    public let outcome: RowOutcome
    public let inputs: [(name: String, value: LuaValue, origin: String)]
    public let coefficients: [Coefficient]
    public let traces: [(String, LuaValue)]

    public static func make(engine: Engine, model: LoadedModel, coefficients: ResolvedCoefficients, row: LuaValue) throws -> Explanation {
        let rt = engine.runtime
        rt.tracing = true
        rt.recording = true
        _ = rt.takeAccessed()
        let bound = try engine.bind(model, coefficients)
        let outcome = rt.evaluate(bound, row: row)
        let read = rt.takeAccessed()
        // Show the most specific paths read: a table read followed by its entry shows the entry only.
        let leaves = read.filter { p in !read.contains { $0.hasPrefix(p + ".") } }
        let coeffs = leaves.map { p -> Coefficient in
            let o = coefficients.origin(of: p)
            return Coefficient(path: p, value: coefficients.value(at: p) ?? .nil, unit: coefficients.unit(of: p),
                               layer: o.layer.rawValue, label: o.label, source: o.source)
        }
        return Explanation(model: model.info, packID: coefficients.packID, packHash: coefficients.pack.hash,
                           outcome: outcome, inputs: rt.inputs(), coefficients: coeffs, traces: rt.traces())
    }

    static func show(_ v: LuaValue) -> String {
        switch v {
        case .string(let s): return s
        case .number(let d): return "\(d)"
        case .nil: return "(absent)"
        default: return CanonicalJSON.encode(v)
        }
    }

    public func text() -> String {
        var out = "model \(model.id) \(model.version) (\(model.title)); pack \(packID) \(packHash)\n"
        switch outcome {
        case .ok(let total, let values):
            out += "result, g CO2e for the whole row:\n"
            let width = max(model.categories.map(\.count).max() ?? 0, 10) + 2
            for (k, v) in zip(model.categories, values) {
                out += "  " + k.padding(toLength: width, withPad: " ", startingAt: 0) + "\(v)\n"
                for part in ["usage", "embodied"] {
                    if let t = traces.first(where: { $0.0 == k + "." + part }) {
                        out += "    " + part.padding(toLength: width - 2, withPad: " ", startingAt: 0) + Self.show(t.1) + "\n"
                    }
                }
            }
            out += "  " + "total".padding(toLength: width, withPad: " ", startingAt: 0) + "\(total)\n"
        case .rejected(let m, _):
            out += "REJECTED: \(m)\n"
        case .failed(let m, let tb):
            out += "MODEL ERROR: \(m)\n\(tb)\n"
        }
        if !inputs.isEmpty {
            out += "inputs:\n"
            for i in inputs { out += "  \(i.name) = \(Self.show(i.value))  \(i.origin)\n" }
        }
        if !coefficients.isEmpty {
            out += "coefficients:\n"
            for c in coefficients {
                out += "  \(c.path) = \(Self.show(c.value))\(c.unit.isEmpty ? "" : " [\(c.unit)]")  \(c.layer) \(c.label): \(c.source)\n"
            }
        }
        if !traces.isEmpty {
            out += "traces (in the order the model computed them):\n"
            out += Self.traceTree(traces, skipping: Set(model.categories.flatMap { [$0 + ".usage", $0 + ".embodied"] }))
        }
        return out
    }

    /// Traces as a shallow tree: names sharing a first dotted segment (`alloc.*`, `terminal.*`) are
    /// listed together under it, at the place the first of them was computed. The usage and embodied
    /// parts already shown under each category are left out.
    static func traceTree(_ traces: [(String, LuaValue)], skipping: Set<String>) -> String {
        let shown = traces.filter { !skipping.contains($0.0) }
        var groups: [String: [(String, LuaValue)]] = [:]
        for (k, v) in shown {
            guard let dot = k.firstIndex(of: ".") else { continue }
            groups[String(k[..<dot]), default: []].append((String(k[k.index(after: dot)...]), v))
        }
        var out = ""
        var printed = Set<String>()
        for (k, v) in shown {
            if let dot = k.firstIndex(of: "."), let members = groups[String(k[..<dot])], members.count > 1 {
                let head = String(k[..<dot])
                if printed.insert(head).inserted {
                    out += "  \(head)\n"
                    for (rest, value) in members { out += "    .\(rest) = \(show(value))\n" }
                }
            } else {
                out += "  \(k) = \(show(v))\n"
            }
        }
        return out
    }

    public func json() -> String {
        func s(_ x: String) -> String { CanonicalJSON.string(x) }
        var parts: [String] = []
        parts.append("\"model\":{\"id\":\(s(model.id)),\"version\":\(s(model.version))}")
        parts.append("\"pack\":{\"id\":\(s(packID)),\"hash\":\(s(packHash))}")
        switch outcome {
        case .ok(let total, let values):
            parts.append("\"status\":\"ok\"")
            parts.append("\"result\":{" + zip(model.categories, values).map { "\(s($0)):\(CanonicalJSON.encode(.number($1)))" }.joined(separator: ",") + ",\"total\":\(CanonicalJSON.encode(.number(total)))}")
        case .rejected(let m, let p):
            parts.append("\"status\":\"rejected\",\"error\":\(s(m)),\"field\":\(p.map(s) ?? "null")")
        case .failed(let m, let tb):
            parts.append("\"status\":\"model_error\",\"error\":\(s(m)),\"traceback\":\(s(tb))")
        }
        parts.append("\"inputs\":[" + inputs.map { "{\"name\":\(s($0.name)),\"value\":\(CanonicalJSON.encode($0.value)),\"origin\":\(s($0.origin))}" }.joined(separator: ",") + "]")
        parts.append("\"coefficients\":[" + coefficients.map { "{\"path\":\(s($0.path)),\"value\":\(CanonicalJSON.encode($0.value)),\"unit\":\(s($0.unit)),\"layer\":\(s($0.layer)),\"label\":\(s($0.label)),\"source\":\(s($0.source))}" }.joined(separator: ",") + "]")
        parts.append("\"traces\":[" + traces.map { "{\"name\":\(s($0.0)),\"value\":\(CanonicalJSON.encode($0.1))}" }.joined(separator: ",") + "]")
        return "{" + parts.joined(separator: ",") + "}\n"
    }
}
