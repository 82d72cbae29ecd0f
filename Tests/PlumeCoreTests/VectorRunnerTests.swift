import Foundation
import XCTest
@testable import PlumeCore

/// Each rule of the vector format must be able to fail: these suites are written to fail in known ways.
final class VectorRunnerTests: TemporaryDirectoryTestCase {
    var runner: VectorRunner!

    override func setUpWithError() throws {
        try super.setUpWithError()
        let repo = ModelRepository(root: TestPaths.fixtures.appendingPathComponent("runner/Models"))
        runner = VectorRunner(engine: try Engine(repository: repo, grid: GridLookup()))
    }

    func suite(_ body: String, header: String = "model: toy") throws -> SuiteResult {
        let url = dir.appendingPathComponent("s\(UUID().uuidString.prefix(6)).yaml")
        try ("format: plume-vectors/1\nsuite: t\n" + header + "\ncases:\n" + body).write(to: url, atomically: true, encoding: .utf8)
        return runner.run(try VectorSuite(url: url))
    }

    func testPassingSuite() throws {
        let r = runner.run(try VectorSuite(url: TestPaths.fixtures.appendingPathComponent("runner/Models/toy/vectors/pass.yaml")))
        XCTAssertEqual(r.passed, 1, r.cases.flatMap(\.failures).joined(separator: "\n"))
        XCTAssertEqual(r.failed, 0)
    }

    func testWrongExpectationReportsEveryMismatch() throws {
        let r = try suite("""
          - id: w
            input: {impressions: 10}
            expect: {a: 1, b: 21, total: 37.5}
        """)
        XCTAssertEqual(r.failed, 1)
        let f = r.cases[0].failures
        XCTAssertEqual(f.count, 2, "a and b are wrong, total is right: \(f)")
        XCTAssertTrue(f[0].hasPrefix("a: expected 1.0, got 17.5"), f[0])
        XCTAssertTrue(f[1].contains("b: expected 21.0, got 20.0"), f[1])
    }

    func testToleranceEdge() throws {
        // a = 17.5 for 10 web impressions; |got - exp| = 0.5
        let edge = try suite("""
          - id: at-edge
            input: {impressions: 10}
            expect: {a: 17.0}
            tolerance: {abs: 0.5, rel: 0}
          - id: past-edge
            input: {impressions: 10}
            expect: {a: 17.0}
            tolerance: {abs: 0.4999, rel: 0}
          - id: relative
            input: {impressions: 10}
            expect: {a: 17.0}
            tolerance: {rel: 0.03}
        """)
        XCTAssertEqual(edge.cases.map(\.status), [.passed, .failed, .passed])
    }

    func testToleranceMergesMembers() throws {
        let base = Tolerance(rel: 1e-9, abs: 1e-12)
        let url = dir.appendingPathComponent("t.yaml")
        try """
        format: plume-vectors/1
        model: toy
        tolerance: {rel: 0.5}
        cases:
          - id: c1
            input: {impressions: 1}
            expect: {b: 2}
            tolerance: {abs: 0.005}
        """.write(to: url, atomically: true, encoding: .utf8)
        let s = try VectorSuite(url: url)
        XCTAssertEqual(s.tolerance, Tolerance(rel: 0.5, abs: base.abs))
        XCTAssertEqual(s.cases[0].tolerance, Tolerance(rel: 0.5, abs: 0.005))
    }

    func testMissingKeyAndTrace() throws {
        let r = try suite("""
          - id: m
            input: {impressions: 1}
            expect: {nope: 1}
            expect_trace: {a_usage: 1.5, missing_trace: 2, label: b-app}
        """)
        let f = r.cases[0].failures
        XCTAssertTrue(f.contains { $0.hasPrefix("nope:") && $0.contains("no such category or trace") }, "\(f)")
        XCTAssertTrue(f.contains { $0.hasPrefix("missing_trace:") && $0.contains("nothing was traced") }, "\(f)")
        XCTAssertTrue(f.contains { $0.contains("label: expected \"b-app\", got \"b-web\"") }, "\(f)")
        XCTAssertEqual(f.count, 3)
    }

    func testExpectError() throws {
        let r = try suite("""
          - id: rejected-as-expected
            input: {impressions: -1}
            expect_error: "impressions must be >= 0"
          - id: other-message
            input: {impressions: -1}
            expect_error: "channel"
          - id: accepted
            input: {impressions: 1}
            expect_error: "impressions"
          - id: unexpected-reject
            input: {channel: web}
            expect: {total: 1}
        """)
        XCTAssertEqual(r.cases.map(\.status), [.passed, .failed, .failed, .failed])
        XCTAssertTrue(r.cases[2].failures[0].contains("was accepted"))
        XCTAssertTrue(r.cases[3].failures[0].contains("impressions is required"))
    }

