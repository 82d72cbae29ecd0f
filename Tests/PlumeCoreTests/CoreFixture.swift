import Foundation
import XCTest
import LuaHost
@testable import PlumeCore

/// Fixture access for ContractTests, CoefficientTests, GridTests and TranscriptionTests.
enum CoreFixture {
    static let root: URL = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!

    static func url(_ path: String) -> URL { root.appendingPathComponent(path) }

    /// The fixture model folder of the contract tests.
    static var contractModels: ModelRepository { ModelRepository(root: url("contract/Models")) }

    static func engine(grid: GridLookup = GridLookup(), limits: RuntimeLimits = .standard) throws -> Engine {
        try Engine(repository: contractModels, grid: grid, limits: limits)
    }

    /// The 1-based number of the first line of `url` that contains `needle`.
    static func line(of needle: String, in url: URL, file: StaticString = #filePath, line: UInt = #line) -> Int {
        let text = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
        for (i, l) in text.components(separatedBy: "\n").enumerated() where l.contains(needle) { return i + 1 }
        XCTFail("'\(needle)' not found in \(url.path)", file: file, line: line)
        return -1
    }

    static func row(_ json: String) throws -> LuaValue { try JSONValue.parse(json) }

    /// The error a throwing expression raises, as text (fails the test when nothing is thrown).
    static func errorText<T>(_ body: @autoclosure () throws -> T, file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            _ = try body()
            XCTFail("expected an error", file: file, line: line)
            return ""
        } catch {
            return "\(error)"
        }
    }
}

/// Outcome helpers shared by the contract and grid tests.
extension RowOutcome {
    var okValues: (total: Double, values: [Double])? {
        if case .ok(let t, let v) = self { return (t, v) }
        return nil
    }

    var rejection: (message: String, path: String?)? {
        if case .rejected(let m, let p) = self { return (m, p) }
        return nil
    }

    var failure: (message: String, traceback: String)? {
        if case .failed(let m, let t) = self { return (m, t) }
        return nil
    }
}
