import Foundation
import XCTest
@testable import LuaHost

/// One state per thread: states on different threads run at once and do not disturb each other.
final class LuaThreadTests: XCTestCase {
    func testTwoThreadsEachWithItsOwnState() throws {
        let script = """
        local n = ...
        local s = 0
        for i = 1, n do s = s + (i % 13) * 3 end
        local t = {}
        for i = 1, 1000 do t[#t + 1] = tostring(i) end
        return s, #table.concat(t)
        """
        func expected(_ n: Int64) -> Int64 { (1...n).reduce(0) { $0 + ($1 % 13) * 3 } }
        let a = onThread(timeout: 30) { () -> [LuaValue] in
            let l = try makeState(time: 10)
            return try l.run(script, chunkName: "a.lua", args: [.integer(3_000_000)])
        }
        let b = onThread(timeout: 30) { () -> [LuaValue] in
            let l = try makeState(time: 10)
            return try l.run(script, chunkName: "b.lua", args: [.integer(2_000_000)])
        }
        XCTAssertEqual(try a?.get(), [.integer(expected(3_000_000)), .integer(2893)])
        XCTAssertEqual(try b?.get(), [.integer(expected(2_000_000)), .integer(2893)])
    }

    func testTwoThreadsRunAtOnce() throws {
        // Both start together and each works longer than the other thread's whole run would need if
        // they were serialized behind one lock: they overlap in time.
        final class Times: @unchecked Sendable {
            let lock = NSLock()
            var spans: [(Date, Date)] = []
        }
        let times = Times()
        let start = DispatchSemaphore(value: 0)
        let group = DispatchGroup()
        final class Results: @unchecked Sendable { var values: [Int: Result<[LuaValue], Error>] = [:]; let lock = NSLock() }
        let results = Results()
        for k in 0..<2 {
            group.enter()
            let t = Thread {
                let r = Result { () -> [LuaValue] in
                    let l = try makeState(time: 10)
                    let f = try l.load("local k = ... local s = 0 for i = 1, 4000000 do s = s + k end return s", chunkName: "t\(k).lua")
                    start.wait()
                    let t0 = Date()
                    let out = try l.call(f, [.integer(Int64(k + 1))])
                    times.lock.lock(); times.spans.append((t0, Date())); times.lock.unlock()
                    return out
                }
                results.lock.lock(); results.values[k] = r; results.lock.unlock()
                group.leave()
            }
            t.start()
        }
        start.signal(); start.signal()
        XCTAssertEqual(group.wait(timeout: .now() + 30), .success)
        XCTAssertEqual(try results.values[0]?.get(), [.integer(4_000_000)])
        XCTAssertEqual(try results.values[1]?.get(), [.integer(8_000_000)])
        XCTAssertEqual(times.spans.count, 2)
        if times.spans.count == 2 {
            let (a, b) = (times.spans[0], times.spans[1])
            XCTAssertLessThan(max(a.0, b.0), min(a.1, b.1), "the two runs did not overlap")
        }
    }

    func testTimeLimitOnOneDoesNotAffectTheOther() throws {
        // Thread A spins into its 0.3 s limit three times; thread B, with a long limit, keeps working
        // until A is done (it asks the host), so any interrupt leaking from A's state would hit B.
        // No wall-clock assertion: the overlap is guaranteed by construction, not by timing.
        final class Out: @unchecked Sendable {
            let lock = NSLock()
            var a: String = ""
            var aDone = false
            var b: Result<[LuaValue], Error>?
        }
        let out = Out()
        let group = DispatchGroup()
        group.enter()
        let ta = Thread {
            var log = ""
            do {
                let l = try makeState(time: 0.3)
                for _ in 0..<3 {
                    do { try l.run("while true do end", chunkName: "a.lua"); log += "finished;" }
                    catch LuaError.timeLimit { log += "timeLimit;" }
                }
            } catch { log = "\(error)" }
            out.lock.lock(); out.a = log; out.aDone = true; out.lock.unlock()
            group.leave()
        }
        group.enter()
        let tb = Thread {
            out.b = Result {
                let l = try makeState(time: 20)
                l.register("a_done") { _ in
                    out.lock.lock(); defer { out.lock.unlock() }
                    return [.boolean(out.aDone)]
                }
                return try l.run("""
                    local rounds, s = 0, 0
                    repeat
                      for i = 1, 10000 do s = s + i % 3 end
                      rounds = rounds + 1
                    until a_done()
                    return rounds, s == rounds * 10000
                    """, chunkName: "b.lua")
            }
            group.leave()
        }
        ta.start(); tb.start()
        XCTAssertEqual(group.wait(timeout: .now() + 60), .success)
        XCTAssertEqual(out.a, "timeLimit;timeLimit;timeLimit;")
        let b = try out.b?.get() ?? []
        XCTAssertEqual(b.count, 2)
        XCTAssertEqual(b.last, .boolean(true), "B computed its sums undisturbed")   // i % 3 sums to 3 per 3 numbers
        if case .integer(let rounds)? = b.first { XCTAssertGreaterThan(rounds, 0) } else { XCTFail("B returned \(b)") }
    }

    func testManyStatesOnManyThreads() {
        let count = 6
        final class Out: @unchecked Sendable { var r = [String](repeating: "", count: 6); let lock = NSLock() }
        let out = Out()
        DispatchQueue.concurrentPerform(iterations: count) { k in
            var s = ""
            do {
                let l = try makeState(time: k % 2 == 0 ? 0.2 : 10)
                if k % 2 == 0 {
                    do { try l.run("while true do end", chunkName: "spin.lua"); s = "finished" }
                    catch LuaError.timeLimit { s = "timeLimit" }
                } else {
                    let r = try l.run("local s = 0 for i = 1, 2000000 do s = s + 1 end return s", chunkName: "w.lua")
                    s = r == [.integer(2_000_000)] ? "ok" : "\(r)"
                }
            } catch { s = "\(error)" }
            out.lock.lock(); out.r[k] = s; out.lock.unlock()
        }
        XCTAssertEqual(out.r, ["timeLimit", "ok", "timeLimit", "ok", "timeLimit", "ok"])
    }
}
