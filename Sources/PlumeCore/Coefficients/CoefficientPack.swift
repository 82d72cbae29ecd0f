import Foundation
import LuaHost
import Yams

/// One key of a pack: its value (number, string, boolean, list or nested table), unit and citation.
public struct CoefficientEntry: Sendable {
    public let key: String
    public let value: LuaValue
    public let unit: String
    public let source: String
    /// Citations of single entries, by dotted path below the key.
    public let sources: [String: String]
    /// Units of single entries where a table mixes units, by dotted path below the key.
    public let units: [String: String]
    public let range: ClosedRange<Double>?
    public let quality: String?
    public let notes: String?
    public let line: Int

    /// The citation of `path` (a dotted path below the key, or "" for the key itself).
    public func source(for path: String) -> String { Self.nearest(sources, path) ?? source }

    /// The unit of `path`: the most specific `units` entry, else the key's unit.
    public func unit(for path: String) -> String { Self.nearest(units, path) ?? unit }

    static func nearest(_ map: [String: String], _ path: String) -> String? {
        var p = path
        while !p.isEmpty {
            if let s = map[p] { return s }
            guard let dot = p.lastIndex(of: ".") else { break }
            p = String(p[..<dot])
        }
        return nil
    }
}

/// A coefficient pack file (`plume-pack/1`, Docs/COEFFICIENTS.md).
public struct CoefficientPack: Sendable {
    public let id: String
    public let title: String
    public let models: [String]
    public let source: String
    public let entries: [CoefficientEntry]
    public let file: String

    public func entry(_ key: String) -> CoefficientEntry? { entries.first { $0.key == key } }

    public init(url: URL) throws {
        let file = display(url)
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw PlumeError.config("\(file): cannot read pack (\(error.localizedDescription))")
        }
        let root = try YAMLValue.load(text, file: file)
        func need(_ key: String) throws -> String {
            guard let s = root[key]?.string, !s.isEmpty else {
                throw PlumeError.config("\(file):\(YAMLValue.line(root) ): pack field '\(key)' is missing")
            }
            return s
        }
        guard root["format"]?.string == "plume-pack/1" else {
            throw PlumeError.config("\(file):1: expected 'format: plume-pack/1'")
        }
        id = try need("pack")
        let stem = url.deletingPathExtension().lastPathComponent
        guard id == stem else { throw PlumeError.config("\(file): pack id '\(id)' must equal the file name '\(stem)'") }
        title = root["title"]?.string ?? id
        source = try need("source")
        if case .sequence(let s)? = root["models"] { models = s.compactMap(\.string) } else { models = [] }
        guard case .mapping(let values)? = root["values"] else {
            throw PlumeError.config("\(file): pack has no 'values' mapping")
        }
        var entries: [CoefficientEntry] = []
        for (k, v) in values {
            guard let key = k.string else { continue }
            let line = YAMLValue.line(k)
            guard case .mapping = v, let valueNode = v["value"] else {
                throw PlumeError.config("\(file):\(line): '\(key)' needs value, unit and source")
            }
            guard let unit = v["unit"]?.string else { throw PlumeError.config("\(file):\(line): '\(key)' has no unit") }
            guard let src = v["source"]?.string, !src.isEmpty else {
                throw PlumeError.config("\(file):\(line): '\(key)' has no source")
            }
            func flatten(_ node: Node?) -> [String: String] {
                var out: [String: String] = [:]
                func walk(_ m: Node.Mapping, _ prefix: String) {
                    for (sk, sv) in m {
                        let p = prefix.isEmpty ? (sk.string ?? "") : prefix + "." + (sk.string ?? "")
                        if case .mapping(let inner) = sv { walk(inner, p) } else if let s = sv.string { out[p] = s }
                    }
                }
                if case .mapping(let m)? = node { walk(m, "") }
                return out
            }
            let sources = flatten(v["sources"])
            let units = flatten(v["units"])
            var range: ClosedRange<Double>?
            if case .sequence(let r)? = v["range"], r.count == 2, let lo = YAMLValue.number(r[0]),
               let hi = YAMLValue.number(r[1]), lo <= hi {
                range = lo...hi
            }
            let value = YAMLValue.convert(valueNode)
            // A null (`value: ~`, or a null entry) is no value (Docs/COEFFICIENTS.md); it used to load and then
            // read as an unknown coefficient in the model while explain showed it as present.
            if let at = Self.nullPath(value, key) { throw PlumeError.config("\(file):\(line): '\(at)' is null (a value must be a number, string, boolean, list or mapping)") }
            if let range { try Self.checkRange(value, range, "\(file):\(line): '\(key)'") }
            entries.append(CoefficientEntry(key: key, value: value, unit: unit, source: src, sources: sources, units: units,
                                            range: range, quality: v["quality"]?.string, notes: v["notes"]?.string,
                                            line: line))
        }
        self.entries = entries
        self.file = file
    }

    static func nullPath(_ v: LuaValue, _ path: String) -> String? {
        switch v {
        case .nil: return path
        case .object(let m): return m.lazy.compactMap { nullPath($0.1, path + "." + $0.0) }.first
        case .array(let a): return a.lazy.compactMap { nullPath($0, path) }.first
        default: return nil
        }
    }

    static func checkRange(_ v: LuaValue, _ r: ClosedRange<Double>, _ label: String) throws {
        switch v {
        case .integer, .number:
            if let d = v.doubleValue, !r.contains(d) { throw PlumeError.config("\(label): \(d) is outside its range \(r.lowerBound)...\(r.upperBound)") }
        case .object(let m): for (k, x) in m { try checkRange(x, r, label + "." + k) }
        case .array(let a): for x in a { try checkRange(x, r, label) }
        default: break
        }
    }

    /// sha256 of the canonical JSON of every key's value and unit.
    public var hash: String {
        var parts: [String] = []
        for e in entries.sorted(by: { $0.key < $1.key }) {
            parts.append(CanonicalJSON.string(e.key) + ":{\"unit\":" + CanonicalJSON.string(e.unit) + ",\"value\":" + CanonicalJSON.encode(e.value) + "}")
        }
        return "sha256:" + SHA256.hex(Array(("{" + parts.joined(separator: ",") + "}").utf8))
    }
}

/// Canonical JSON: keys sorted, numbers in shortest round-trip form, no white space.
enum CanonicalJSON {
    static func encode(_ v: LuaValue) -> String {
        switch v {
        case .nil, .opaque: return "null"
        case .boolean(let b): return b ? "true" : "false"
        case .integer(let i): return String(i)
        case .number(let d): return number(d)
        case .string(let s): return string(s)
        case .array(let a): return "[" + a.map(encode).joined(separator: ",") + "]"
        case .object(let m):
            return "{" + m.sorted { $0.0 < $1.0 }.map { string($0.0) + ":" + encode($0.1) }.joined(separator: ",") + "}"
        }
    }

    static func number(_ d: Double) -> String {
        if d.isNaN || d.isInfinite { return "null" }
        if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
        return "\(d)"
    }

    static func string(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }
}
