import ArgumentParser
import Foundation
import PlumeCore

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load models and report every problem of their declarations and packs, with file:line.")

    @Argument(help: "Model folders or ids (default: every model).")
    var models: [String] = []

    @OptionGroup var options: ModelOptions
    @Flag(name: .shortAndLong, help: "Also list notes (e.g. pack keys no script names).") var verbose = false

    func run() throws {
        try report {
            let engine = try options.engine()
            let ids = models.isEmpty ? engine.repository.modelIDs() : models.map { URL(fileURLWithPath: $0).lastPathComponent }
            var problems = 0
            for id in ids {
                let found = ModelCheck.run(engine: engine, id: id)
                for p in found.errors { print(p) }
                if verbose { for n in found.notes { print(n) } }
                let notes = found.notes.isEmpty ? "" : " (\(found.notes.count) note(s)\(verbose ? "" : "; -v lists them"))"
                print("\(id): \(found.errors.isEmpty ? "ok" : "\(found.errors.count) problem(s)")\(notes)")
                problems += found.errors.count
            }
            if problems > 0 { throw ExitCode(1) }
        }
    }
}

struct Models: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List models, versions, packs and category sets.")

    @OptionGroup var options: ModelOptions
    @Flag(help: "Also list each model's declared inputs.") var inputs = false

    func run() throws {
        try report {
            let engine = try options.engine()
            for id in engine.repository.modelIDs() {
                let versions = [nil] + engine.repository.alternateVersions(of: id).map { Optional($0) }
                for v in versions {
                    do {
                        let m = try engine.model(id, version: v)
                        let i = m.info
                        print("\(i.id) \(i.version)\(v == nil ? " (default)" : "")  \(i.title)")
                        if let e = i.extends { print("  extends: \(e)") }
                        print("  packs: \(i.packs.joined(separator: ", "))  (default \(i.defaultPack ?? "-"))")
                        print("  categories: \(i.categories.joined(separator: ", "))")
                        if i.replay { print("  replay: declared (plume run replays recorded arithmetic; Docs/DSL.md, section 6)") }
                        if inputs {
                            for inp in i.inputs {
                                print("  input \(inp.name): \(inp.type)\(inp.unit.map { " [\($0)]" } ?? "")\(inp.required ? " required" : "")\(inp.doc.map { " - \($0)" } ?? "")")
                            }
                        }
                    } catch {
                        print("\(id)\(v.map { " \($0)" } ?? ""): cannot load: \(error)")
                    }
                }
            }
        }
    }
}
