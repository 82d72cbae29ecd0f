import Foundation
import XCTest
@testable import LuaHost

/// Value conversion both ways: every LuaValue case crosses the bridge and comes back equal, and Lua
/// sees what the host meant (types, lengths, bytes).
final class LuaValueRoundTripTests: XCTestCase {
    var lua: LuaState!
    var identity: LuaRef!

    override func setUpWithError() throws {
        lua = try makeState()
        identity = try lua.load("return ...", chunkName: "identity.lua")
    }

    override func tearDown() { lua = nil }

    func roundTrip(_ v: LuaValue) throws -> LuaValue {
        let r = try lua.call(identity, [v])
        XCTAssertEqual(r.count, 1)
        return r.first ?? .opaque("missing")
    }

    /// Runs `check(v)` in Lua on the pushed value and returns its results.
    func inspect(_ body: String, _ v: LuaValue) throws -> [LuaValue] {
        try lua.run("local v = ...\n" + body, chunkName: "inspect.lua", args: [v])
    }

    func testNilAndBooleans() throws {
        XCTAssertEqual(try roundTrip(.nil), .nil)
        XCTAssertEqual(try roundTrip(.boolean(true)), .boolean(true))
        XCTAssertEqual(try roundTrip(.boolean(false)), .boolean(false))
        XCTAssertEqual(try inspect("return type(v), v == false", .boolean(false)), [.string("boolean"), .boolean(true)])
        XCTAssertEqual(try inspect("return v == nil, select('#', ...)", .nil), [.boolean(true), .integer(1)])
    }

    func testIntegersStayIntegers() throws {
        for i: Int64 in [0, 1, -1, 42, Int64.max, Int64.min, 1 << 53 + 1] {
            let back = try roundTrip(.integer(i))
            guard case .integer(let j) = back else { return XCTFail("\(i) came back as \(back)") }
            XCTAssertEqual(i, j)
            XCTAssertEqual(try inspect("return math.type(v), v", .integer(i)), [.string("integer"), .integer(i)])
        }
        // Integer arithmetic in Lua wraps like Int64 and stays an integer.
        XCTAssertEqual(try lua.run("return math.maxinteger + 1 == math.mininteger, 7 // 2", chunkName: "i.lua"),
                       [.boolean(true), .integer(3)])
    }

    func testFloatsStayFloats() throws {
        for d in [0.5, -2.25, 3.0, 1e300, -1e-300, Double.greatestFiniteMagnitude, Double.leastNonzeroMagnitude,
                  Double.infinity, -Double.infinity] {
            let back = try roundTrip(.number(d))
            guard case .number(let e) = back else { return XCTFail("\(d) came back as \(back)") }
            XCTAssertEqual(d.bitPattern, e.bitPattern, "\(d)")
            XCTAssertEqual(try inspect("return math.type(v)", .number(d)), [.string("float")], "\(d)")
        }
        // 3.0 is a float in Lua too (not folded into an integer).
        XCTAssertEqual(try inspect("return math.type(v), tostring(v)", .number(3.0)), [.string("float"), .string("3.0")])
        XCTAssertEqual(try inspect("return v == math.huge", .number(.infinity)), [.boolean(true)])
    }

    func testNegativeZeroKeepsItsSign() throws {
        guard case .number(let z) = try roundTrip(.number(-0.0)) else { return XCTFail("not a float") }
        XCTAssertEqual(z, 0)
        XCTAssertEqual(z.sign, .minus)
        XCTAssertEqual(try inspect("return 1 / v", .number(-0.0)), [.number(-.infinity)])
        guard case .number(let z2)? = try lua.run("return -0.0", chunkName: "z.lua").first else { return XCTFail() }
        XCTAssertEqual(z2.sign, .minus)
    }

    func testNaN() throws {
        guard case .number(let n) = try roundTrip(.number(.nan)) else { return XCTFail("not a float") }
        XCTAssertTrue(n.isNaN)
        XCTAssertEqual(try inspect("return v ~= v", .number(.nan)), [.boolean(true)])
    }

