import Foundation
import XCTest
@testable import LuaHost

/// The hostile-script corpus: each script gets its expected refusal, and the state keeps working.
final class LuaSandboxTests: XCTestCase {
    var lua: LuaState!

    override func setUpWithError() throws { lua = try makeState() }
    override func tearDown() { lua = nil }

    func refusal(_ source: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        runtimeMessage(luaError(try lua.run(source, chunkName: "hostile.lua"), file: file, line: line), file: file, line: line)
    }

    func testDangerousLibrariesAreAbsent() throws {
        let r = try lua.run("""
            return type(os), type(io), type(debug), type(package), type(require), type(dofile), type(loadfile),
                   type(collectgarbage), type(coroutine), type(string.dump), type(load), type(print)
            """, chunkName: "env.lua")
        XCTAssertEqual(r, ["nil", "nil", "nil", "nil", "nil", "nil", "nil", "nil", "nil", "function", "function", "function"]
                        .map { LuaValue.string($0) })
    }

    func testOsExecuteIsRefused() {
        XCTAssertEqual(refusal("os.execute('touch /tmp/plume-pwned')"), "hostile.lua:1: attempt to index a nil value (global 'os')")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/tmp/plume-pwned"))
        assertUsable(lua)
    }

    func testIoOpenIsRefused() {
        XCTAssertEqual(refusal("local f = io.open('/etc/passwd')\nreturn f:read('a')"),
                       "hostile.lua:1: attempt to index a nil value (global 'io')")
        assertUsable(lua)
    }

    func testDebugSethookIsRefused() {
        XCTAssertEqual(refusal("debug.sethook(function() end, '', 1)"), "hostile.lua:1: attempt to index a nil value (global 'debug')")
        assertUsable(lua)
    }

    func testDofileLoadfileCollectgarbageAreAbsent() {
        XCTAssertEqual(refusal("dofile('/etc/passwd')"), "hostile.lua:1: attempt to call a nil value (global 'dofile')")
        XCTAssertEqual(refusal("loadfile('/etc/passwd')"), "hostile.lua:1: attempt to call a nil value (global 'loadfile')")
        XCTAssertEqual(refusal("collectgarbage('stop')"), "hostile.lua:1: attempt to call a nil value (global 'collectgarbage')")
        XCTAssertEqual(refusal("require('os')"), "hostile.lua:1: attempt to call a nil value (global 'require')")
        assertUsable(lua)
    }

    func testLoadRefusesBytecode() throws {
        // string.dump exists, but what it makes cannot be loaded back.
        let r = try lua.run("""
            local f, err = load(string.dump(function() return 1 end))
            local g, err2 = load("\\27Lua\\84\\0\\25\\147\\13\\10\\26\\10\\4\\8\\8\\120\\86")
            return f, err, g, err2
            """, chunkName: "bc.lua")
        XCTAssertEqual(r.count, 4)
        XCTAssertEqual(r[0], .nil)
        XCTAssertTrue(r[1].stringValue?.contains("attempt to load a binary chunk") ?? false, "\(r[1])")
        XCTAssertEqual(r[2], .nil)
        XCTAssertTrue(r[3].stringValue?.contains("attempt to load a binary chunk") ?? false, "\(r[3])")
        // Asking for mode "b" does not help: the mode argument is ignored.
        XCTAssertEqual(try lua.run("return load(string.dump(function() end), 'x', 'b')", chunkName: "bc.lua").first, .nil)
        // A reader function is refused (it could hand over bytecode piecewise).
        let r2 = try lua.run("local n = 0 return load(function() n = n + 1 if n == 1 then return 'return 1' end end)", chunkName: "bc.lua")
        XCTAssertEqual(r2, [.nil, .string("load: only source text is accepted")])
        // The host's own load refuses bytecode too.
        guard case .syntax(let m)? = luaError(try lua.load("\u{1B}Lua\u{54}\u{0}", chunkName: "evil.luac")) else { return XCTFail() }
        XCTAssertTrue(m.contains("binary chunk"), m)
        // Text still loads, with an environment.
        XCTAssertEqual(try lua.run("return load('return x * 2', 'c', 't', {x = 21})()", chunkName: "ok.lua"), [.integer(42)])
        assertUsable(lua)
    }

