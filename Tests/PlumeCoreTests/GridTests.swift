import Foundation
import XCTest
import LuaHost
@testable import PlumeCore

/// Grid intensity: the SQLite hourly store, the host lookup order (hourly > annual > world) and the model
/// side (row value > host lookup). Fixture: Fixtures/grid/hourly.csv
///   GB (country-wide) 2024-01-01T00 = 200.0, T01 = 184.5; GB/GB-SCT T00 = 40.25; FR T00 = 31.5.
/// Annual values (Ember via co2.js, Sources/PlumeCore/Resources/grid-annual.csv): GB 215.79 (2024),
/// DE 342.06 (2024); world default 472.94.
final class GridTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("plume-grid-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    private var dbPath: String { dir.appendingPathComponent("hourly.sqlite").path }

    private func importedStore() throws -> HourlyGridStore {
        let store = try HourlyGridStore(path: dbPath)
        let r = try store.importCSV(CoreFixture.url("grid/hourly.csv"))
        XCTAssertEqual(r.rows, 4)
        XCTAssertEqual(r.zones, 3)
        return store
    }

    private func hour(_ iso: String) -> GridHour { GridHour(iso: iso)! }

    func testImportWritesSQLite() throws {
        _ = try importedStore()
        let size = try FileManager.default.attributesOfItem(atPath: dbPath)[.size] as? Int ?? 0
        XCTAssertGreaterThan(size, 0)
        // a second store on the same file (no shared cache) reads the rows back from the database
        let reopened = try HourlyGridStore(path: dbPath)
        XCTAssertEqual(reopened.value(country: "GB", region: nil, hour: hour("2024-01-01T01:00:00Z"))?.value, 184.5)
        XCTAssertEqual(reopened.value(country: "FR", region: nil, hour: hour("2024-01-01T00:00:00Z"))?.value, 31.5)
        let series = try reopened.series(country: "GB")
        XCTAssertEqual(series.map(\.region), ["", "GB-SCT"])
        XCTAssertEqual(series.map(\.hours), [2, 1])
        XCTAssertEqual(series.first?.mean, (200.0 + 184.5) / 2)
        XCTAssertEqual(series.first?.source, "hourly.csv")
        XCTAssertEqual(series.first.map { $0.last - $0.first }, 1)
    }

    func testMalformedLineIsErrorWithLineNumberAndWritesNothing() throws {
        let store = try HourlyGridStore(path: dbPath)
        let e = CoreFixture.errorText(try store.importCSV(CoreFixture.url("grid/malformed.csv")))
        XCTAssertTrue(e.contains("malformed.csv:4: expected 4 fields, found 3"), e)
        XCTAssertNil(store.value(country: "DE", region: nil, hour: hour("2024-01-01T00:00:00Z")), "nothing is written")
        XCTAssertEqual(try store.series(country: "DE").count, 0)
    }

    func testUTCHourParsing() throws {
        let base: Int64 = 19723 * 24    // 2024-01-01T00:00Z in hours since 1970
        let valid: [(String, Int64)] = [
            ("2024-01-01", base), ("2024-01-01T05", base + 5), ("2024-01-01 05:30", base + 5),
            ("2024-01-01T05:30:59.5Z", base + 5), ("2024-01-01T23:00:00+00:00", base + 23),
            ("2024-01-01T23:00:00-0000", base + 23), ("2024-02-29T00:00:00Z", base + 59 * 24),
            ("1970-01-01T00:00:00Z", 0), ("2024-12-31T23:59:59Z", base + 365 * 24 + 23),
        ]
        for (text, h) in valid { XCTAssertEqual(GridHour(iso: text)?.epochHour, h, text) }
        // an hour, day or offset that does not exist must not silently become another hour
        for text in ["2024-01-01T25:00:00Z", "2024-01-01T24:00:00Z", "2024-02-30T00:00:00Z", "2023-02-29",
                     "2024-04-31", "2024-01-01T01:00:00+02:00", "2024-01-01Tnoon", "2024-01-01T05:61",
                     "2024-01-01junk", "2024-13-01", "24-01-01"] {
            XCTAssertNil(GridHour(iso: text), text)
        }
    }

    func testImportRejectsImpossibleHourWithLineNumber() throws {
        let csv = dir.appendingPathComponent("bad-hour.csv")
        try "country,region,utc_hour,gco2e_per_kwh\nGB,,2024-01-01T00:00:00Z,1\nGB,,2024-01-01T25:00:00Z,2\n"
            .write(to: csv, atomically: true, encoding: .utf8)
        let store = try HourlyGridStore(path: dbPath)
        let e = CoreFixture.errorText(try store.importCSV(csv))
        XCTAssertTrue(e.contains("bad-hour.csv:3: utc_hour '2024-01-01T25:00:00Z'"), e)
        XCTAssertNil(store.value(country: "GB", region: nil, hour: hour("2024-01-01T00:00:00Z")), "nothing is written")
    }

    func testHostLookupOrder() throws {
        let lookup = GridLookup(hourly: try importedStore())
        func check(_ country: String?, _ region: String?, _ utc: String?, _ value: Double, _ source: String,
                   file: StaticString = #filePath, line: UInt = #line) {
            let a = lookup.intensity(country: country, region: region, utc: utc)
            XCTAssertEqual(a.value, value, file: file, line: line)
            XCTAssertTrue(a.source.contains(source), a.source, file: file, line: line)
        }
        // hourly: the hour of the timestamp (minutes truncated)
        check("GB", nil, "2024-01-01T00:00:00Z", 200.0, "hourly store GB")
        check("GB", nil, "2024-01-01T01:30:00Z", 184.5, "hourly store GB")
        check("FR", nil, "2024-01-01T00:59:59Z", 31.5, "hourly store FR")
        // a region's series before the country's
        check("GB", "GB-SCT", "2024-01-01T00:00:00Z", 40.25, "hourly store GB/GB-SCT")
        // the region has no value at 01:00: the country series
        check("GB", "GB-SCT", "2024-01-01T01:00:00Z", 184.5, "hourly store GB")
        // an unknown region: the country series
        check("GB", "GB-XXX", "2024-01-01T00:00:00Z", 200.0, "hourly store GB")
        // hour missing from the store: annual
        check("GB", nil, "2024-01-02T05:00:00Z", 215.79, "GB 2024")
        check("GB", nil, nil, 215.79, "GB 2024")
        check("GB", nil, "not a date", 215.79, "GB 2024")
        check("DE", nil, "2024-01-01T00:00:00Z", 342.06, "DE 2024")
        check("FR", nil, "2023-12-31T23:00:00Z", 44.18, "FR 2024")
        // unknown or absent country: world default
        check("ZZ", nil, "2024-01-01T00:00:00Z", 472.94, "world default")
        check(nil, nil, "2024-01-01T00:00:00Z", 472.94, "world default")
        check(nil, nil, nil, 472.94, "world default")
        // without a store: annual, then world
        let plain = GridLookup()
        XCTAssertEqual(plain.intensity(country: "GB", region: nil, utc: "2024-01-01T00:00:00Z").value, 215.79)
        XCTAssertEqual(plain.intensity(country: "ZZ", region: nil, utc: nil).value, 472.94)
        XCTAssertEqual(plain.annual(country: "GBR"), 215.79, "alpha-3 codes resolve too")
        XCTAssertNil(plain.annual(country: "ZZ"))
    }

    func testModelUsesRowValueBeforeHostLookup() throws {
        let engine = try CoreFixture.engine(grid: GridLookup(hourly: try importedStore()))
        let m = try engine.model("gridmodel")
        let b = try engine.bind(m, try engine.coefficients(for: m, pack: nil))
        engine.runtime.tracing = true
        defer { engine.runtime.tracing = false }
        let cases: [(row: String, total: Double, source: String)] = [
            // the row's own value wins even where the store has the hour
            (#"{"carbon_intensity": 123, "country": "GB", "utc": "2024-01-01T00:00:00Z"}"#, 123, "row"),
            (#"{"carbon_intensity": 0, "country": "GB", "utc": "2024-01-01T00:00:00Z"}"#, 0, "row"),
            (#"{"country": "GB", "utc": "2024-01-01T00:00:00Z"}"#, 200.0, "hourly store GB"),
            (#"{"country": "GB", "region": "GB-SCT", "utc": "2024-01-01T00:00:00Z"}"#, 40.25, "hourly store GB/GB-SCT"),
            (#"{"country": "GB", "utc": "2024-03-01T00:00:00Z"}"#, 215.79, "GB 2024"),
            (#"{"country": "ZZ", "utc": "2024-01-01T00:00:00Z"}"#, 472.94, "world default"),
            (#"{}"#, 472.94, "world default"),
            // 2 kWh at FR's hourly 31.5
            (#"{"kwh": 2, "country": "FR", "utc": "2024-01-01T00:00Z"}"#, 63, "hourly store FR"),
        ]
        for c in cases {
            let r = engine.runtime.evaluate(b, row: try CoreFixture.row(c.row))
            XCTAssertEqual(r.okValues?.total, c.total, "\(c.row): \(r)")
            let src = engine.runtime.traces().first { $0.0 == "grid.source" }?.1.stringValue ?? ""
            XCTAssertTrue(src.contains(c.source), "\(c.row): source \(src)")
        }
    }
}
