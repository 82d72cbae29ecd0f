import Foundation
import LuaHost
import Yams

/// `plume test --update`: a copy of a suite with each checked key set to the value the model produced,
/// written next to the original as `<name>.updated.yaml` for review. The original is never touched.
public enum VectorUpdate {
    public static func write(suite: VectorSuite, result: SuiteResult) throws {
        let text = try String(contentsOf: suite.url, encoding: .utf8)
        guard var root = try Yams.compose(yaml: text), case .mapping(var top) = root,
              case .sequence(var cases)? = top[Node("cases")] else { return }
        let got = Dictionary(result.cases.map { ($0.id, $0.got) }, uniquingKeysWith: { a, _ in a })
        for i in cases.indices {
            guard case .mapping(var c) = cases[i], let id = c[Node("id")]?.string, let values = got[id] else { continue }
            let map = Dictionary(values, uniquingKeysWith: { a, _ in a })
            for key in ["expect", "expect_trace"] {
                guard case .mapping(var m)? = c[Node(key)] else { continue }
                for k in m.keys {
                    guard let name = k.string, let v = map[name] else { continue }
                    m[k] = node(v)
                }
                c[Node(key)] = .mapping(m)
            }
            cases[i] = .mapping(c)
        }
        top[Node("cases")] = .sequence(cases)
        root = .mapping(top)
        let out = suite.url.deletingPathExtension().path + ".updated.yaml"
        try AtomicFile.write("# Written by plume test --update from \(suite.file): review, then replace the original by hand.\n" + Yams.serialize(node: root), to: out)
    }

    static func node(_ v: LuaValue) -> Node {
        switch v {
        case .number(let d): return Node(CanonicalJSON.number(d) == "null" ? "\(d)" : "\(d)", Tag(.float))
        case .integer(let i): return Node(String(i), Tag(.int))
        case .boolean(let b): return Node(b ? "true" : "false", Tag(.bool))
        case .string(let s): return Node(s, Tag(.str), .doubleQuoted)
        default: return Node("null", Tag(.null))
        }
    }
}

public enum PlumeVersion {
    public static let current = "0.1.0"
}
