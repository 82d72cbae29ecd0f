import Foundation
import LuaHost

/// Which layer a coefficient value came from, lowest to highest.
public enum CoefficientLayer: String, Sendable {
    case pack = "PACK"
    case overlay = "OVERLAY"
    case set = "SET"
    case testCase = "CASE"
}

/// A pack with overlays, `--set` values and per-case overrides applied: the values a bound model reads,
/// and for every overridden path the layer and citation it came from.
public struct ResolvedCoefficients: Sendable {
    public struct Origin: Sendable {
        public let layer: CoefficientLayer
        public let source: String
        public let label: String   // overlay id, "--set", case id
    }

    public let pack: CoefficientPack
    public private(set) var values: [(String, LuaValue)]
    /// Overridden dotted paths and where they came from.
    public private(set) var overrides: [String: Origin] = [:]
    public private(set) var overlayHashes: [String] = []

    public var packID: String { pack.id }

    public init(pack: CoefficientPack) {
        self.pack = pack
        values = pack.entries.map { ($0.key, $0.value) }
    }

    public var luaValue: LuaValue { .object(values) }

    /// The effective value at a dotted path.
    public func value(at path: String) -> LuaValue? {
        var parts = path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard let first = parts.first, var v = values.first(where: { $0.0 == first })?.1 else { return nil }
        parts.removeFirst()
        for p in parts {
            guard let next = v[p] else { return nil }
            v = next
        }
        return v
    }

    /// Where the value at `path` comes from: the most specific override covering it, else the pack.
    public func origin(of path: String) -> Origin {
        var p = path
        while true {
            if let o = overrides[p] { return o }
            guard let dot = p.lastIndex(of: ".") else { break }
            p = String(p[..<dot])
        }
        let key = String(path.split(separator: ".").first ?? "")
        let entry = pack.entry(key)
        let below = path.count > key.count ? String(path.dropFirst(key.count + 1)) : ""
        return Origin(layer: .pack, source: entry?.source(for: below) ?? pack.source, label: pack.id)
    }

    public func unit(of path: String) -> String {
        let key = String(path.split(separator: ".").first ?? "")
        guard let entry = pack.entry(key) else { return "" }
        return entry.unit(for: path.count > key.count ? String(path.dropFirst(key.count + 1)) : "")
    }

    /// Replaces an entry, or adds one to a table the pack has. A top-level key the pack lacks, or a path
    /// through a value that is not a table, is an error; so is a value of another shape than the one it
    /// replaces (a number for a table, a table for a number).
    public mutating func apply(path: String, value: LuaValue, origin: Origin) throws {
        let parts = path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard let first = parts.first, !first.isEmpty, parts.allSatisfy({ !$0.isEmpty }) else {
            throw PlumeError.config("invalid coefficient key '\(path)'")
        }
        guard let i = values.firstIndex(where: { $0.0 == first }) else {
            let near = Suggest.closest(first, values.map(\.0))
            throw PlumeError.config("unknown coefficient '\(first)' in pack \(pack.id)" + (near.isEmpty ? "" : " (closest: \(near.joined(separator: ", ")))"))
        }
        values[i].1 = try Self.replace(values[i].1, Array(parts.dropFirst()), value, path: first, full: path)
        // The new value replaces everything below `path`, so earlier overrides of its entries no longer
        // describe where those values come from (origin(of:) returned the replaced entry's layer).
        overrides = overrides.filter { !$0.key.hasPrefix(path + ".") }
        overrides[path] = origin
    }

    private static func replace(_ current: LuaValue, _ rest: [String], _ value: LuaValue, path: String, full: String) throws -> LuaValue {
        guard let head = rest.first else {
            try checkShape(current, value, full)
            return value
        }
        guard case .object(var members) = current else {
            throw PlumeError.config("coefficient '\(full)': '\(path)' is not a table, so '\(head)' cannot be set in it")
        }
        if let j = members.firstIndex(where: { $0.0 == head }) {
            members[j].1 = try replace(members[j].1, Array(rest.dropFirst()), value, path: path + "." + head, full: full)
        } else {
            guard rest.count == 1 else {
                throw PlumeError.config("coefficient '\(full)': '\(path)' has no entry '\(head)'")
            }
            members.append((head, value))
        }
        return .object(members)
    }

    private static func checkShape(_ old: LuaValue, _ new: LuaValue, _ path: String) throws {
        func kind(_ v: LuaValue) -> String {
            switch v {
            case .integer, .number: return "a number"
            case .string: return "a string"
            case .boolean: return "a boolean"
            case .array: return "a list"
            case .object: return "a table"
            default: return "null"
            }
        }
        let a = kind(old), b = kind(new)
        if a != b, !(old == .nil) {
            throw PlumeError.config("coefficient '\(path)' is \(a) in the pack; the new value is \(b)")
        }
    }

    /// Applies `key=value` strings (`--set`). The value is typed like a CSV cell.
    public mutating func applySet(_ assignment: String) throws {
        guard let eq = assignment.firstIndex(of: "=") else {
            throw PlumeError.config("--set expects key=value, got '\(assignment)'")
        }
        let key = String(assignment[..<eq]).trimmingCharacters(in: .whitespaces)
        let text = String(assignment[assignment.index(after: eq)...])
        try apply(path: key, value: CellTyper.type(text) ?? .string(""), origin: Origin(layer: .set, source: "--set \(assignment)", label: "--set"))
    }

    mutating func noteOverlay(hash: String) { overlayHashes.append(hash) }
}

enum Suggest {
    /// Up to three known names closest to `name` (edit distance).
    static func closest(_ name: String, _ known: [String]) -> [String] {
        func distance(_ a: [Character], _ b: [Character]) -> Int {
            var prev = Array(0...b.count)
            for (i, x) in a.enumerated() {
                var cur = [i + 1] + Array(repeating: 0, count: b.count)
                for (j, y) in b.enumerated() { cur[j + 1] = min(prev[j + 1] + 1, cur[j] + 1, prev[j] + (x == y ? 0 : 1)) }
                prev = cur
            }
            return prev[b.count]
        }
        let a = Array(name)
        let limit = max(3, name.count / 2)
        var scored: [(String, Int)] = []
        for k in known {
            let d = distance(a, Array(k))
            if d <= limit { scored.append((k, d)) }
        }
        scored.sort { $0.1 != $1.1 ? $0.1 < $1.1 : $0.0 < $1.0 }
        return scored.prefix(3).map { $0.0 }
    }
}
