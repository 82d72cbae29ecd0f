import Foundation
import LuaHost
import Yams

/// Absolute and relative tolerance: a number passes when |got - exp| <= abs + rel * |exp|.
public struct Tolerance: Sendable, Equatable {
    public var rel: Double
    public var abs: Double
    public static let standard = Tolerance(rel: 1e-9, abs: 1e-12)

    public func accepts(expected: Double, got: Double) -> Bool {
        if expected.isNaN || got.isNaN { return false }
        if expected.isInfinite || got.isInfinite { return expected == got }
        return Swift.abs(got - expected) <= self.abs + rel * Swift.abs(expected)
    }

    /// Members the node names replace this tolerance's; the others stay.
    func overridden(by node: Node?, file: String) throws -> Tolerance {
        guard let node else { return self }
        guard case .mapping(let m) = node else {
            if case .scalar(let s) = node, s.string.isEmpty || s.string == "null" || s.string == "~" { return self }
            throw PlumeError.config("\(file):\(YAMLValue.line(node)): tolerance must be a mapping {rel, abs}")
        }
        var t = self
        for (k, v) in m {
            guard let d = YAMLValue.number(v), d >= 0, d.isFinite else {
                throw PlumeError.config("\(file):\(YAMLValue.line(v)): tolerance \(k.string ?? "") must be a number >= 0")
            }
            switch k.string {
            case "rel": t.rel = d
            case "abs": t.abs = d
            default: throw PlumeError.config("\(file):\(YAMLValue.line(k)): unknown tolerance member '\(k.string ?? "")' (rel, abs)")
            }
        }
        return t
    }
}

/// One golden vector case.
public struct VectorCase: Sendable {
    public let id: String
    public let description: String
    public let source: String
    public let input: LuaValue
    public let coefficients: [(String, LuaValue)]
    public let expect: [(String, LuaValue)]
    public let expectTrace: [(String, LuaValue)]
    public let expectError: String?
    public let expectAbsent: [String]
    public let tolerance: Tolerance
    public let line: Int
}

/// A vector file (`plume-vectors/1`, shared spec vectors.md).
public struct VectorSuite: Sendable {
    public let file: String
    public let url: URL
    public let name: String
    public let model: String
    public let modelVersion: String?
    public let pack: String?
    public let modelHash: String?
    public let coefficientsHash: String?
    public let tolerance: Tolerance
    public let cases: [VectorCase]

    public init(url: URL) throws {
        self.url = url
        let file = display(url)
        self.file = file
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw PlumeError.config("\(file): cannot read (\(error.localizedDescription))")
        }
        let root = try YAMLValue.load(text, file: file)
        guard case .mapping = root else { throw PlumeError.config("\(file): a vector file is a mapping") }
        guard root["format"]?.string == "plume-vectors/1" else {
            throw PlumeError.config("\(file):1: expected 'format: plume-vectors/1', found '\(root["format"]?.string ?? "nothing")'")
        }
        guard let model = root["model"]?.string, !model.isEmpty else { throw PlumeError.config("\(file): 'model' is missing") }
        self.model = model
        name = root["suite"]?.string ?? url.lastPathComponent
        modelVersion = Self.scalarText(root["model_version"])
        pack = Self.scalarText(root["coefficients"])
        modelHash = Self.scalarText(root["model_hash"])
        coefficientsHash = Self.scalarText(root["coefficients_hash"])
        tolerance = try Tolerance.standard.overridden(by: root["tolerance"], file: file)
        guard case .sequence(let seq)? = root["cases"] else { throw PlumeError.config("\(file): 'cases' must be a list") }
        var parsed: [VectorCase] = []
        var ids = Set<String>()
        for node in seq {
            let line = YAMLValue.line(node)
            guard case .mapping = node else { throw PlumeError.config("\(file):\(line): a case is a mapping") }
            guard let id = Self.scalarText(node["id"]), !id.isEmpty else { throw PlumeError.config("\(file):\(line): case without id") }
            guard ids.insert(id).inserted else { throw PlumeError.config("\(file):\(line): duplicate case id '\(id)'") }
            let input = node["input"].map(YAMLValue.convert) ?? .object([])
            guard case .object = input else { throw PlumeError.config("\(file):\(line): case \(id): input must be a mapping") }
            func pairs(_ key: String) throws -> [(String, LuaValue)] {
                guard let n = node[key] else { return [] }
                if case .scalar(let s) = n, s.string.isEmpty || s.string == "null" || s.string == "~" { return [] }
                guard case .mapping(let m) = n else { throw PlumeError.config("\(file):\(YAMLValue.line(n)): case \(id): \(key) must be a mapping") }
                return m.map { ($0.key.string ?? "", YAMLValue.convert($0.value)) }
            }
            var absent: [String] = []
            if let a = node["expect_absent"] {
                guard case .sequence(let s) = a else { throw PlumeError.config("\(file):\(YAMLValue.line(a)): case \(id): expect_absent must be a list") }
                absent = s.compactMap(\.string)
            }
            let expect = try pairs("expect")
            let trace = try pairs("expect_trace")
            let error = Self.scalarText(node["expect_error"])
            if expect.isEmpty && trace.isEmpty && error == nil && absent.isEmpty {
                throw PlumeError.config("\(file):\(line): case \(id) checks nothing (give expect, expect_trace, expect_error or expect_absent)")
            }
            parsed.append(VectorCase(
                id: id, description: node["description"]?.string ?? "", source: node["source"]?.string ?? "",
                input: input, coefficients: try pairs("coefficients"), expect: expect, expectTrace: trace,
                expectError: error, expectAbsent: absent,
                tolerance: try tolerance.overridden(by: node["tolerance"], file: file), line: line))
        }
        cases = parsed
    }

    static func scalarText(_ n: Node?) -> String? {
        guard let n, case .scalar(let s) = n, !YAMLValue.isNull(n) else { return nil }
        return s.string
    }

    /// Vector files below the given paths (files are taken as given; folders are searched for .yaml/.yml).
    public static func files(in paths: [String]) -> [URL] {
        var out: [URL] = []
        let fm = FileManager.default
        for p in paths {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: p, isDirectory: &isDir) else { out.append(URL(fileURLWithPath: p)); continue }
            if !isDir.boolValue { out.append(URL(fileURLWithPath: p)); continue }
            let base = URL(fileURLWithPath: p)
            let vectorsDir = base.appendingPathComponent("vectors")
            let root = fm.fileExists(atPath: vectorsDir.path) && fm.fileExists(atPath: base.appendingPathComponent("model.lua").path) ? vectorsDir : base
            guard let e = fm.enumerator(at: root, includingPropertiesForKeys: nil) else { continue }
            var found: [URL] = []
            for case let u as URL in e where ["yaml", "yml"].contains(u.pathExtension) {
                if u.lastPathComponent.hasSuffix(".updated.yaml") { continue }
                if u.pathComponents.contains("packs") { continue }
                found.append(u)
            }
            out += found.sorted { $0.path < $1.path }
        }
        return out
    }
}
