import Foundation
import XCTest
@testable import LuaHost

/// Errors: syntax errors name chunk and line, runtime errors carry chunk:line and a traceback, Swift
/// callback errors reach the script (catchable) and come back to the host when uncaught.
final class LuaErrorTests: XCTestCase {
    var lua: LuaState!

    override func setUpWithError() throws { lua = try makeState() }
    override func tearDown() { lua = nil }

    func testSyntaxErrorNamesChunkAndLine() throws {
        let e = luaError(try lua.load("local a = 1\nlocal b = 2\nlocal c = = 3\n", chunkName: "model.lua"))
        guard case .syntax(let m)? = e else { return XCTFail("\(String(describing: e))") }
        XCTAssertTrue(m.hasPrefix("model.lua:3:"), m)
        XCTAssertTrue(m.contains("unexpected symbol"), m)
        // run() reports it the same way, and the state is fine afterwards.
        guard case .syntax(let m2)? = luaError(try lua.run("x = (1", chunkName: "dir/other.lua")) else { return XCTFail() }
        XCTAssertTrue(m2.hasPrefix("dir/other.lua:1:"), m2)
        assertUsable(lua)
        XCTAssertEqual(lua.top, 0)
    }

    func testUnfinishedStringNamesLine() throws {
        guard case .syntax(let m)? = luaError(try lua.load("\n\n\nlocal s = 'open\n", chunkName: "model.lua")) else { return XCTFail() }
        XCTAssertTrue(m.hasPrefix("model.lua:4:"), m)
    }

    func testRuntimeErrorHasChunkLineAndTraceback() throws {
        let source = """
        local function inner()
          error("boom")
        end
        local function outer() inner() end
        outer()
        """
        let e = luaError(try lua.run(source, chunkName: "model.lua"))
        guard case .runtime(let m, let tb, let v)? = e else { return XCTFail("\(String(describing: e))") }
        XCTAssertEqual(m, "model.lua:2: boom")
        XCTAssertNil(v)
        XCTAssertTrue(tb.hasPrefix("stack traceback:"), tb)
        XCTAssertTrue(tb.contains("model.lua:2: in"), tb)
        XCTAssertTrue(tb.contains("model.lua:4: in"), tb)
        XCTAssertTrue(tb.contains("model.lua:5: in"), tb)
        XCTAssertEqual(e?.message, "model.lua:2: boom")
        XCTAssertTrue(e?.description.contains("stack traceback:") ?? false)
        XCTAssertEqual(lua.top, 0)
    }

    func testArithmeticErrorNamesTheVariable() throws {
        let m = runtimeMessage(luaError(try lua.run("local x = nil\nreturn x + 1", chunkName: "m.lua")))
        XCTAssertTrue(m.hasPrefix("m.lua:2: attempt to perform arithmetic on a nil value (local 'x')"), m)
    }

    func testNonStringErrorValues() throws {
        XCTAssertTrue(runtimeMessage(luaError(try lua.run("error(nil)", chunkName: "e.lua"))).contains("nil value"))
        XCTAssertTrue(runtimeMessage(luaError(try lua.run("error(42)", chunkName: "e.lua"))).contains("number value"))
        XCTAssertTrue(runtimeMessage(luaError(try lua.run("error(true)", chunkName: "e.lua"))).contains("boolean value"))
        // error(msg, 0) has no position.
        XCTAssertEqual(runtimeMessage(luaError(try lua.run("error('plain', 0)", chunkName: "e.lua"))), "plain")
    }

    func testTableErrorValueComesBackAsValue() throws {
        let e = luaError(try lua.run("error({message = 'bad row', code = 7, path = 'a.b'})", chunkName: "e.lua"))
        guard case .runtime(let m, _, let v)? = e else { return XCTFail() }
        XCTAssertEqual(m, "bad row")
        XCTAssertEqual(v?["code"], .integer(7))
        XCTAssertEqual(v?["path"], .string("a.b"))
        guard case .runtime(let m2, _, _)? = luaError(try lua.run("error({code = 1})", chunkName: "e.lua")) else { return XCTFail() }
        XCTAssertEqual(m2, "(error object is a table)")
    }

    func testHostileErrorTablesRunNoMetamethods() throws {
        // __tostring, __index and __len that loop or error: the host reads the error object raw, so none
        // of them runs (a loop would hit the time limit, an error would replace the message).
        let script = """
        local mt = {
          __tostring = function() while true do end end,
          __index = function() error("index ran") end,
          __len = function() while true do end end,
          __pairs = function() error("pairs ran") end,
          __eq = function() error("eq ran") end,
        }
        error(setmetatable({ code = 'E1' }, mt))
        """
        // Had the host run the looping __len, the call would end in the time limit, not this error.
        let e = luaError(try lua.run(script, chunkName: "hostile.lua"))
        guard case .runtime(let m, _, let v)? = e else { return XCTFail("\(String(describing: e))") }
        XCTAssertEqual(m, "(error object is a table)")
        XCTAssertEqual(v?["code"], .string("E1"))
        // A table whose `message` is only reachable through __index: not read.
        guard case .runtime(let m2, _, _)? = luaError(try lua.run(
            "error(setmetatable({}, {__index = function() return 'via index' end}))", chunkName: "h.lua")) else { return XCTFail() }
        XCTAssertEqual(m2, "(error object is a table)")
        // A self-referencing error table converts without recursing forever.
        guard case .runtime(_, _, let v3)? = luaError(try lua.run("local t = {message = 'loop'} t.t = t error(t)", chunkName: "h.lua")) else { return XCTFail() }
        XCTAssertEqual(v3?["t"], .opaque("table"))
        assertUsable(lua)
    }