    func testGlobalTableMetatableCannotTrapTheHost() throws {
        // The script arms _G so that any lookup or assignment errors or loops; the host's own global
        // access is raw, so it neither runs these functions nor dies on an unprotected error.
        try lua.run("""
            setmetatable(_G, {
              __index = function(_, k) error("trapped read of " .. tostring(k)) end,
              __newindex = function(_, k) while true do end end,
            })
            """, chunkName: "hostile.lua")
        XCTAssertNil(lua.global("does_not_exist"))
        lua.setGlobal("injected", .integer(5))
        XCTAssertEqual(lua.global("injected").map { lua.get($0) }, .integer(5))
        lua.register("cb") { _ in [.integer(1)] }
        XCTAssertEqual(try lua.run("return injected + cb()", chunkName: "after.lua"), [.integer(6)])
        // The script itself still meets its traps.
        XCTAssertTrue(refusal("return missing_name").contains("trapped read of missing_name"))
        assertTimeLimit(luaError(try lua.run("newglobal = 1", chunkName: "hostile.lua")))
    }

    func testStringMetatableIsHidden() throws {
        // Strings share one metatable per state; scripts cannot reach it to poison method calls.
        XCTAssertEqual(try lua.run("return getmetatable('')", chunkName: "s.lua"), [.boolean(false)])
        let m = refusal("getmetatable('').__index = function() return 'pwned' end")
        XCTAssertTrue(m.contains("attempt to index a boolean value"), m)
        let m2 = refusal("getmetatable('').__index.upper = nil")
        XCTAssertTrue(m2.contains("attempt to index a boolean value"), m2)
        XCTAssertEqual(try lua.run("return ('abc'):upper(), ('x'):rep(3)", chunkName: "s.lua"), [.string("ABC"), .string("xxx")])
    }

    func testFinalizersAreRefused() throws {
        // A __gc would run outside any deadline or memory cap (while the host pushes values, and when
        // the state closes), so setmetatable refuses metatables that carry one.
        let m = refusal("setmetatable({}, {__gc = function() error('in gc') end})")
        XCTAssertTrue(m.hasPrefix("hostile.lua:1:"), m)
        XCTAssertTrue(m.contains("__gc"), m)
        XCTAssertEqual(try lua.run("""
            return pcall(setmetatable, {}, {__gc = function() while true do end end})
            """, chunkName: "gc.lua").first, .boolean(false))
        // Adding __gc later does not mark the table for finalization (Lua's rule), so nothing runs.
        try lua.run("""
            local mt = {}
            keep = setmetatable({}, mt)
            mt.__gc = function() while true do end end
            keep = nil
            for i = 1, 200000 do local t = {i} end
            """, chunkName: "gc.lua")
        // Other metatables are fine.
        XCTAssertEqual(try lua.run("return setmetatable({}, {__index = {a = 1}}).a", chunkName: "mt.lua"), [.integer(1)])
        assertUsable(lua)
    }

    func testClosingAStateWithGarbageDoesNotHang() throws {
        let result = onThread(timeout: 10) { () -> Bool in
            let l = try makeState()
            _ = try? l.run("setmetatable({}, {__gc = function() while true do end end})", chunkName: "gc.lua")
            try l.run("local mt = {} local t = setmetatable({}, mt) mt.__gc = function() while true do end end keep = t",
                      chunkName: "gc.lua")
            return true     // the state is closed here, with `keep` alive
        }
        XCTAssertNotNil(result, "closing the state hung")
        XCTAssertEqual(try result?.get(), true)
    }

    func testProtectedMetatablesStayProtected() throws {
        let m = refusal("""
            local t = setmetatable({}, {__metatable = 'locked'})
            setmetatable(t, {})
            """)
        XCTAssertTrue(m.contains("cannot change a protected metatable"), m)
    }

    func testDeepRecursionIsAnErrorNotACrash() throws {
        // Plenty of memory, so Lua's own stack limit is what stops it.
        let big = try makeState(memory: 256 << 20, time: 5)
        let m = runtimeMessage(luaError(try big.run("local function f(n) return 1 + f(n + 1) end\nreturn f(1)", chunkName: "deep.lua")))
        XCTAssertTrue(m.contains("stack overflow"), m)
        assertUsable(big)
        // With the small cap the memory limit may come first: either way a clean refusal.
        let e = luaError(try lua.run("local function f(n) return 1 + f(n + 1) end\nreturn f(1)", chunkName: "deep.lua"))
        switch e {
        case .memoryLimit?: break
        case .runtime(let m, _, _)?: XCTAssertTrue(m.contains("stack overflow"), m)
        default: XCTFail("\(String(describing: e))")
        }
        assertUsable(lua)
        // Recursion through pcall and string.gsub callbacks (C boundaries): C stack overflow error.
        let m2 = runtimeMessage(luaError(try lua.run("""
            local function f(s) return (s:gsub('.', f)) end
            return f('x')
            """, chunkName: "deep.lua")))
        XCTAssertTrue(m2.contains("stack overflow"), m2)
        let r = try lua.run("""
            local depth, deepest = 0, nil
            local function f() depth = depth + 1 local ok, e = pcall(f) if not ok then deepest = deepest or e end end
            f()
            return depth > 100, deepest
            """, chunkName: "deep.lua")
        XCTAssertEqual(r.first, .boolean(true))
        XCTAssertTrue(r.last?.stringValue?.contains("stack overflow") ?? false, "\(r)")
        assertUsable(lua)
    }

