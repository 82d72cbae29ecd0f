import ArgumentParser
import Foundation
import PlumeCore

struct Test: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run golden vector files (plume-vectors/1) and report every mismatch.")

    @Argument(help: "Vector files or folders (default: every Models/*/vectors/).")
    var paths: [String] = []

    @OptionGroup var options: ModelOptions

    @Option(help: "Write JUnit XML to this file.") var junit: String?
    @Option(help: "Output format: text or json.") var format: String = "text"
    @Flag(help: "Report which model lines, categories, coefficient keys and table entries ran.") var coverage = false
    @Option(name: .customLong("min-coverage"), help: "Fail when the coverage summary is below N percent.") var minCoverage: Double?
    @Flag(help: "Write each suite with the values the model produced to <file>.updated.yaml, for review.") var update = false
    @Flag(name: .shortAndLong, help: "List passing cases too.") var verbose = false

    func run() throws {
        try report {
            let engine = try options.engine()
            let runner = VectorRunner(engine: engine, coverage: coverage || minCoverage != nil)
            var targets = paths
            if targets.isEmpty {
                targets = engine.repository.modelIDs().map { engine.repository.folder(of: $0).appendingPathComponent("vectors").path }
                    .filter { FileManager.default.fileExists(atPath: $0) }
            }
            var suites: [SuiteResult] = []
            var errors: [String] = []
            let files = VectorSuite.files(in: targets)
            // A run that checks nothing must not look green.
            if files.isEmpty { throw Failure("no vector files found in \(targets.isEmpty ? "Models/*/vectors" : targets.joined(separator: ", "))") }
            for url in files {
                do {
                    let suite = try VectorSuite(url: url)
                    let result = runner.run(suite)
                    suites.append(result)
                    if update { try VectorUpdate.write(suite: suite, result: result) }
                } catch {
                    errors.append("\(error)")
                }
            }
            let cov = (coverage || minCoverage != nil) ? runner.coverage() : nil
            if format == "json" {
                print(VectorReport.json(suites, errors: errors, coverage: cov), terminator: "")
            } else {
                var text = VectorReport.text(suites, errors: errors, verbose: verbose)
                if let cov {
                    // the closing count line stays last
                    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
                    let last = lines.dropLast().last.map(String.init) ?? ""
                    text = lines.dropLast(2).joined(separator: "\n") + "\n" + VectorReport.coverageText(cov) + last + "\n"
                }
                print(text, terminator: "")
            }
            if let junit {
                try AtomicFile.write(VectorReport.junit(suites, errors: errors), to: junit)
            }
            let failed = suites.reduce(0) { $0 + $1.failed } + errors.count
            if let minCoverage, let cov, cov.summaryPercent < minCoverage {
                warn(String(format: "plume: coverage %.1f%% is below --min-coverage %.1f%%", cov.summaryPercent, minCoverage))
                throw ExitCode(1)
            }
            if failed > 0 { throw ExitCode(1) }
        }
    }
}
