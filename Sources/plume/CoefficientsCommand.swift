import ArgumentParser
import Foundation
import PlumeCore

struct Coefficients: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show effective coefficient values with their layer and source, or diff two packs.",
        subcommands: [Show.self, Diff.self], defaultSubcommand: Show.self)

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Effective value of each key, and the layer and source it came from.")
        @OptionGroup var binding: BindingOptions
        @Argument(help: "Only this key (dotted paths allowed).") var key: String?
        @OptionGroup var options: ModelOptions

        func run() throws {
            try report {
                let engine = try options.engine()
                let (_, c) = try binding.resolve(engine)
                print(CoefficientListing.show(c, key: key), terminator: "")
            }
        }
    }

    struct Diff: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Added, removed and changed keys between two packs.")
        @Argument(help: "Pack A (id or .yaml path).") var a: String
        @Argument(help: "Pack B (id or .yaml path).") var b: String
        @OptionGroup var options: ModelOptions

        func run() throws {
            try report {
                let repo = options.repository()
                let pa = try CoefficientListing.pack(a, repository: repo)
                let pb = try CoefficientListing.pack(b, repository: repo)
                let text = CoefficientListing.diff(pa, pb)
                print(text, terminator: "")
            }
        }
    }
}
