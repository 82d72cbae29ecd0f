import ArgumentParser
import Foundation
import PlumeCore

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure a campaign: every delivery row through a model, streamed and in parallel.")

    @OptionGroup var binding: BindingOptions
    @Option(help: "Input file, or - for stdin.") var input: String = "-"
    @Option(name: .customLong("input-format"), help: "csv or jsonl (default: from the file name, else csv).") var inputFormat: String?
    @Option(help: "Output file, or - for stdout.") var output: String = "-"
    @Option(help: "Output format: csv or jsonl.") var format: String = "csv"
    @Option(name: .customLong("group-by"), help: "Totals per group of these fields (comma-separated).") var groupBy: String?
    @Option(help: "Write the run's totals and reproducibility record as JSON.") var summary: String?
    @Option(help: "Write rejected rows with their reasons (CSV).") var rejects: String?
    @Option(name: .customLong("on-error"), help: "reject (default): bad rows go to rejects; fail: stop at the first.") var onError: String = "reject"
    @Option(help: "Threads in all, reading and writing included (default: the core count); 1 runs on one core.") var threads: Int?
    @Flag(name: .customLong("no-replay"), help: "Run every row through the script, even when the model declares replay (Docs/DSL.md).") var noReplay = false
    @OptionGroup var options: ModelOptions

    func run() throws {
        try report {
            var o = CampaignRun.Options(model: binding.model)
            o.version = binding.modelVersion
            o.pack = binding.pack
            o.overlays = binding.overlay
            o.sets = binding.set
            o.input = input
            if let f = inputFormat {
                guard let v = CampaignRun.InputFormat(rawValue: f) else { throw Failure("--input-format must be csv or jsonl") }
                o.inputFormat = v
            }
            o.output = output
            guard let fmt = CampaignRun.OutputFormat(rawValue: format) else { throw Failure("--format must be csv or jsonl") }
            o.format = fmt
            o.groupBy = groupBy.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } } ?? []
            o.summary = summary
            // Without a rejects file, rejected rows go to stderr with their reasons: never silently dropped.
            o.rejects = rejects ?? "-2"
            guard let oe = CampaignRun.OnError(rawValue: onError) else { throw Failure("--on-error must be fail or reject") }
            o.onError = oe
            if let threads { guard threads >= 1 else { throw Failure("--threads must be >= 1") }; o.threads = threads }
            o.progress = isatty(2) != 0
            o.replay = !noReplay
            let outcome = try CampaignRun(options: o, repository: options.repository(), grid: options.grid()).run()
            let c = outcome.counts
            if let stop = outcome.stoppedBy {
                warn("plume: stopped at the first bad row (--on-error fail): \(stop)")
                warn("rows read \(c.read) = written \(c.written) + rejected \(c.rejected) (run stopped; no output file written)")
                throw ExitCode(1)
            }
            if !o.groupBy.isEmpty || output != "-" {
                var t = "group,rows,impressions,total_g,g_per_1000_imps\n"
                for g in outcome.groups + [outcome.grand] {
                    t += "\(g.key),\(g.rows),\(fmtNumber(g.impressions)),\(fmtNumber(g.total)),\(g.perThousand.map(fmtNumber) ?? "")\n"
                }
                warn(t)
            }
            warn("rows read \(c.read) = written \(c.written) + rejected \(c.rejected)" + (c.modelErrors > 0 ? " (of which \(c.modelErrors) model errors)" : "")
                 + (outcome.replay.recorded > 0 ? "; replay: \(outcome.replay.replayed) rows replayed, \(outcome.replay.recorded) recorded" : "")
                 + (c.rejected > 0 && rejects == nil ? "; rejected rows are above on stderr (--rejects FILE keeps them)" : ""))
        }
    }
}

func fmtNumber(_ d: Double) -> String {
    if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
    return String(format: "%.6g", d)
}