    func testHugeStringRepIsRefused() {
        // Lua 5.4 refuses strings over 2^31 bytes outright; below that the memory cap refuses them.
        XCTAssertEqual(refusal("return string.rep('x', 1e12)"), "hostile.lua:1: resulting string too large")
        assertUsable(lua)
        XCTAssertEqual(refusal("return ('x'):rep(2^62)"), "hostile.lua:1: resulting string too large")
        assertMemoryLimit(luaError(try lua.run("return string.rep('x', 1e9)", chunkName: "rep.lua")))
        assertUsable(lua)
        assertMemoryLimit(luaError(try lua.run("return string.rep('ab', 1e8, ',')", chunkName: "rep.lua")))
        assertUsable(lua)
    }

    func testCLoopsThatTheHookCannotInterruptAreCut() throws {
        // These loop inside C, where the watchdog's hook never fires: they must end by themselves.
        let result = onThread(timeout: 10) { () -> [LuaValue] in
            let l = try makeState()
            let rep = try l.run("return #string.rep('', 2^62), #string.rep('', 2^62, '')", chunkName: "c.lua")
            let move = (try? l.run("table.move({}, 1, math.maxinteger - 1, 1)", chunkName: "c.lua")) == nil
            let ins = (try? l.run("""
                local t = setmetatable({}, {__len = function() return math.maxinteger - 1 end})
                table.insert(t, 1, 'x')
                """, chunkName: "c.lua")) == nil
            let rem = (try? l.run("""
                local t = setmetatable({}, {__len = function() return math.maxinteger - 1 end})
                table.remove(t, 1)
                """, chunkName: "c.lua")) == nil
            // Ordinary uses still work.
            let ok = try l.run("""
                local t = {1, 2, 3}
                table.insert(t, 1, 0); table.remove(t, 2); local u = table.move(t, 1, 3, 2, {})
                return table.concat(t, ','), u[4], ('ab'):rep(3, '-'), #(''):rep(10)
                """, chunkName: "c.lua")
            return rep + [.boolean(move), .boolean(ins), .boolean(rem)] + ok
        }
        guard let result else { return XCTFail("a C loop hung the state") }
        XCTAssertEqual(try result.get(), [.integer(0), .integer(0), .boolean(true), .boolean(true), .boolean(true),
                                          .string("0,2,3"), .integer(3), .string("ab-ab-ab"), .integer(0)])
    }

    func testReadOnlyTablesRefuseWrites() throws {
        let cfg = try lua.readOnly(.object([("rate", .number(0.5)), ("nested", .object([("k", .integer(1))])),
                                            ("list", .array([.integer(10), .integer(20)]))]), name: "cfg")
        lua.setGlobal("cfg", ref: cfg)
        // Reads see everything.
        XCTAssertEqual(try lua.run("""
            local n = 0 for k, v in pairs(cfg) do n = n + 1 end
            local s = 0 for _, v in ipairs(cfg.list) do s = s + v end
            return cfg.rate, cfg.nested.k, #cfg.list, n, s
            """, chunkName: "ro.lua"), [.number(0.5), .integer(1), .integer(2), .integer(3), .integer(30)])
        // Writes, at any depth, raise a clear error at the script's line.
        XCTAssertEqual(refusal("\ncfg.rate = 1"), "hostile.lua:2: attempt to modify read-only table 'cfg' (key 'rate')")
        XCTAssertEqual(refusal("cfg.nested.k = 2"), "hostile.lua:1: attempt to modify read-only table 'cfg.nested' (key 'k')")
        XCTAssertEqual(refusal("cfg.new = true"), "hostile.lua:1: attempt to modify read-only table 'cfg' (key 'new')")
        XCTAssertTrue(refusal("table.insert(cfg.list, 30)").contains("attempt to modify read-only table 'cfg.list'"))
        XCTAssertTrue(refusal("setmetatable(cfg, nil)").contains("cannot change a protected metatable"))
        XCTAssertEqual(try lua.run("return getmetatable(cfg)", chunkName: "ro.lua"), [.string("read-only")])
        // rawset cannot slip a value in either.
        XCTAssertTrue(refusal("rawset(cfg, 'rate', 99)").contains("read-only"))
        XCTAssertTrue(refusal("rawset(cfg.nested, 'k', 99)").contains("read-only"))
        XCTAssertEqual(try lua.run("return cfg.rate, cfg.nested.k, rawset({}, 'a', 1).a", chunkName: "ro.lua"),
                       [.number(0.5), .integer(1), .integer(1)])
        // Scalars pass through unchanged.
        XCTAssertEqual(lua.get(try lua.readOnly(.integer(3), name: "n")), .integer(3))
    }

