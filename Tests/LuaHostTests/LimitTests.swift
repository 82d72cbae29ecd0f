import CLuaShim
import Foundation
import XCTest
@testable import LuaHost

/// The CPU deadline and the memory cap.
final class LuaLimitTests: XCTestCase {
    var lua: LuaState!

    override func setUpWithError() throws { lua = try makeState() }
    override func tearDown() { lua = nil }

    func testEndlessLoopHitsTimeLimit() throws {
        let start = Date()
        let e = luaError(try lua.run("while true do end", chunkName: "spin.lua"))
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertEqual(e, .timeLimit(seconds: testTime))
        XCTAssertGreaterThanOrEqual(elapsed, testTime * 0.9)
        XCTAssertLessThan(elapsed, testTime + 5.0, "the loop must stop near its limit (wide bound: a loaded machine is slower)")
        assertUsable(lua)
        XCTAssertEqual(lua.top, 0)
    }

    func testPcallCannotSwallowTheTimeLimit() {
        for script in [
            "while true do pcall(function() while true do end end) end",
            "while true do pcall(error) end",
            "for i = 1, math.huge do local ok = pcall(function() for j = 1, math.huge do end end) end",
            // The message handler loops too.
            "while true do xpcall(function() while true do end end, function() while true do end end) end",
            "local function f() while true do local ok, e = pcall(f) end end f()",
        ] {
            let start = Date()
            assertTimeLimit(luaError(try lua.run(script, chunkName: "spin.lua")))
            XCTAssertLessThan(Date().timeIntervalSince(start), testTime + 5.0, script)
            assertUsable(lua)
        }
    }

    func testTimeLimitIsPerCall() throws {
        // Many short calls add up to more than the limit; none of them is interrupted.
        let f = try lua.load("local s = 0 for i = 1, 20000 do s = s + i end return s", chunkName: "short.lua")
        let start = Date()
        var n = 0
        while Date().timeIntervalSince(start) < testTime * 2 {
            XCTAssertEqual(try lua.call(f), [.integer(200010000)])
            n += 1
        }
        XCTAssertGreaterThan(n, 1)
    }

    func testLegitimateWorkUnderTheLimitFinishes() throws {
        // About a tenth of the limit of real work, right after an interrupted call.
        assertTimeLimit(luaError(try lua.run("while true do end", chunkName: "spin.lua")))
        let r = try lua.run("""
            local s = 0 for i = 1, 300000 do s = s + i % 7 end return s
            """, chunkName: "work.lua")
        XCTAssertEqual(r, [.integer((1...300_000).reduce(0) { $0 + Int64($1 % 7) })])
    }

    func testHookIsArmedOnlyAtTheDeadline() throws {
        // A call that finishes in time leaves no hook behind; an interrupted one does not leave it
        // armed for the next call either.
        try lua.run("local s = 0 for i = 1, 1000 do s = s + i end", chunkName: "ok.lua")
        XCTAssertNil(lua_gethook(lua.L))
        assertTimeLimit(luaError(try lua.run("while true do end", chunkName: "spin.lua")))
        XCTAssertEqual(try lua.run("return 1", chunkName: "ok.lua"), [.integer(1)])
        XCTAssertNil(lua_gethook(lua.L))
    }

    func testTimeLimitWithCoverageOn() throws {
        lua.setCoverage(true)
        assertTimeLimit(luaError(try lua.run("local n = 0\nwhile true do\n  n = n + 1\nend", chunkName: "cov.lua")))
        try lua.run("local a = 1\nreturn a", chunkName: "cov2.lua")
        lua.setCoverage(false)
        XCTAssertNotNil(lua.coverage()["cov.lua"]?[3])
        XCTAssertEqual(lua.coverage()["cov2.lua"]?[2], 1)
    }

    func testNoTimeLimitWhenZero() throws {
        let l = try makeState(time: 0)
        XCTAssertEqual(try l.run("local s = 0 for i = 1, 3000000 do s = s + 1 end return s", chunkName: "long.lua"), [.integer(3000000)])
    }

    func testNestedCallFromACallbackKeepsTheOuterDeadline() {
        // A callback that calls back into Lua through the host API must not lift the outer call's
        // deadline (or the script after it would run unbounded).
        let result = onThread(timeout: 10) { () -> String in
            let l = try makeState()
            let inner = try l.load("return 1", chunkName: "inner.lua")
            l.register("host") { _ in try l.call(inner) }
            do {
                try l.run("for i = 1, 3 do host() end while true do end", chunkName: "outer.lua")
                return "finished?"
            } catch let e as LuaError {
                if case .timeLimit = e { return "timeLimit" }
                return "\(e)"
            }
        }
        guard let result else { return XCTFail("the outer call was never interrupted") }
        XCTAssertEqual(try result.get(), "timeLimit")
    }