    func testStringsWithNULAndUTF8() throws {
        let nul = "a\u{0}b\u{0}"
        XCTAssertEqual(try roundTrip(.string(nul)), .string(nul))
        XCTAssertEqual(try inspect("return #v, v:byte(2), v:byte(4)", .string(nul)), [.integer(4), .integer(0), .integer(0)])
        let utf = "héllo € 𝄞 日本"
        XCTAssertEqual(try roundTrip(.string(utf)), .string(utf))
        XCTAssertEqual(try inspect("return #v, utf8.len(v)", .string(utf)),
                       [.integer(Int64(utf.utf8.count)), .integer(Int64(utf.unicodeScalars.count))])
        XCTAssertEqual(try roundTrip(.string("")), .string(""))
        XCTAssertEqual(try inspect("return #v", .string("")), [.integer(0)])
        // Made in Lua: a NUL in the middle survives the trip to Swift.
        XCTAssertEqual(try lua.run("return 'x\\0y' .. utf8.char(0x1D11E)", chunkName: "s.lua"), [.string("x\u{0}y𝄞")])
        // Bytes that are not UTF-8 come back with replacement characters, not a crash.
        XCTAssertEqual(try lua.run("return '\\xff\\xfe'", chunkName: "s.lua"), [.string("\u{FFFD}\u{FFFD}")])
    }

    func testArrays() throws {
        let a: LuaValue = .array([.integer(1), .string("two"), .number(3.5), .boolean(true)])
        XCTAssertEqual(try roundTrip(a), a)
        XCTAssertEqual(try inspect("return #v, v[2], math.type(v[3])", a), [.integer(4), .string("two"), .string("float")])
        XCTAssertEqual(try roundTrip(.array([])), .array([]))
        let big = LuaValue.array((1...10_000).map { .integer(Int64($0)) })
        XCTAssertEqual(try roundTrip(big), big)
        XCTAssertEqual(try lua.run("return {10, 20, 30}", chunkName: "a.lua"),
                       [.array([.integer(10), .integer(20), .integer(30)])])
    }

    func testObjectsKeepKeyOrderForScripts() throws {
        let o: LuaValue = .object([("zeta", .integer(1)), ("alpha", .string("a")), ("mid", .number(2.5))])
        let keys = lua.orderedKeysFunction()
        lua.setGlobal("ordered_keys", ref: keys)
        XCTAssertEqual(try inspect("return table.concat(ordered_keys(v), ','), v.zeta, v.alpha, v.mid", o),
                       [.string("zeta,alpha,mid"), .integer(1), .string("a"), .number(2.5)])
        // Back in Swift, members are sorted by key (a table has no order of its own).
        XCTAssertEqual(try roundTrip(o), .object([("alpha", .string("a")), ("mid", .number(2.5)), ("zeta", .integer(1))]))
    }

    func testOrderedKeysDetails() throws {
        lua.setGlobal("ordered_keys", ref: lua.orderedKeysFunction())
        // A nil member records the key without a value.
        let o: LuaValue = .object([("b", .integer(1)), ("gone", .nil), ("a", .integer(2))])
        XCTAssertEqual(try inspect("return table.concat(ordered_keys(v), ','), v.gone == nil", o),
                       [.string("b,gone,a"), .boolean(true)])
        // The script gets a copy: editing it does not change the host's record.
        XCTAssertEqual(try inspect("""
            local k = ordered_keys(v); k[1] = 'hacked'; k[4] = 'extra'
            return table.concat(ordered_keys(v), ',')
            """, o), [.string("b,gone,a")])
        // Tables the host did not push have no recorded order.
        XCTAssertEqual(try lua.run("return select('#', ordered_keys({x = 1})), select('#', ordered_keys('s'))", chunkName: "k.lua"),
                       [.integer(0), .integer(0)])
        // Nested objects keep their own order.
        let nested: LuaValue = .object([("outer2", .object([("y", .integer(1)), ("x", .integer(2))])), ("outer1", .integer(0))])
        XCTAssertEqual(try inspect("return table.concat(ordered_keys(v), ','), table.concat(ordered_keys(v.outer2), ',')", nested),
                       [.string("outer2,outer1"), .string("y,x")])
    }

