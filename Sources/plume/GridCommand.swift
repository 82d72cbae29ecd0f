import ArgumentParser
import Foundation
import PlumeCore

struct Grid: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Grid intensity data: import hourly series into the SQLite store, show what a country resolves to.",
        subcommands: [Import.self, Show.self])

    static func storePath(_ explicit: String?) throws -> String {
        if let explicit { return explicit }
        if let env = ProcessInfo.processInfo.environment["PLUME_GRID_DB"], !env.isEmpty { return env }
        throw Failure("name the store with --grid-db FILE (or set PLUME_GRID_DB)")
    }

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Import a CSV (country,region,utc_hour,gco2e_per_kwh) into the hourly store.")
        @Argument(help: "CSV file.") var file: String
        @Option(name: .customLong("grid-db"), help: "SQLite store (created when missing).") var gridDB: String?
        @Option(help: "Citation recorded with every imported value (default: the file name).") var source: String?

        func run() throws {
            try report {
                let store = try HourlyGridStore(path: try Grid.storePath(gridDB))
                let r = try store.importCSV(URL(fileURLWithPath: file), source: source)
                print("imported \(r.rows) hourly values for \(r.zones) zone(s) into \(store.path)")
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The annual value and any hourly series of a country.")
        @Argument(help: "ISO 3166-1 alpha-2 code.") var country: String
        @Option(name: .customLong("grid-db"), help: "SQLite store.") var gridDB: String?
        @Option(help: "Resolve one UTC hour (ISO 8601).") var at: String?

        func run() throws {
            try report {
                let path = gridDB ?? ProcessInfo.processInfo.environment["PLUME_GRID_DB"]
                let store = try path.map { try HourlyGridStore(path: $0) }
                let grid = GridLookup(hourly: store)
                let code = country.uppercased()
                if let v = grid.annual(country: code) { print("\(code) annual: \(v) gCO2e/kWh (Ember annual via CO2.js v0.19.0)") } else {
                    print("\(code): no annual value; lookups fall back to the world default \(grid.world) gCO2e/kWh")
                }
                if let store {
                    for s in try store.series(country: code) {
                        print("\(s.country)\(s.region.isEmpty ? "" : "/" + s.region): \(s.hours) hourly values, mean \(String(format: "%.2f", s.mean)) gCO2e/kWh (source \(s.source))")
                    }
                }
                if let at {
                    let a = grid.intensity(country: code, region: nil, utc: at)
                    print("\(code) at \(at): \(a.value) gCO2e/kWh from \(a.source)")
                }
            }
        }
    }
}
