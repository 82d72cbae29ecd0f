import Foundation
import GRDB
import Synchronization

/// Hourly grid intensities in an embedded SQLite database (GRDB): multi-year series for many zones load
/// once and are looked up by (country, region, UTC hour). Import format: CSV with the header
/// `country,region,utc_hour,gco2e_per_kwh` (region empty for a country-wide series).
public final class HourlyGridStore: Sendable {
    public let path: String
    private let db: DatabaseQueue
    private let cache = Mutex<[String: Double?]>([:])

    public init(path: String) throws {
        self.path = path
        db = try DatabaseQueue(path: path)
        try db.write { db in
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS hourly (
                  country TEXT NOT NULL, region TEXT NOT NULL, hour INTEGER NOT NULL,
                  gco2e_per_kwh REAL NOT NULL, source TEXT NOT NULL,
                  PRIMARY KEY (country, region, hour)) WITHOUT ROWID;
                """)
        }
    }

    public struct ImportResult: Sendable {
        public let rows: Int
        public let zones: Int
    }

    /// Imports a CSV file; rows replace earlier values of the same (country, region, hour).
    /// A malformed line stops the import with its line number and nothing is written.
    public func importCSV(_ url: URL, source: String? = nil) throws -> ImportResult {
        let text = try String(contentsOf: url, encoding: .utf8)
        let label = source ?? url.lastPathComponent
        var records: [(String, String, Int64, Double)] = []
        var zones = Set<String>()
        var lineNo = 0
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNo += 1
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty { continue }
            if lineNo == 1 {
                guard line == "country,region,utc_hour,gco2e_per_kwh" else {
                    throw PlumeError.config("\(display(url)):1: expected header country,region,utc_hour,gco2e_per_kwh")
                }
                continue
            }
            let f = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard f.count == 4 else { throw PlumeError.config("\(display(url)):\(lineNo): expected 4 fields, found \(f.count)") }
            let country = f[0].uppercased()
            guard country.count == 2 else { throw PlumeError.config("\(display(url)):\(lineNo): country '\(f[0])' is not an ISO alpha-2 code") }
            guard let hour = GridHour(iso: f[2]) else { throw PlumeError.config("\(display(url)):\(lineNo): utc_hour '\(f[2])' is not an ISO 8601 UTC hour") }
            guard let v = Double(f[3]), v.isFinite, v >= 0 else { throw PlumeError.config("\(display(url)):\(lineNo): gco2e_per_kwh '\(f[3])' must be a finite number >= 0") }
            records.append((country, f[1], hour.epochHour, v))
            zones.insert(country + "/" + f[1])
        }
        try db.write { db in
            let stmt = try db.makeStatement(sql: "INSERT OR REPLACE INTO hourly VALUES (?, ?, ?, ?, ?)")
            for r in records { try stmt.execute(arguments: [r.0, r.1, r.2, r.3, label]) }
        }
        cache.withLock { $0.removeAll() }
        return ImportResult(rows: records.count, zones: zones.count)
    }

    /// The value for a region's series when it exists, else the country-wide series.
    public func value(country: String, region: String?, hour: GridHour) -> (value: Double, source: String)? {
        let regions = [region ?? "", ""].reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        for r in regions {
            let key = "\(country)|\(r)|\(hour.epochHour)"
            if let hit = cache.withLock({ $0[key] }) {
                if let v = hit { return (v, "hourly store \(country)\(r.isEmpty ? "" : "/" + r)") }
                continue
            }
            let v = try? db.read { db in
                try Double.fetchOne(db, sql: "SELECT gco2e_per_kwh FROM hourly WHERE country = ? AND region = ? AND hour = ?",
                                    arguments: [country, r, hour.epochHour])
            }
            let found: Double? = v ?? nil
            cache.withLock { $0[key] = found }
            if let found { return (found, "hourly store \(country)\(r.isEmpty ? "" : "/" + r)") }
        }
        return nil
    }

    public struct Series: Sendable {
        public let country: String
        public let region: String
        public let hours: Int
        public let first: Int64
        public let last: Int64
        public let mean: Double
        public let source: String
    }

    public func series(country: String) throws -> [Series] {
        try db.read { db in
            try Row.fetchAll(db, sql: """
                SELECT country, region, COUNT(*) AS n, MIN(hour) AS first, MAX(hour) AS last,
                       AVG(gco2e_per_kwh) AS mean, MIN(source) AS source
                FROM hourly WHERE country = ? GROUP BY country, region ORDER BY region
                """, arguments: [country]).map {
                Series(country: $0["country"], region: $0["region"], hours: $0["n"], first: $0["first"],
                       last: $0["last"], mean: $0["mean"], source: $0["source"])
            }
        }
    }
}
