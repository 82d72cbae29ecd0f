import Foundation
import LuaHost
import Yams

/// YAML nodes to Lua values, keeping the parser's types (a quoted "10" stays a string) and key order.
enum YAMLValue {
    static func convert(_ node: Node) -> LuaValue {
        switch node {
        case .scalar(let s):
            switch node.tag.rawValue {
            case Tag.Name.null.rawValue: return .nil
            case Tag.Name.bool.rawValue: return node.bool.map { .boolean($0) } ?? .string(s.string)
            case Tag.Name.int.rawValue:
                if let i = Int64(s.string.replacingOccurrences(of: "_", with: "")) { return .integer(i) }
                if let i = node.int { return .integer(Int64(i)) }
                return node.float.map { .number($0) } ?? .string(s.string)
            case Tag.Name.float.rawValue: return node.float.map { .number($0) } ?? .string(s.string)
            default: return .string(s.string)
            }
        case .mapping(let m):
            return .object(m.map { (k, v) in (k.string ?? "\(k)", convert(v)) })
        case .sequence(let seq):
            return .array(seq.map(convert))
        case .alias:
            return .nil
        }
    }

    /// Parses a whole YAML document.
    static func load(_ text: String, file: String) throws -> Node {
        do {
            guard let node = try Yams.compose(yaml: text) else {
                throw PlumeError.config("\(file): empty YAML document")
            }
            return node
        } catch let e as YamlError {
            throw PlumeError.config("\(file): \(e)")
        }
    }

    static func line(_ node: Node?) -> Int { (node?.mark?.line).map { $0 } ?? 0 }
}

