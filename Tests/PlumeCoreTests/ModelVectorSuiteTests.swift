import Foundation
import XCTest
@testable import PlumeCore

/// Every model's golden vectors, so CI exercises them through `swift test` too.
final class ModelVectorSuiteTests: XCTestCase {
    func testAllModelVectors() throws {
        let repo = ModelRepository(root: TestPaths.models)
        let runner = VectorRunner(engine: try Engine(repository: repo, grid: GridLookup()))
        let folders = repo.modelIDs().map { repo.folder(of: $0).appendingPathComponent("vectors").path }
        var suites: [SuiteResult] = []
        var errors: [String] = []
        for url in VectorSuite.files(in: folders) {
            do { suites.append(runner.run(try VectorSuite(url: url))) } catch { errors.append("\(error)") }
        }
        let report = VectorReport.text(suites, errors: errors)
        print(report, terminator: "")
        let passed = suites.reduce(0) { $0 + $1.passed }
        XCTAssertGreaterThan(passed, 500, "the model vector suites went missing")
        XCTAssertEqual(errors, [])
        XCTAssertEqual(suites.reduce(0) { $0 + $1.failed }, 0, report)
        // every public vector file is part of the suites
        let shared = TestPaths.root.deletingLastPathComponent().appendingPathComponent("shared/vectors")
        if let names = FileManager.default.enumerator(atPath: shared.path)?.compactMap({ $0 as? String }).filter({ $0.hasSuffix(".yaml") }) {
            for n in names {
                let base = (n as NSString).lastPathComponent
                XCTAssertTrue(suites.contains { $0.file.hasSuffix("/" + base) }, "public vector file \(n) is not run")
            }
        }
    }
}
