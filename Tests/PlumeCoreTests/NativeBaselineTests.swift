import XCTest
import Foundation
import LuaHost
import PlumeCore
import GMSFNative
import BenchSupport

/// Differential test: generated delivery rows through the Lua gmsf model and the hand-written Swift
/// baseline (GMSFNative); every category and the total must agree to 1e-12 relative plus 1e-12 g.
final class NativeBaselineTests: XCTestCase {
    static let models: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Models")

    struct Pair {
        let engine: Engine
        let bound: BoundModel
        let native: GMSFNative
        let categories: [String]
    }

    func pair(pack: String) throws -> Pair {
        let grid = GridLookup()
        let engine = try Engine(repository: ModelRepository(root: Self.models), grid: grid)
        let model = try engine.model("gmsf")
        let coefficients = try engine.coefficients(for: model, pack: pack)
        let bound = try engine.bind(model, coefficients)
        XCTAssertEqual(model.info.categories, GMSFNative.categories)
        return Pair(engine: engine, bound: bound, native: try GMSFNative(coefficients: coefficients, grid: grid),
                    categories: model.info.categories)
    }

    static func agree(_ a: Double, _ b: Double) -> Bool {
        abs(a - b) <= 1e-12 * max(abs(a), abs(b)) + 1e-12
    }

    /// Runs `rows` through both; returns the number compared. Fails on any rejection or disagreement.
    @discardableResult
    func compare(_ rows: [LuaValue], _ p: Pair, label: String) -> Int {
        var mismatches: [String] = []
        var compared = 0
        for (i, row) in rows.enumerated() {
            let lua = p.engine.runtime.evaluate(p.bound, row: row)
            guard case .ok(let total, let values) = lua else {
                mismatches.append("\(label) row \(i + 1): Lua did not accept it: \(lua) \(row)")
                continue
            }
            let native: GMSFNative.Output
            do { native = try p.native.evaluate(row) } catch {
                mismatches.append("\(label) row \(i + 1): native failed: \(error)")
                continue
            }
            compared += 1
            for (k, (l, n)) in zip(values, native.values).enumerated() where !Self.agree(l, n) {
                mismatches.append("\(label) row \(i + 1) \(p.categories[k]): lua \(l) native \(n) (rel \(abs(l - n) / max(abs(l), abs(n))))\n  \(row)")
            }
            if !Self.agree(total, native.total) {
                mismatches.append("\(label) row \(i + 1) total: lua \(total) native \(native.total)")
            }
        }
        XCTAssertTrue(mismatches.isEmpty, "\(mismatches.count) problems; first:\n" + mismatches.prefix(8).joined(separator: "\n"))
        return compared
    }

    /// Generated CSV rows, parsed by the host's CSV reader exactly as `plume run` does.
    func csvRows(count: Int, seed: UInt64) throws -> [LuaValue] {
        let path = NSTemporaryDirectory() + "plume-native-\(ProcessInfo.processInfo.processIdentifier)-\(seed).csv"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try DeliveryGenerator.writeCSV(rows: count, seed: seed, to: path)
        let fd = open(path, O_RDONLY)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        let reader = CSVReader(fd: fd)
        var rec = CSVRecord()
        XCTAssertTrue(reader.next(&rec))
        let shape = try CSVRowShape(header: rec.fields.map { String(decoding: $0, as: UTF8.self) })
        var rows: [LuaValue] = []
        while reader.next(&rec) {
            XCTAssertNil(rec.error)
            rows.append(try shape.row(rec))
        }
        return rows
    }

    func testGeneratedCSVRowsAgree() throws {
        let rows = try csvRows(count: 3000, seed: 20_261_204)
        XCTAssertEqual(rows.count, 3000)
        // the mix covers every modelled channel and mostly uses the host grid lookup
        var channels = Set<String>()
        var gridRows = 0
        for r in rows {
            if let c = r["channel"]?.stringValue { channels.insert(c.trimmingCharacters(in: .whitespaces).lowercased()) }
            if r["carbon_intensity_gco2e_per_kwh"] == nil { gridRows += 1 }
        }
        for c in ["web", "app", "social", "ctv-bvod", "digital-audio", "dooh", "search"] { XCTAssertTrue(channels.contains(c), c) }
        XCTAssertTrue(channels.contains("streaming-video") && channels.contains("olv"))
        XCTAssertGreaterThan(gridRows, 2500)
        for pack in ["gmsf-1.3", "gmsf-1.2"] {
            XCTAssertEqual(compare(rows, try pair(pack: pack), label: "csv/\(pack)"), 3000)
        }
    }

    func testGeneratedGraphRowsAgree() throws {
        var gen = GraphRowGenerator(seed: 7)
        let rows = (1...1500).map { gen.next(index: $0) }
        XCTAssertEqual(compare(rows, try pair(pack: "gmsf-1.3"), label: "graph/gmsf-1.3"), 1500)
    }

    /// The spec's worked examples (section 9), through the native baseline alone.
    func testWorkedExamples() throws {
        let p = try pair(pack: "gmsf-1.3")
        // Full row: gmsf total 4.802204072 g
        let full: LuaValue = .object([
            ("impressions", .number(1000)), ("channel", .string("web")), ("device_type", .string("phone")),
            ("country", .string("FR")), ("carbon_intensity_gco2e_per_kwh", .number(56)),
            ("creative_image_sizes", .array([.string("300x250")])),
            ("ad_format", .object([("rendered_width_pixels", .number(300)), ("rendered_height_pixels", .number(250))])),
        ])
        let out = try p.native.evaluate(full)
        XCTAssertEqual(out.total, 4.802204072, accuracy: 1e-8)
        XCTAssertEqual(out.creativeDeliveryConsumerDevice, 4.527068903, accuracy: 1e-8)
        XCTAssertEqual(out.creativeDeliveryAdPlatform, 0.0137718, accuracy: 1e-10)
        compare([full], p, label: "worked-full-row")
        // Placement graph: 0.00025471 g per impression, 6300 bytes
        let placement: LuaValue = .object([
            ("impressions", .number(1)), ("channel", .string("web")), ("country", .string("US")),
            ("network_type", .string("fixed")), ("carbon_intensity_gco2e_per_kwh", .number(400)),
            ("placement", .object([("ad_platforms", .array([.object([
                ("id", .string("pub-adserver")),
                ("usage_emissions_per_bid_request_per_geo_gco2_per_imp", .object([("NAMER", .number(0.00002))])),
                ("sends_client_side_requests", .boolean(true)),
                ("bidders", .array([
                    .object([("id", .string("ssp-a")),
                             ("usage_emissions_per_bid_request_per_geo_gco2_per_imp", .object([("NAMER", .number(0.00012))])),
                             ("average_bid_request_size", .number(1800))]),
                    .object([("id", .string("ssp-b"))]),
                ])),
                ("real_time_data_providers", .array([.object([
                    ("id", .string("rtdp")),
                    ("usage_emissions_per_rtdp_request_per_geo_gco2_per_imp", .object([("NAMER", .number(0.000005))])),
                ])])),
                ("distribution_rate_by_bidder_by_country", .object([("ssp-b", .object([("US", .number(0.5))]))])),
            ])]))])),
        ])
        let g = try p.native.evaluate(placement)
        XCTAssertEqual(g.adSelectionAdPlatform, 0.00025471, accuracy: 1e-15)
        XCTAssertEqual(g.adSelectionDataTransfer, 4.158e-5 + 1.3482e-5, accuracy: 1e-15)
        compare([placement], p, label: "worked-placement")
    }
}
