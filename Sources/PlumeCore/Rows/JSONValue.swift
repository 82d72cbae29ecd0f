import LuaHost

/// A small JSON parser that keeps object key order and the parser's types (JSONL rows, `--row`).
public enum JSONValue {
    public struct ParseError: Error, CustomStringConvertible {
        public let offset: Int
        public let message: String
        public var description: String { "invalid JSON at byte \(offset + 1): \(message)" }
    }

    public static func parse(_ text: String) throws -> LuaValue {
        var text = text
        return try text.withUTF8 { try parse(bytes: UnsafeRawBufferPointer($0)) }
    }

    public static func parse(bytes: UnsafeRawBufferPointer) throws -> LuaValue {
        var p = Parser(s: bytes, i: 0)
        p.skip()
        let v = try p.value(depth: 0)
        p.skip()
        if p.i != bytes.count { throw ParseError(offset: p.i, message: "unexpected text after the value") }
        return v
    }

    struct Parser {
        let s: UnsafeRawBufferPointer
        var i: Int

        mutating func skip() { while i < s.count, s[i] == 32 || s[i] == 9 || s[i] == 10 || s[i] == 13 { i += 1 } }

        func fail(_ m: String) -> ParseError { ParseError(offset: i, message: m) }

        mutating func value(depth: Int) throws -> LuaValue {
            guard depth < 200 else { throw fail("nesting deeper than 200") }
            guard i < s.count else { throw fail("unexpected end") }
            switch s[i] {
            case UInt8(ascii: "{"):
                i += 1
                var members: [(String, LuaValue)] = []
                skip()
                if i < s.count, s[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
                while true {
                    skip()
                    guard i < s.count, s[i] == UInt8(ascii: "\"") else { throw fail("expected a string key") }
                    let k = try string()
                    skip()
                    guard i < s.count, s[i] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                    i += 1
                    skip()
                    let v = try value(depth: depth + 1)
                    members.append((k, v))
                    skip()
                    guard i < s.count else { throw fail("unexpected end in object") }
                    if s[i] == UInt8(ascii: ",") { i += 1; continue }
                    if s[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
                    throw fail("expected ',' or '}'")
                }
            case UInt8(ascii: "["):
                i += 1
                var items: [LuaValue] = []
                skip()
                if i < s.count, s[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
                while true {
                    skip()
                    items.append(try value(depth: depth + 1))
                    skip()
                    guard i < s.count else { throw fail("unexpected end in array") }
                    if s[i] == UInt8(ascii: ",") { i += 1; continue }
                    if s[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
                    throw fail("expected ',' or ']'")
                }
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): try word("true"); return .boolean(true)
            case UInt8(ascii: "f"): try word("false"); return .boolean(false)
            case UInt8(ascii: "n"): try word("null"); return .nil
            default: return try number()
            }
        }

        mutating func word(_ w: StaticString) throws {
            let n = w.utf8CodeUnitCount
            guard i + n <= s.count else { throw fail("unexpected end") }
            for j in 0..<n where s[i + j] != w.utf8Start[j] { throw fail("unexpected character") }
            i += n
        }

        mutating func number() throws -> LuaValue {
            let start = i
            var integral = true
            if i < s.count, s[i] == UInt8(ascii: "-") { i += 1 }
            guard i < s.count, s[i] >= 48, s[i] <= 57 else { throw fail("expected a value") }
            if s[i] == 48 { i += 1 } else { while i < s.count, s[i] >= 48, s[i] <= 57 { i += 1 } }
            if i < s.count, s[i] == UInt8(ascii: ".") {
                integral = false
                i += 1
                guard i < s.count, s[i] >= 48, s[i] <= 57 else { throw fail("digits expected after '.'") }
                while i < s.count, s[i] >= 48, s[i] <= 57 { i += 1 }
            }
            if i < s.count, s[i] == UInt8(ascii: "e") || s[i] == UInt8(ascii: "E") {
                integral = false
                i += 1
                if i < s.count, s[i] == UInt8(ascii: "+") || s[i] == UInt8(ascii: "-") { i += 1 }
                guard i < s.count, s[i] >= 48, s[i] <= 57 else { throw fail("digits expected in exponent") }
                while i < s.count, s[i] >= 48, s[i] <= 57 { i += 1 }
            }
            let text = UnsafeRawBufferPointer(rebasing: s[start..<i])
            if integral, text.count <= 18 {
                var v: Int64 = 0
                var neg = false
                for b in text { if b == 45 { neg = true } else { v = v * 10 + Int64(b - 48) } }
                return .integer(neg ? -v : v)
            }
            guard let d = CellTyper.number(text) else { throw ParseError(offset: start, message: "bad number") }
            return .number(d)
        }

        mutating func string() throws -> String {
            i += 1
            var bytes: [UInt8] = []
            while i < s.count {
                let c = s[i]
                if c == UInt8(ascii: "\"") {
                    i += 1
                    guard let str = String(validating: bytes, as: UTF8.self) else { throw fail("invalid UTF-8 in string") }
                    return str
                }
                if c < 0x20 { throw fail("control character in string") }
                if c == UInt8(ascii: "\\") {
                    i += 1
                    guard i < s.count else { break }
                    switch s[i] {
                    case UInt8(ascii: "\""): bytes.append(0x22)
                    case UInt8(ascii: "\\"): bytes.append(0x5C)
                    case UInt8(ascii: "/"): bytes.append(0x2F)
                    case UInt8(ascii: "b"): bytes.append(0x08)
                    case UInt8(ascii: "f"): bytes.append(0x0C)
                    case UInt8(ascii: "n"): bytes.append(0x0A)
                    case UInt8(ascii: "r"): bytes.append(0x0D)
                    case UInt8(ascii: "t"): bytes.append(0x09)
                    case UInt8(ascii: "u"):
                        var code = try hex4()
                        if code >= 0xD800, code < 0xDC00, i + 2 < s.count, s[i + 1] == UInt8(ascii: "\\"), s[i + 2] == UInt8(ascii: "u") {
                            i += 2
                            let low = try hex4()
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        }
                        guard let scalar = Unicode.Scalar(code) else { throw fail("invalid \\u escape") }
                        bytes.append(contentsOf: Array(String(Character(scalar)).utf8))
                    default: throw fail("invalid escape")
                    }
                    i += 1
                    continue
                }
                bytes.append(c)
                i += 1
            }
            throw fail("unterminated string")
        }

        mutating func hex4() throws -> UInt32 {
            guard i + 4 < s.count else { throw fail("short \\u escape") }
            var v: UInt32 = 0
            for j in 1...4 {
                let c = s[i + j]
                let d: UInt32
                switch c {
                case 48...57: d = UInt32(c - 48)
                case 65...70: d = UInt32(c - 55)
                case 97...102: d = UInt32(c - 87)
                default: throw fail("bad hex digit")
                }
                v = v * 16 + d
            }
            i += 4
            return v
        }
    }
}
