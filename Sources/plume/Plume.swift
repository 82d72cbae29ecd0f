import ArgumentParser
import Foundation
import PlumeCore

@main
struct Plume: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plume",
        abstract: "Digital-advertising emissions frameworks as Lua models: run, test, check and explain them.",
        version: PlumeVersion.current,
        subcommands: [Run.self, Test.self, Check.self, Explain.self, Models.self, Coefficients.self, Grid.self])
}

/// Options every command that loads models shares.
struct ModelOptions: ParsableArguments {
    @Option(name: .customLong("models"), help: "Folder(s) of model folders, A:B searched in order (default: $PLUME_MODELS, else ./Models).")
    var modelsDir: String?

    @Option(name: .customLong("grid-db"), help: "Hourly grid store (SQLite) made by `plume grid import` (default: $PLUME_GRID_DB).")
    var gridDB: String?

    func repository() -> ModelRepository { ModelRepository.discover(explicit: modelsDir) }

    func grid() throws -> GridLookup {
        let path = gridDB ?? ProcessInfo.processInfo.environment["PLUME_GRID_DB"]
        guard let path, !path.isEmpty else { return GridLookup() }
        return GridLookup(hourly: try HourlyGridStore(path: path))
    }

    func engine() throws -> Engine { try Engine(repository: repository(), grid: grid()) }
}

/// Which model, version, pack and coefficient layers a command binds.
struct BindingOptions: ParsableArguments {
    @Option(help: "Model id.") var model: String
    @Option(name: .customLong("model-version"), help: "Model version (default: the model's current).") var modelVersion: String?
    @Option(help: "Coefficient pack (default: the model's).") var pack: String?
    @Option(help: "Overlay file(s), applied in order.") var overlay: [String] = []
    @Option(help: "key=value coefficient override(s), above overlays.") var set: [String] = []

    /// The model and its resolved coefficients.
    func resolve(_ engine: Engine) throws -> (LoadedModel, ResolvedCoefficients) {
        let m = try engine.model(model, version: modelVersion)
        let overlays = try overlay.map { try Overlay(url: URL(fileURLWithPath: $0)) }
        return (m, try engine.coefficients(for: m, pack: pack, overlays: overlays, sets: set))
    }
}

/// Writes to stderr.
func warn(_ s: String) {
    FileHandle.standardError.write((s.hasSuffix("\n") ? s : s + "\n").data(using: .utf8)!)
}

/// Errors the CLI prints as `plume: message` with exit status 2.
struct Failure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

func report(_ body: () throws -> Void) throws {
    do { try body() } catch let e as PlumeError {
        warn("plume: \(e)")
        throw ExitCode(2)
    } catch let e as Failure {
        warn("plume: \(e)")
        throw ExitCode(2)
    }
}