    func testErrorInsideIndexMetamethod() throws {
        let m = runtimeMessage(luaError(try lua.run("""
            local t = setmetatable({}, {__index = function(_, k) error("no field " .. k) end})
            return t.missing
            """, chunkName: "idx.lua")))
        XCTAssertEqual(m, "idx.lua:1: no field missing")
        // __index that recurses into itself: a C stack overflow error, not a crash.
        let m2 = runtimeMessage(luaError(try lua.run("""
            local t
            t = setmetatable({}, {__index = function(_, k) return t[k] end})
            return t.x
            """, chunkName: "idx.lua")))
        XCTAssertTrue(m2.contains("stack overflow"), m2)
        assertUsable(lua)
    }

    // MARK: Swift callbacks

    func testCallbackErrorIsCatchableInScript() throws {
        lua.register("fail") { args in throw LuaCallbackError("refused: \(args.first?.stringValue ?? "?")") }
        let r = try lua.run("""
            local ok, err = pcall(fail, "x")
            local ok2, err2 = pcall(function() fail("y") end)
            return ok, err, ok2, err2
            """, chunkName: "main.lua")
        XCTAssertEqual(r.count, 4)
        XCTAssertEqual(r[0], .boolean(false))
        XCTAssertEqual(r[1].stringValue.map { $0.hasSuffix("refused: x") }, true, "\(r[1])")
        XCTAssertEqual(r[2], .boolean(false))
        // Called from a Lua line, the message names that line, like errors of Lua's own C functions.
        XCTAssertEqual(r[3], .string("main.lua:2: refused: y"))
    }

    func testCallbackErrorValueReachesScriptAsIs() throws {
        lua.register("reject") { _ in throw LuaCallbackError(value: .object([("code", .integer(409)), ("message", .string("conflict"))])) }
        XCTAssertEqual(try lua.run("""
            local ok, e = pcall(reject)
            return ok, type(e), e.code, e.message
            """, chunkName: "main.lua"),
                       [.boolean(false), .string("table"), .integer(409), .string("conflict")])
        // Uncaught, the table comes back to the host as the error value.
        guard case .runtime(let m, _, let v)? = luaError(try lua.run("reject()", chunkName: "main.lua")) else { return XCTFail() }
        XCTAssertEqual(m, "conflict")
        XCTAssertEqual(v?["code"], .integer(409))
    }

    func testUncaughtCallbackErrorHasLineAndTraceback() throws {
        lua.register("fail") { _ in throw LuaCallbackError("nope") }
        let source = """
        local function helper()
          return 1
        end
        local function go() fail() end
        go()
        """
        let e = luaError(try lua.run(source, chunkName: "main.lua"))
        guard case .runtime(let m, let tb, _)? = e else { return XCTFail("\(String(describing: e))") }
        XCTAssertEqual(m, "main.lua:4: nope")
        XCTAssertTrue(tb.hasPrefix("stack traceback:"), tb)
        XCTAssertTrue(tb.contains("main.lua:4: in"), tb)
        XCTAssertTrue(tb.contains("main.lua:5: in"), tb)
        assertUsable(lua)
    }

    func testOtherSwiftErrorsBecomeMessages() throws {
        struct Oops: Error, CustomStringConvertible { var description: String { "oops happened" } }
        lua.register("oops") { _ in throw Oops() }
        let m = runtimeMessage(luaError(try lua.run("\noops()", chunkName: "main.lua")))
        XCTAssertEqual(m, "main.lua:2: oops happened")
        XCTAssertEqual(try lua.run("return pcall(oops)", chunkName: "main.lua").first, .boolean(false))
    }

    func testCallbackCanBeCalledManyTimes() throws {
        final class Counter: @unchecked Sendable { var n = 0 }
        let c = Counter()
        lua.register("tick") { args in c.n += 1; return [.integer((args.first.flatMap { if case .integer(let i) = $0 { i } else { nil } } ?? 0) + 1)] }
        XCTAssertEqual(try lua.run("local x = 0 for i = 1, 10000 do x = tick(x) end return x", chunkName: "t.lua"), [.integer(10000)])
        XCTAssertEqual(c.n, 10000)
    }

    func testErrorThenSuccessLeavesStackBalanced() throws {
        let f = try lua.load("local x = ... if x then error('bad', 0) end return 'good'", chunkName: "f.lua")
        for i in 0..<50 {
            if i % 2 == 0 {
                XCTAssertEqual(runtimeMessage(luaError(try lua.invoke(f, [.value(.boolean(true))]))), "bad")
            } else {
                XCTAssertEqual(try lua.invoke(f, [.value(.boolean(false))]), [.string("good")])
            }
        }
        XCTAssertEqual(lua.top, 0)
    }
}
