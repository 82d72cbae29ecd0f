import ArgumentParser
import Foundation
import PlumeCore

struct Explain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show one row's result and every value behind it: inputs, coefficients (with layer and source), traces.")

    @OptionGroup var binding: BindingOptions
    @Option(help: "The row as a JSON object.") var row: String?
    @Option(help: "A campaign file (CSV or JSONL) to take the row from.") var input: String?
    @Option(name: .customLong("row-index"), help: "1-based data row of --input.") var rowIndex: Int = 1
    @Option(help: "text or json.") var format: String = "text"
    @OptionGroup var options: ModelOptions

    func run() throws {
        try report {
            let engine = try options.engine()
            let (m, coefficients) = try binding.resolve(engine)
            let value: LuaValueBox
            if let row {
                value = try LuaValueBox.json(row)
            } else if let input {
                value = try LuaValueBox.fromFile(input, index: rowIndex)
            } else {
                throw Failure("give --row '<json>' or --input FILE [--row-index N]")
            }
            let explanation = try Explanation.make(engine: engine, model: m, coefficients: coefficients, row: value.value)
            print(format == "json" ? explanation.json() : explanation.text(), terminator: "")
            if case .ok = explanation.outcome {} else { throw ExitCode(1) }
        }
    }
}
