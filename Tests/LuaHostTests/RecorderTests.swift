import Foundation
import XCTest
import CLuaShim
@testable import LuaHost

/// The operation recorder (CLuaShim.h): what a script does with marked numbers comes back as a tape of
/// operations with operand codes, and anything a tape cannot hold breaks the recording.
final class RecorderTests: XCTestCase {
    var lua: LuaState!

    override func setUpWithError() throws {
        lua = try makeState()
        guard let recorder = lua.recorder(limit: 64) else { return XCTFail("no recorder") }
        lua.setGlobal("RC", ref: recorder)
    }
    override func tearDown() { lua = nil }

    struct Entry: Equatable { let op: Int32; let a: Int32; let b: Int32 }

    func tape() -> (entries: [Entry], constants: [Double]) {
        lua.withRecordedTape { op, a, b, k in
            (op.indices.map { Entry(op: Int32(op[$0]), a: a[$0], b: b[$0]) }, Array(k))
        }
    }

    /// Runs `body` (Lua, with inputs x = 1.5 and y = 4 marked as nodes 1 and 2) in a recording;
    /// returns its results and whether the recording broke.
    func record(_ body: String) throws -> (results: [LuaValue], broken: Bool) {
        let r = try lua.run("""
        RC.start(2)
        local x, y = RC.track(1.5, 1), RC.track(4, 2)
        local ok, a, b = pcall(function(x, y) \(body) end, x, y)
        local broken = RC.stop()
        if not ok then return "error", broken end
        local ca = RC.is(a) and RC.operand(a) or a
        local cb = RC.is(b) and RC.operand(b) or b
        return ca, broken, cb
        """, chunkName: "test.lua")
        return (r, r[1] == .boolean(true))
    }

    func testArithmeticIsExecutedAndRecorded() throws {
        let (r, broken) = try record("local s = x * 2 + y; return s / 3, -x - s")
        XCTAssertFalse(broken)
        let (entries, constants) = tape()
        XCTAssertEqual(constants, [2, 3])
        XCTAssertEqual(entries, [
            Entry(op: Int32(PLUME_OP_MUL), a: 1, b: -1),      // node 3 = x * 2
            Entry(op: Int32(PLUME_OP_ADD), a: 3, b: 2),       // node 4 = node 3 + y
            Entry(op: Int32(PLUME_OP_DIV), a: 4, b: -2),      // node 5 = node 4 / 3
            Entry(op: Int32(PLUME_OP_UNM), a: 1, b: 0),       // node 6 = -x
            Entry(op: Int32(PLUME_OP_SUB), a: 6, b: 4),       // node 7 = node 6 - node 4
        ])
        XCTAssertEqual(r[0].doubleValue, 5)                   // operand code of s / 3
        XCTAssertEqual(r[2].doubleValue, 7)
        // the values computed along the way are the plain arithmetic's
        let v = try lua.run("""
            RC.start(1)
            local x = RC.track(1.5, 1)
            local s = x * 2 + 4
            local a, b = s < 7.5, s <= 6.5
            RC.stop()
            return RC.is(s), a, b
            """, chunkName: "v.lua")
        XCTAssertEqual(v, [.boolean(true), .boolean(true), .boolean(false)])
    }

    func testComparisonsAreGuardsWithTheirOutcome() throws {
        let (_, broken) = try record("if x < y then return x, y end return y, x")
        XCTAssertFalse(broken)
        _ = try record("local a = 2 <= x; local b = x == y; local c = RC.finite(x); local d = RC.integer(y); return x, y")
        XCTAssertEqual(tape().entries, [
            Entry(op: Int32(PLUME_OP_LE_F), a: -1, b: 1),
            Entry(op: Int32(PLUME_OP_EQ_F), a: 1, b: 2),
            Entry(op: Int32(PLUME_OP_FINITE_T), a: 1, b: 0),
            Entry(op: Int32(PLUME_OP_INT_T), a: 2, b: 0),
        ])
    }

    func testAnythingElseBreaksTheRecording() throws {
        for misuse in ["return tostring(x)", "return x % 2", "return x // 1", "return x ^ 2", "return x .. ''",
                       "return #x", "return x.field", "return x()", "return x + 'a'", "return x + (1 << 60)",
                       "return x * (0/0)"] {
            let (r, broken) = try record(misuse)
            XCTAssertEqual(r[0].stringValue, "error", misuse)
            XCTAssertTrue(broken, misuse)
        }
        // library functions refuse a mark: an error the recording's owner sees
        for refused in ["return math.floor(x)", "return rawlen(x)", "return string.format('%f', x)"] {
            XCTAssertEqual(try record(refused).results[0].stringValue, "error", refused)
        }
        // a plain number equal to a mark is not the mark (Lua does not ask), and no guard is kept
        let (_, broken) = try record("return x == 1.5 and 1 or 0, 0")
        XCTAssertFalse(broken)
        XCTAssertEqual(tape().entries, [])
    }

    func testMarksKeepTheirMetatableToThemselves() throws {
        let r = try lua.run("local m = RC.track(1, 1); return getmetatable(m), type(m), pcall(setmetatable, m, {})",
                            chunkName: "meta.lua")
        XCTAssertEqual(r[0], .boolean(false))
        XCTAssertEqual(r[1].stringValue, "userdata")
        XCTAssertEqual(r[2], .boolean(false))
    }

    func testOutsideARecordingMarksRefuseArithmetic() throws {
        let e = luaError(try lua.run("local m = RC.track(1, 1); return m + 1", chunkName: "outside.lua"))
        XCTAssertTrue("\(e!)".contains("a tracked number was used outside arithmetic"), "\(e!)")
    }

    func testATapeBeyondTheLimitBreaks() throws {
        let (_, broken) = try record("local s = x; for i = 1, 100 do s = s + y end; return s, 0")
        XCTAssertTrue(broken)
        let (_, fits) = try record("local s = x; for i = 1, 50 do s = s + y end; return s, 0")
        XCTAssertFalse(fits)
        XCTAssertEqual(tape().entries.count, 50)
    }
}
