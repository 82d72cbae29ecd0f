import Foundation
import XCTest
@testable import LuaHost

/// Small limits keep the suite fast: hostile scripts hit them within a fraction of a second.
let testMemory = 32 << 20
let testTime = 0.3

func makeState(memory: Int = testMemory, time: Double = testTime) throws -> LuaState {
    try LuaState(memoryLimit: memory, timeLimit: time)
}

/// Runs `body` on a fresh thread (the state must be created inside it) and waits at most `timeout`
/// seconds. Returns nil when the body did not finish: a limit failed to stop a script.
func onThread<T: Sendable>(timeout: Double = 10, _ body: @escaping @Sendable () throws -> T) -> Result<T, Error>? {
    let box = ResultBox<T>()
    let done = DispatchSemaphore(value: 0)
    let thread = Thread {
        box.result = Result { try body() }
        done.signal()
    }
    thread.stackSize = 16 << 20
    thread.start()
    guard done.wait(timeout: .now() + timeout) == .success else { return nil }
    return box.result
}

/// Asserts that `body` throws a LuaError and returns it (nil, with a failure, otherwise).
@discardableResult
func luaError<T>(_ body: @autoclosure () throws -> T, file: StaticString = #filePath, line: UInt = #line) -> LuaError? {
    do {
        let r = try body()
        XCTFail("expected a LuaError, got \(r)", file: file, line: line)
        return nil
    } catch let e as LuaError {
        return e
    } catch {
        XCTFail("expected a LuaError, got \(error)", file: file, line: line)
        return nil
    }
}

/// The message of a `.runtime` error (fails otherwise).
func runtimeMessage(_ e: LuaError?, file: StaticString = #filePath, line: UInt = #line) -> String {
    guard case .runtime(let m, _, _)? = e else {
        XCTFail("expected a runtime error, got \(String(describing: e))", file: file, line: line)
        return ""
    }
    return m
}

func assertTimeLimit(_ e: LuaError?, file: StaticString = #filePath, line: UInt = #line) {
    guard case .timeLimit? = e else {
        return XCTFail("expected timeLimit, got \(String(describing: e))", file: file, line: line)
    }
}

func assertMemoryLimit(_ e: LuaError?, file: StaticString = #filePath, line: UInt = #line) {
    guard case .memoryLimit? = e else {
        return XCTFail("expected memoryLimit, got \(String(describing: e))", file: file, line: line)
    }
}

/// The state still works: a fresh call runs and returns the right value.
func assertUsable(_ lua: LuaState, file: StaticString = #filePath, line: UInt = #line) {
    do {
        let r = try lua.run("local t = {} for i = 1, 1000 do t[i] = i end return #t, ('ok'):upper()", chunkName: "probe.lua")
        XCTAssertEqual(r, [.integer(1000), .string("OK")], file: file, line: line)
    } catch {
        XCTFail("state unusable afterwards: \(error)", file: file, line: line)
    }
}

final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, Error>?
}
