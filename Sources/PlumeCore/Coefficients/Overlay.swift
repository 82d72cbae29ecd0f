import Foundation
import LuaHost
import Yams

/// A client's overlay of a pack (Docs/COEFFICIENTS.md): checked values with their own citations.
public struct Overlay: Sendable {
    public struct Value: Sendable {
        public let path: String
        public let value: LuaValue
        public let source: String
        public let expires: String?
        public let line: Int
    }

    public let id: String
    public let pack: String
    public let author: String
    public let file: String
    public let values: [Value]
    public let hash: String
    /// Line of the `pack:` field, so a pack mismatch found at apply time can cite file:line like every
    /// other overlay error (it used to name the file only).
    public let packLine: Int

    public init(url: URL, today: Date = Date()) throws {
        file = display(url)
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw PlumeError.config("\(file): cannot read overlay (\(error.localizedDescription))")
        }
        hash = "sha256:" + SHA256.hex(Array(text.utf8))
        let root = try YAMLValue.load(text, file: file)
        let known: Set<String> = ["overlay", "pack", "author", "values", "description"]
        if case .mapping(let m) = root {
            for (k, _) in m where !known.contains(k.string ?? "") {
                throw PlumeError.config("\(file):\(YAMLValue.line(k)): unknown overlay field '\(k.string ?? "")' (expected \(known.sorted().joined(separator: ", ")))")
            }
        }
        guard let id = root["overlay"]?.string, !id.isEmpty else { throw PlumeError.config("\(file):1: 'overlay' (its id) is missing") }
        guard let pack = root["pack"]?.string, !pack.isEmpty else { throw PlumeError.config("\(file):1: 'pack' is missing") }
        guard let author = root["author"]?.string, !author.isEmpty else { throw PlumeError.config("\(file):1: 'author' is missing") }
        self.id = id
        self.pack = pack
        self.author = author
        var packLine = 1
        if case .mapping(let m) = root { for (k, _) in m where k.string == "pack" { packLine = YAMLValue.line(k) } }
        self.packLine = packLine
        guard case .mapping(let m)? = root["values"] else { throw PlumeError.config("\(file): 'values' must be a mapping") }
        let todayText = Self.isoDay(today)
        var values: [Value] = []
        for (k, v) in m {
            let line = YAMLValue.line(k)
            guard let path = k.string else { continue }
            guard case .mapping(let fields) = v, let valueNode = v["value"] else {
                throw PlumeError.config("\(file):\(line): '\(path)' needs {value, source}")
            }
            for (fk, _) in fields where !["value", "source", "expires", "notes"].contains(fk.string ?? "") {
                throw PlumeError.config("\(file):\(YAMLValue.line(fk)): '\(path)': unknown field '\(fk.string ?? "")' (value, source, expires, notes)")
            }
            guard let source = v["source"]?.string, !source.isEmpty else {
                throw PlumeError.config("\(file):\(line): '\(path)' has no source (every overlay value needs its justification)")
            }
            let expires = v["expires"]?.string
            if let expires {
                guard expires.count == 10, GridHour(iso: expires) != nil else {
                    throw PlumeError.config("\(file):\(line): '\(path)': expires '\(expires)' is not a YYYY-MM-DD date")
                }
                if expires < todayText {
                    throw PlumeError.config("\(file):\(line): '\(path)' expired on \(expires)")
                }
            }
            values.append(Value(path: path, value: YAMLValue.convert(valueNode), source: source, expires: expires, line: line))
        }
        self.values = values
    }

    static func isoDay(_ d: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd"
        return f.string(from: d)
    }

    /// Applies every value; errors name the overlay file and line.
    public func apply(to resolved: inout ResolvedCoefficients) throws {
        guard pack == resolved.packID else {
            throw PlumeError.config("\(file):\(packLine): overlay \(id) applies to pack \(pack), not to \(resolved.packID)")
        }
        for v in values {
            do {
                try resolved.apply(path: v.path, value: v.value,
                                   origin: .init(layer: .overlay, source: v.source, label: "\(id) (\(file):\(v.line), \(author))"))
            } catch let e as PlumeError {
                throw PlumeError.config("\(file):\(v.line): \(e)")
            }
            if let range = resolved.pack.entry(String(v.path.split(separator: ".").first ?? ""))?.range {
                try CoefficientPack.checkRange(v.value, range, "\(file):\(v.line): '\(v.path)'")
            }
        }
        resolved.noteOverlay(hash: hash)
    }
}