    func testExpectAbsent() throws {
        let r = try suite("""
          - id: absent-ok
            input: {impressions: 1}
            expect_absent: [hidden]
          - id: present
            input: {impressions: 1}
            expect_absent: [b]
        """)
        XCTAssertEqual(r.cases.map(\.status), [.passed, .failed])
        XCTAssertTrue(r.cases[1].failures[0].hasPrefix("b: must be absent"))
    }

    func testPackSelectionAndOverrides() throws {
        // toy-2 doubles e: a = 10 x 1.5 + 10 x 0.5 = 20
        let r = try suite("""
          - id: pack2
            input: {impressions: 10}
            expect: {a: 20}
          - id: override
            input: {impressions: 10}
            coefficients: {w.web: 3}
            expect: {a: 35}
          - id: bad-override
            input: {impressions: 10}
            coefficients: {nope: 3}
            expect: {a: 35}
        """, header: "model: toy\ncoefficients: toy-2")
        XCTAssertEqual(r.cases.map(\.status), [.passed, .passed, .failed])
        XCTAssertTrue(r.cases[2].failures[0].contains("unknown coefficient 'nope'"))
    }

    func testConfigurationErrorFailsEveryCase() throws {
        let r = try suite("""
          - id: c1
            input: {impressions: 1}
            expect: {a: 1.75}
          - id: c2
            input: {impressions: 1}
            expect_error: "does not accept coefficient pack"
        """, header: "model: toy\ncoefficients: toy-9")
        XCTAssertEqual(r.cases.map(\.status), [.failed, .passed])
    }

    func testPinsSayWhatMoved() throws {
        let r = try suite("""
          - id: c1
            input: {impressions: 1}
            expect: {b: 2}
        """, header: "model: toy\ncoefficients_hash: sha256:0000")
        XCTAssertEqual(r.notes.count, 1)
        XCTAssertTrue(r.notes[0].contains("data changed, logic unchanged"), r.notes[0])
        XCTAssertEqual(r.passed, 1)
    }

    func testReportsEndWithCountLine() throws {
        let r = try suite("""
          - id: ok
            input: {impressions: 1}
            expect: {b: 2}
          - id: bad
            input: {impressions: 1}
            expect: {b: 3}
        """)
        let text = VectorReport.text([r], errors: [])
        XCTAssertTrue(text.hasSuffix("1 passed, 1 failed\n"), text)
        XCTAssertTrue(text.contains("FAIL bad"))
        let junit = VectorReport.junit([r], errors: [])
        XCTAssertTrue(junit.contains("tests=\"2\" failures=\"1\""), junit)
        XCTAssertTrue(junit.contains("<failure message=\"b: expected 3.0, got 2.0"), junit)
        let json = VectorReport.json([r], errors: [], coverage: nil)
        XCTAssertTrue(json.hasPrefix("{\"passed\":1,\"failed\":1"), json)
    }

    func testUpdateWritesACopy() throws {
        let url = dir.appendingPathComponent("u.yaml")
        let original = "format: plume-vectors/1\nmodel: toy\ncases:\n  - id: u\n    input: {impressions: 1}\n    expect: {b: 3}\n"
        try original.write(to: url, atomically: true, encoding: .utf8)
        let s = try VectorSuite(url: url)
        try VectorUpdate.write(suite: s, result: runner.run(s))
        XCTAssertEqual(try String(contentsOf: url, encoding: .utf8), original, "the original is never touched")
        let updated = try String(contentsOf: dir.appendingPathComponent("u.updated.yaml"), encoding: .utf8)
        XCTAssertTrue(updated.contains("b: 2.0"), updated)
    }

    func testMalformedFiles() throws {
        let url = dir.appendingPathComponent("bad.yaml")
        try "format: plume-vectors/2\nmodel: toy\ncases: []\n".write(to: url, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try VectorSuite(url: url)) { XCTAssertTrue("\($0)".contains("plume-vectors/1")) }
        try "format: plume-vectors/1\nmodel: toy\ncases:\n  - id: a\n    input: {impressions: 1}\n    expect: {b: 2}\n  - id: a\n    input: {}\n    expect: {b: 2}\n".write(to: url, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try VectorSuite(url: url)) { XCTAssertTrue("\($0)".contains("duplicate case id 'a'")) }
    }
}