    func testIndexMetamethodLoopIsInterrupted() {
        let e = luaError(try lua.run("""
            local t = setmetatable({}, {__index = function() while true do end end})
            return t.x
            """, chunkName: "idx.lua"))
        assertTimeLimit(e)
        assertUsable(lua)
    }
}

/// `makeRequire`: host modules, files under the root, and nothing else.
final class LuaRequireTests: XCTestCase {
    var lua: LuaState!
    var root: URL!

    override func setUpWithError() throws {
        lua = try makeState()
        root = FileManager.default.temporaryDirectory.appendingPathComponent("plume-require-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("sub"), withIntermediateDirectories: true)
        try "loads = (loads or 0) + 1\nreturn { twice = function(x) return 2 * x end }".write(
            to: root.appendingPathComponent("util.lua"), atomically: true, encoding: .utf8)
        try "return 'nested module'".write(to: root.appendingPathComponent("sub/mod.lua"), atomically: true, encoding: .utf8)
        try "local x = 1\nerror('module broke')".write(to: root.appendingPathComponent("broken.lua"), atomically: true, encoding: .utf8)
        try "return = 1".write(to: root.appendingPathComponent("bad.lua"), atomically: true, encoding: .utf8)
        try "return require('selfref')".write(to: root.appendingPathComponent("selfref.lua"), atomically: true, encoding: .utf8)
        try "while true do end".write(to: root.appendingPathComponent("spin.lua"), atomically: true, encoding: .utf8)
        let json = lua.ref(.object([("name", .string("json"))]))
        lua.setGlobal("require", ref: lua.makeRequire(modules: ["json": json], root: root))
    }

    override func tearDown() {
        lua = nil
        try? FileManager.default.removeItem(at: root)
    }

    func refusal(_ source: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        runtimeMessage(luaError(try lua.run(source, chunkName: "main.lua"), file: file, line: line), file: file, line: line)
    }

    func testServesHostModulesAndFilesOnce() throws {
        XCTAssertEqual(try lua.run("""
            local u = require('util'); local u2 = require('util')
            return require('json').name, u.twice(21), loads, require('sub.mod')
            """, chunkName: "main.lua"), [.string("json"), .integer(42), .integer(1), .string("nested module")])
    }

    func testRefusesFFIAndUnknownModules() {
        let m = refusal("local ffi = require 'ffi'")
        XCTAssertTrue(m.hasPrefix("main.lua:1: module 'ffi' not found"), m)
        XCTAssertTrue(refusal("require 'os'").contains("module 'os' not found"))
        XCTAssertTrue(refusal("require(42)").contains("module name must be a string"))
        assertUsable(lua)
    }

    func testRefusesPathsOutsideTheRoot() throws {
        // A real file just outside the root, reachable with ../ if the check failed.
        let outside = root.deletingLastPathComponent().appendingPathComponent("plume-outside-\(UUID().uuidString).lua")
        try "escaped = true return 'escaped'".write(to: outside, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: outside) }
        let name = outside.deletingPathExtension().lastPathComponent
        for bad in ["../\(name)", "..\(name)", "sub/../util", "/etc/passwd", "/etc/passwd\0", "..", ".hidden", "sub\\mod", "~/x",
                    outside.deletingPathExtension().path] {
            let source = "return require(\(luaQuote(bad)))"
            let m = refusal(source)
            XCTAssertTrue(m.contains("not found"), "\(bad): \(m)")
        }
        XCTAssertEqual(try lua.run("return escaped", chunkName: "main.lua"), [.nil])
    }

    func testModuleErrorsNameTheModuleFile() {
        let m = refusal("require 'broken'")
        XCTAssertTrue(m.contains("broken.lua:2: module broke"), m)
        let m2 = refusal("require 'bad'")
        XCTAssertTrue(m2.contains("bad.lua:1:"), m2)
        XCTAssertTrue(refusal("require 'selfref'").contains("requires itself"))
        // A failed module is not cached: it fails again, and other modules still load.
        XCTAssertTrue(refusal("require 'broken'").contains("module broke"))
        XCTAssertEqual(try lua.run("return require('util').twice(2)", chunkName: "main.lua"), [.integer(4)])
    }

    func testModuleThatSpinsHitsTheTimeLimit() {
        assertTimeLimit(luaError(try lua.run("require 'spin'", chunkName: "main.lua")))
        assertTimeLimit(luaError(try lua.run("pcall(require, 'spin') while true do end", chunkName: "main.lua")))
        assertUsable(lua)
    }

    private func luaQuote(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\0", with: "\\0") + "\""
    }
}