    func testNestedValues() throws {
        let v: LuaValue = .object([
            ("rows", .array([.object([("id", .integer(1)), ("tags", .array([.string("a"), .string("b")]))]),
                             .object([("id", .integer(2)), ("tags", .array([]))])])),
            ("meta", .object([("ok", .boolean(true)), ("ratio", .number(0.25))])),
        ])
        let back = try roundTrip(v)
        XCTAssertEqual(back["meta"], .object([("ok", .boolean(true)), ("ratio", .number(0.25))]))
        guard case .array(let rows)? = back["rows"] else { return XCTFail("rows") }
        XCTAssertEqual(rows.count, 2)
        XCTAssertEqual(rows[0]["tags"], .array([.string("a"), .string("b")]))
        XCTAssertEqual(try inspect("return v.rows[1].tags[2], #v.rows, v.meta.ratio", v),
                       [.string("b"), .integer(2), .number(0.25)])
    }

    func testDeepNestingBothWays() throws {
        // 200 levels: the host must grow the Lua stack while pushing (it only gets 20 free slots).
        var v: LuaValue = .string("core")
        for i in 0..<200 { v = i % 2 == 0 ? .array([v]) : .object([("k", v)]) }
        XCTAssertEqual(try inspect("""
            local d = 0
            while type(v) == 'table' do v = v[1] or v.k; d = d + 1 end
            return d, v
            """, v), [.integer(200), .string("core")])
        // Reading back stops at depth 64 with an opaque marker instead of recursing forever.
        var probe = try roundTrip(v)
        var depth = 0
        while true {
            if case .array(let a) = probe, let f = a.first { probe = f } else if case .object(let o) = probe, let f = o.first { probe = f.1 } else { break }
            depth += 1
        }
        XCTAssertEqual(probe, .opaque("table"))
        XCTAssertEqual(depth, 64)
    }

    func testManyArgumentsAndResults() throws {
        // More values than the 20 stack slots Lua guarantees: the bridge must make room.
        let args = (1...300).map { LuaValue.integer(Int64($0)) }
        let r = try lua.call(identity, args)
        XCTAssertEqual(r, args)
        lua.register("many") { _ in (1...300).map { .string("v\($0)") } }
        XCTAssertEqual(try lua.run("local t = {many()} return #t, t[1], t[300]", chunkName: "m.lua"),
                       [.integer(300), .string("v1"), .string("v300")])
        XCTAssertEqual(try lua.invoke(identity, args.map { .value($0) }).count, 300)
    }

    func testMultipleReturns() throws {
        XCTAssertEqual(try lua.run("return 1, 'two', nil, true, 2.5", chunkName: "r.lua"),
                       [.integer(1), .string("two"), .nil, .boolean(true), .number(2.5)])
        XCTAssertEqual(try lua.run("return", chunkName: "r.lua"), [])
        XCTAssertEqual(try lua.run("return nil, nil", chunkName: "r.lua"), [.nil, .nil])
        XCTAssertEqual(try lua.run("return ...", chunkName: "r.lua", args: [.integer(1), .nil, .integer(3)]),
                       [.integer(1), .nil, .integer(3)])
    }

    func testTablesThatAreNotPlainArrays() throws {
        // Holes and mixed keys make an object with string keys, sorted.
        XCTAssertEqual(try lua.run("return {1, 2, x = 3}", chunkName: "t.lua"),
                       [.object([("1", .integer(1)), ("2", .integer(2)), ("x", .integer(3))])])
        XCTAssertEqual(try lua.run("return {[1] = 'a', [3] = 'c'}", chunkName: "t.lua").first?["3"], .string("c"))
        // Empty tables read as empty arrays.
        XCTAssertEqual(try lua.run("return {}", chunkName: "t.lua"), [.array([])])
        XCTAssertEqual(try roundTrip(.object([])), .array([]))
        // Cycles become opaque instead of recursing forever.
        let cyc = try lua.run("local t = {name = 'me'} t.self = t return t", chunkName: "t.lua")
        XCTAssertEqual(cyc.first?["name"], .string("me"))
        XCTAssertEqual(cyc.first?["self"], .opaque("table"))
        // Functions come back opaque; opaque pushes as nil.
        XCTAssertEqual(try lua.run("return print", chunkName: "t.lua"), [.opaque("function")])
        XCTAssertEqual(try inspect("return v == nil", .opaque("function")), [.boolean(true)])
    }