    func testTimeLimitInsideCallbackNestedCall() {
        let result = onThread(timeout: 10) { () -> String in
            let l = try makeState()
            let spin = try l.load("while true do end", chunkName: "inner.lua")
            l.register("host") { _ in try l.call(spin) }
            do {
                try l.run("pcall(host) return 'survived'", chunkName: "outer.lua")
                return "finished"
            } catch let e as LuaError {
                if case .timeLimit = e { return "timeLimit" }
                return "\(e)"
            }
        }
        XCTAssertEqual(try result?.get(), "timeLimit")
    }

    // MARK: Memory

    func testStringDoublingHitsMemoryLimit() {
        let e = luaError(try lua.run("local s = 'x' while true do s = s .. s end", chunkName: "bomb.lua"))
        XCTAssertEqual(e, .memoryLimit(bytes: testMemory))
        assertUsable(lua)
        XCTAssertLessThanOrEqual(lua.memoryUsed, testMemory)
    }

    func testTableGrowthHitsMemoryLimit() throws {
        // A generous time limit, so the memory cap is what stops these.
        let lua = try makeState(time: 10)
        assertMemoryLimit(luaError(try lua.run("local t = {} local i = 0 while true do i = i + 1 t[i] = i end", chunkName: "bomb.lua")))
        assertUsable(lua)
        assertMemoryLimit(luaError(try lua.run("local t = {} for i = 1, 1e9 do t['k' .. i] = {i} end", chunkName: "bomb.lua")))
        assertUsable(lua)
        assertMemoryLimit(luaError(try lua.run("return table.concat({string.rep('x', 1 << 20)}, '', 1, 1) .. string.rep('y', 64 << 20)",
                                               chunkName: "bomb.lua")))
        assertUsable(lua)
    }

    func testMemoryErrorsCaughtByScriptAreTheScriptsBusiness() throws {
        // A script may catch a refused allocation and carry on (unlike the time limit).
        XCTAssertEqual(try lua.run("""
            local ok, err = pcall(string.rep, 'x', 1e9)
            return ok, err
            """, chunkName: "m.lua"), [.boolean(false), .string("not enough memory")])
        // ...but catching it in a loop still ends at the time limit.
        assertTimeLimit(luaError(try lua.run("while true do pcall(string.rep, 'x', 1e9) end", chunkName: "m.lua")))
        assertUsable(lua)
    }

    func testALimitLeavesTheStateBelowItsCap() throws {
        // A loop of refused `string.rep` fills the state with the string library's buffers, on towards
        // its cap (they have finalizers, which emergency collections skip); after the call they are
        // collected, so the next call has room.
        let small = try makeState(memory: 4 << 20, time: testTime)
        assertTimeLimit(luaError(try small.run("while true do pcall(string.rep, 'x', 1e9) end", chunkName: "m.lua")))
        XCTAssertLessThan(small.memoryUsed, 1 << 20)
        assertUsable(small)
    }

    func testHostPushesNeverMeetTheCap() throws {
        // The cap applies only inside protected calls: the host's own pushes, and a callback's results,
        // are never refused (a refusal there would raise a Lua error through Swift frames).
        let small = try makeState(memory: 8 << 20, time: 1)
        small.setGlobal("big", .string(String(repeating: "h", count: 4 << 20)))
        XCTAssertGreaterThan(small.memoryUsed, 4 << 20)
        small.register("large") { _ in [.string(String(repeating: "g", count: 6 << 20))] }
        // The callback's 6 MB result takes the state over its 8 MB cap; reading its length needs no
        // allocation, so the script finishes.
        XCTAssertEqual(try small.run("local s = large() return #s", chunkName: "m.lua"), [.integer(6 << 20)])
        XCTAssertGreaterThan(small.memoryUsed, 10 << 20)
        // Over the cap, the script cannot allocate more: a clean memoryLimit, and the state recovers
        // once the garbage is collected.
        assertMemoryLimit(luaError(try small.run("return big .. big", chunkName: "m.lua")))
        small.setGlobal("big", .nil)
        assertUsable(small)
    }

    func testMemoryUsedTracksAllocations() throws {
        let before = lua.memoryUsed
        XCTAssertGreaterThan(before, 0)
        try lua.run("keep = string.rep('x', 1 << 20)", chunkName: "m.lua")
        XCTAssertGreaterThan(lua.memoryUsed, 1 << 20)
        XCTAssertLessThan(before, 1 << 20)
    }
}
