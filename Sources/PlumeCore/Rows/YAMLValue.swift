import Foundation
import LuaHost
import Yams

/// YAML nodes to Lua values, keeping the parser's types (a quoted "10" stays a string) and key order.
enum YAMLValue {
    static func convert(_ node: Node) -> LuaValue {
        switch node {
        case .scalar(let s):
            return s.style == .plain || s.style == .any ? plain(s.string) : .string(s.string)
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
            // Plain scalars are typed by `plain` below: Yams's default resolver runs a regular
            // expression per scalar, which dominated the time of large vector files.
            guard let node = try Yams.compose(yaml: text, .basic) else {
                throw PlumeError.config("\(file): empty YAML document")
            }
            return node
        } catch let e as YamlError {
            throw PlumeError.config("\(file): \(e)")
        }
    }

    static func line(_ node: Node?) -> Int { (node?.mark?.line).map { $0 } ?? 0 }

    /// A number node (int or float), else nil.
    static func number(_ node: Node?) -> Double? {
        guard let node else { return nil }
        return convert(node).doubleValue
    }

    /// Whether a node is a YAML null (absent).
    static func isNull(_ node: Node?) -> Bool {
        guard let node, case .scalar = node else { return node == nil }
        return convert(node) == .nil
    }

    /// YAML 1.1 core types of a plain scalar, as Yams's default resolver and PyYAML read them:
    /// null, bool (true/yes/on...), int (decimal, 0x, 0o or leading-0 octal, 0b, `_` separators),
    /// float (decimal, exponent, .inf, .nan); anything else is a string.
    static func plain(_ text: String) -> LuaValue {
        switch text {
        case "", "~", "null", "Null", "NULL": return .nil
        case "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON": return .boolean(true)
        case "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF": return .boolean(false)
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .number(.infinity)
        case "-.inf", "-.Inf", "-.INF": return .number(-.infinity)
        case ".nan", ".NaN", ".NAN": return .number(.nan)
        default: break
        }
        let b = Array(text.utf8)
        guard let first = b.first, first == 43 || first == 45 || first == 46 || (first >= 48 && first <= 57) else {
            return .string(text)
        }
        let neg = first == 45
        var i = (first == 43 || first == 45) ? 1 : 0
        let body = Array(b[i...]).filter { $0 != 95 }      // `_` separators
        func digits(_ a: ArraySlice<UInt8>, _ ok: (UInt8) -> Bool) -> Bool { !a.isEmpty && a.allSatisfy(ok) }
        func isDec(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
        func radix(_ a: ArraySlice<UInt8>, _ r: Int64) -> LuaValue? {
            var v: Int64 = 0
            for c in a {
                let d: Int64
                switch c {
                case 48...57: d = Int64(c - 48)
                case 97...102: d = Int64(c - 87)
                case 65...70: d = Int64(c - 55)
                default: return nil
                }
                guard d < r else { return nil }
                let (m, o1) = v.multipliedReportingOverflow(by: r)
                let (n, o2) = m.addingReportingOverflow(d)
                if o1 || o2 { return nil }
                v = n
            }
            return .integer(neg ? -v : v)
        }
        i = 0
        if body.count > 2, body[0] == 48, body[1] == 120 || body[1] == 98 || body[1] == 111 {   // 0x, 0b, 0o
            let r: Int64 = body[1] == 120 ? 16 : body[1] == 98 ? 2 : 8
            if let v = radix(body[2...], r), b.count > 2 { return v }
            return .string(text)
        }
        if body.count > 1, body[0] == 48, digits(body[1...], { $0 >= 48 && $0 <= 55 }) {         // 0755: octal
            return radix(body[1...], 8) ?? .string(text)
        }
        if digits(body[...], isDec), body[0] != 48 || body.count == 1 {                          // decimal int
            if body.count <= 18, let v = radix(body[...], 10) { return v }
            return .number(strtod(String(decoding: body, as: UTF8.self), nil) * (neg ? -1 : 1))
        }
        // float: digits [. digits*] [e[+-]digits] or . digits [e[+-]digits]
        var j = 0
        while j < body.count, isDec(body[j]) { j += 1 }
        let intDigits = j
        if j < body.count, body[j] == 46 {
            j += 1
            while j < body.count, isDec(body[j]) { j += 1 }
        }
        let mantissaDigits = j - (intDigits < j ? 1 : 0)
        guard mantissaDigits > 0, intDigits > 0 || j > 1 else { return .string(text) }
        if j < body.count, body[j] == 101 || body[j] == 69 {
            j += 1
            if j < body.count, body[j] == 43 || body[j] == 45 { j += 1 }
            let e = j
            while j < body.count, isDec(body[j]) { j += 1 }
            if j == e { return .string(text) }
        }
        guard j == body.count else { return .string(text) }
        let d = strtod(String(decoding: body, as: UTF8.self), nil)
        return .number(neg ? -d : d)
    }
}