    func testNullSentinelForArrayHoles() throws {
        // Without a sentinel, a nil entry is a hole (the entries after it are still there).
        XCTAssertEqual(try inspect("return v[2] == nil, v[3]", .array([.integer(1), .nil, .integer(3)])), [.boolean(true), .integer(3)])
        let sentinel = try lua.load("NULL = NULL or {} return NULL", chunkName: "n.lua")
        let s = try lua.invokeForRef(sentinel, [])
        lua.setNullSentinel(s)
        XCTAssertEqual(try inspect("return #v, v[2] == NULL, v[3]", .array([.integer(1), .nil, .integer(3)])),
                       [.integer(3), .boolean(true), .integer(3)])
    }

    func testCallbacksReceiveAndReturnValues() throws {
        final class Seen: @unchecked Sendable { var args: [LuaValue] = [] }
        let seen = Seen()
        lua.register("echo") { args in seen.args = args; return args }
        let r = try lua.run("return echo(1, 2.5, 'a\\0b', {1, 2}, {k = 'v'}, nil, false)", chunkName: "cb.lua")
        let expected: [LuaValue] = [.integer(1), .number(2.5), .string("a\u{0}b"), .array([.integer(1), .integer(2)]),
                                    .object([("k", .string("v"))]), .nil, .boolean(false)]
        XCTAssertEqual(seen.args, expected)
        XCTAssertEqual(r, expected)
        XCTAssertEqual(try lua.run("return select('#', echo())", chunkName: "cb.lua"), [.integer(0)])
    }

    func testRefsGlobalsAndFields() throws {
        lua.setGlobal("answer", .integer(42))
        XCTAssertEqual(try lua.run("return answer", chunkName: "g.lua"), [.integer(42)])
        XCTAssertNil(lua.global("no_such_global"))
        let r = try XCTUnwrap(lua.global("answer"))
        XCTAssertEqual(lua.get(r), .integer(42))
        lua.release(r)
        let t = lua.ref(.object([("a", .integer(1))]))
        XCTAssertEqual(lua.field(t, "a").map { lua.get($0) }, .integer(1))
        XCTAssertNil(lua.field(t, "b"))
        let combined = lua.table([("inner", t)])
        XCTAssertEqual(lua.get(combined)["inner"], .object([("a", .integer(1))]))
        // The stack is balanced after all of this.
        XCTAssertEqual(lua.top, 0)
    }

    func testCoverageCountsLines() throws {
        lua.setCoverage(true)
        try lua.run("local x = 0\nfor i = 1, 3 do\n  x = x + i\nend\nreturn x", chunkName: "cov.lua")
        lua.setCoverage(false)
        let lines = try XCTUnwrap(lua.coverage()["cov.lua"])
        XCTAssertEqual(lines[1], 1)
        XCTAssertEqual(lines[3], 3)
        XCTAssertNil(lines[6])
        // Off: nothing more is counted.
        try lua.run("local y = 1\nreturn y", chunkName: "later.lua")
        XCTAssertNil(lua.coverage()["later.lua"])
    }

    func testWhereAndTraceback() throws {
        lua.setGlobal("where", ref: lua.whereFunction())
        lua.setGlobal("tb", ref: lua.tracebackFunction())
        XCTAssertEqual(try lua.run("\n\nreturn where(1)", chunkName: "w.lua"), [.string("w.lua:3")])
        let tb = try lua.run("local function f() return tb('msg') end\nreturn f()", chunkName: "t.lua").first?.stringValue ?? ""
        XCTAssertTrue(tb.hasPrefix("msg\nstack traceback:"), tb)
        XCTAssertTrue(tb.contains("t.lua:1"), tb)
    }
}
