import Foundation
import XCTest
import LuaHost
@testable import PlumeCore

/// Every value of the shipped packs against the reference data in shared/reference (skipped when the
/// reference folder is absent). Numbers are compared as doubles, exactly: a pack must carry the reference's
/// digits, not a rounding of them.
final class TranscriptionTests: XCTestCase {
    /// The package root: three levels above this file (Tests/PlumeCoreTests/<file>).
    private static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    private func reference() throws -> URL {
        let candidates = [Self.packageRoot.appendingPathComponent("../shared/reference").standardizedFileURL,
                          URL(fileURLWithPath: "/work/shared/reference")]
        for c in candidates where FileManager.default.fileExists(atPath: c.appendingPathComponent("grid/ember-annual.csv").path) {
            return c
        }
        throw XCTSkip("shared/reference not found (looked in \(candidates.map(\.path)))")
    }

    private func models(_ path: String) -> URL { Self.packageRoot.appendingPathComponent("Models").appendingPathComponent(path) }

    // MARK: helpers

    /// Dotted path -> value of every leaf (a list, a scalar or an empty table is a leaf).
    private func leaves(_ v: LuaValue, _ prefix: String, into out: inout [String: LuaValue]) {
        if case .object(let m) = v, !m.isEmpty {
            for (k, x) in m { leaves(x, prefix.isEmpty ? k : prefix + "." + k, into: &out) }
        } else {
            out[prefix] = v
        }
    }

    private func leaves(of pack: CoefficientPack) -> [String: LuaValue] {
        var out: [String: LuaValue] = [:]
        for e in pack.entries { leaves(e.value, e.key, into: &out) }
        return out
    }

    /// Exact equality: numbers as doubles (an integer 160 equals 160.0), strings, booleans, lists elementwise.
    private func same(_ a: LuaValue, _ b: LuaValue) -> Bool {
        switch (a, b) {
        case (.integer, _), (.number, _):
            guard let x = a.doubleValue, let y = b.doubleValue else { return false }
            return x == y
        case (.array(let x), .array(let y)):
            return x.count == y.count && zip(x, y).allSatisfy(same)
        case (.object(let x), .object(let y)):
            return x.count == y.count && x.allSatisfy { k, v in y.first { $0.0 == k }.map { same(v, $0.1) } ?? false }
        default:
            return a == b
        }
    }

    /// A double read the way a CSV value must be: the full text, in Swift's correctly rounded parser.
    private func double(_ s: String, _ context: String, file: StaticString = #filePath, line: UInt = #line) -> Double? {
        guard let d = Double(s.trimmingCharacters(in: .whitespaces)) else {
            XCTFail("\(context): '\(s)' is not a number", file: file, line: line)
            return nil
        }
        return d
    }

    /// RFC 4180 CSV (quoted fields, doubled quotes) as records of named fields; the header is the first line.
    private func csv(_ url: URL) throws -> [[String: String]] {
        let text = try String(contentsOf: url, encoding: .utf8)
        var records: [[String]] = []
        var field = "", record: [String] = []
        var quoted = false, i = text.startIndex
        while i < text.endIndex {
            let ch = text[i]
            if quoted {
                if ch == "\"" {
                    let next = text.index(after: i)
                    if next < text.endIndex, text[next] == "\"" { field.append("\""); i = next } else { quoted = false }
                } else {
                    field.append(ch)
                }
            } else if ch == "\"" {
                quoted = true
            } else if ch == "," {
                record.append(field); field = ""
            } else if ch == "\n" || ch == "\r\n" {
                record.append(field); field = ""
                records.append(record); record = []
            } else if ch != "\r" {
                field.append(ch)
            }
            i = text.index(after: i)
        }
        if !field.isEmpty || !record.isEmpty { record.append(field); records.append(record) }
        guard let header = records.first else { return [] }
        return records.dropFirst().filter { $0 != [""] }.map { r in
            XCTAssertEqual(r.count, header.count, "\(url.lastPathComponent): \(r)")
            return Dictionary(uniqueKeysWithValues: zip(header, r).map { ($0, $1) })
        }
    }

    private func emberAnnual(_ ref: URL) throws -> [String: Double] {
        var out: [String: Double] = [:]
        for r in try csv(ref.appendingPathComponent("grid/ember-annual.csv")) {
            let code = r["country_iso2"] ?? ""
            XCTAssertNil(out[code], "duplicate \(code)")
            out[code] = double(r["gco2e_per_kwh"] ?? "", "ember-annual.csv \(code)")
        }
        XCTAssertEqual(out.count, 209)
        XCTAssertEqual(out["NA"], 47.62, "Namibia's code read as text")
        return out
    }

    private func emberWorld(_ ref: URL) throws -> Double? {
        try csv(ref.appendingPathComponent("grid/ember-annual-aggregates.csv"))
            .first { $0["region"] == "World" }.flatMap { double($0["gco2e_per_kwh"] ?? "", "World") }
    }

    /// Compares `pack`'s grid table with ember-annual.csv (plus the World aggregate where the pack has one).
    private func checkGrid(_ pack: CoefficientPack, _ ref: URL, allowWorld: Bool) throws {
        let ember = try emberAnnual(ref)
        guard case .object(let grid)? = pack.entry("grid")?.value else { return XCTFail("\(pack.id) has no grid table") }
        var seen = Set<String>()
        for (code, v) in grid {
            seen.insert(code)
            if code == "WORLD" {
                XCTAssertTrue(allowWorld, "\(pack.id): grid.WORLD")
                XCTAssertEqual(v.doubleValue, try emberWorld(ref), "\(pack.id) grid.WORLD vs ember-annual-aggregates.csv World")
                continue
            }
            guard let want = ember[code] else { XCTFail("\(pack.id): grid.\(code) is not in ember-annual.csv"); continue }
            XCTAssertEqual(v.doubleValue, want, "\(pack.id) grid.\(code)")
        }
        for code in ember.keys where !seen.contains(code) { XCTFail("\(pack.id): grid lacks \(code)") }
    }

    /// The comparison itself: exact doubles, integer/double agnostic, lists by element.
    func testComparisonIsExact() throws {
        XCTAssertTrue(same(.integer(160), .number(160)))
        XCTAssertFalse(same(.number(467.51), .number(467.51000000000005)))
        XCTAssertFalse(same(.number(0.1), .string("0.1")))
        XCTAssertFalse(same(.array([.string("web"), .string("app")]), .array([.string("app"), .string("web")])))
        XCTAssertFalse(same(.object([]), .array([])))
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("plume-csv-\(UUID().uuidString).csv")
        defer { try? FileManager.default.removeItem(at: url) }
        try "key,value,label\r\na.b,1e-9,\"x, \"\"y\"\"\"\nNA,47.62,\n".write(to: url, atomically: true, encoding: .utf8)
        let rows = try csv(url)
        XCTAssertEqual(rows.count, 2)
        XCTAssertEqual(rows[0]["label"], "x, \"y\"")
        XCTAssertEqual(rows[0]["value"].flatMap { Double($0) }, 1e-9)
        XCTAssertEqual(rows[1]["key"], "NA")
        XCTAssertEqual(rows[1]["label"], "")
    }

    // MARK: scope3

    /// The tables with a framework level (spec scope3-gmsf.md 7.1 step 1).
    private static let frameworkTables: Set<String> = [
        "default_percent_mobile", "default_percent_mobile_by_country", "default_percent_mobile_by_device_type",
        "default_usage_kwh_per_gb", "default_network_embodied_emissions_gco2e_per_kb", "default_device_watts",
        "default_device_embodied_emissions_per_second",
    ]

    private func renameAudio(_ v: LuaValue, inLists: Bool) -> LuaValue {
        switch v {
        case .object(let m): return .object(m.map { ($0.0 == "audio" ? "digital-audio" : $0.0, renameAudio($0.1, inLists: inLists)) })
        case .array(let a) where inLists: return .array(a.map { $0 == .string("audio") ? .string("digital-audio") : $0 })
        default: return v
        }
    }

    /// Step 1-3 of spec 7.1 applied to the reference defaults: dotted leaves of the expected pack.
    private func scope3Expected(_ packID: String, _ ref: URL) throws -> [String: LuaValue] {
        let text = try String(contentsOf: ref.appendingPathComponent("scope3/defaults-\(packID).yaml"), encoding: .utf8)
        let doc = YAMLValue.convert(try YAMLValue.load(text, file: "defaults-\(packID).yaml"))
        guard case .object(let defaults)? = doc["defaults"] else { throw PlumeError.config("no defaults in \(packID)") }
        var out: [String: LuaValue] = [:]
        var levelled = Set<String>()
        for (key, raw) in defaults {
            var v = raw
            if case .object(let m) = v, m.contains(where: { $0.0 == "scope3" }), m.allSatisfy({ ["scope3", "sri"].contains($0.0) }) {
                v = m.first { $0.0 == "scope3" }!.1
                levelled.insert(key)
            }
            v = renameAudio(v, inLists: key == "default_channel_by_device")
            var k = key
            if packID == "may-2024" {
                if k == "default_device_width" { k = "default_rendered_device_width" }
                if k == "default_device_height" { k = "default_rendered_device_height" }
            }
            leaves(v, k, into: &out)
        }
        XCTAssertTrue(levelled.isSubset(of: Self.frameworkTables), "\(packID): unexpected framework-level tables \(levelled.subtracting(Self.frameworkTables))")
        let expectedLevelled = packID == "may-2024" ? Self.frameworkTables.subtracting(["default_percent_mobile_by_device_type"]) : Self.frameworkTables
        XCTAssertEqual(levelled, expectedLevelled, packID)
        return out
    }

    /// Plume additions to every pack (step 4), by pack: dotted leaf -> value (spec 7.3).
    private func scope3Additions(_ packID: String) -> [String: LuaValue] {
        func strings(_ s: [String]) -> LuaValue { .array(s.map { .string($0) }) }
        var add: [String: LuaValue] = [:]
        if packID == "may-2024" {
            add["supported_channels"] = strings(["web", "app", "social", "ctv-bvod", "streaming-video", "digital-audio"])
            add["power_model_channels"] = strings(["ctv-bvod", "streaming-video"])
            // (P) entries of 7.3
            add["default_percent_mobile_by_device_type"] = .object([])
            add["default_count_ad_platform"] = .object([])
            add["default_emissions_ad_selection_gco2_per_imp_by_channel"] = .object([])
            add["edge_node_use_watts_per_kb"] = .number(0)
            add["edge_node_embodied_gco2e_per_kb"] = .number(0)
            add["default_platform_embodied_emissions_per_bid_request_gco2e_per_imp"] = .number(0)
            add["default_impressions_per_creative"] = .number(1)
            for (d, u) in [("phone", 0.0), ("tablet", 0), ("pc", 0), ("tv", 0), ("smart-speaker", 1)] {
                add["default_audio_power_utilization.\(d)"] = .number(u)
                add["default_device_usage_emissions_from_fuel_consumption_per_second.\(d)"] = .number(0)
            }
            for t in ["cloud_storage", "hard_disk_drive", "linear_tape_open", "solid_state_drive"] {
                add["default_storage_kgco2e_per_gb.\(t)"] = .number(0)
                add["default_storage_usage_pct.\(t)"] = .number(0)
            }
            for ch in ["web", "app", "social", "ctv-bvod", "streaming-video", "digital-audio"] {
                add["creative_raw_asset_size_factor_by_channel.\(ch)"] = .number(0)
                add["creative_work_iterations_factor_by_channel.\(ch)"] = .number(0)
            }
        } else {
            add["supported_channels"] = strings(["web", "app", "social", "ctv-bvod", "streaming-video", "digital-audio", "dooh", "search"])
            add["power_model_channels"] = .array([])
        }
        return add
    }

    private func checkScope3(_ packID: String) throws {
        let ref = try reference()
        let expected = try scope3Expected(packID, ref)
        let additions = scope3Additions(packID)
        let pack = try CoefficientPack(url: models("scope3/packs/\(packID).yaml"))
        let got = leaves(of: pack)
        var compared = 0
        for (path, want) in expected {
            guard let have = got[path] else { XCTFail("\(packID): \(path) is missing from the pack"); continue }
            XCTAssertTrue(same(have, want), "\(packID) \(path): pack \(have), reference \(want)")
            compared += 1
        }
        for (path, have) in got where expected[path] == nil {
            guard let want = additions[path] else { XCTFail("\(packID): \(path) = \(have) is neither in the reference nor a Plume addition"); continue }
            XCTAssertTrue(same(have, want), "\(packID) Plume addition \(path): pack \(have), spec 7.3 \(want)")
        }
        for path in additions.keys where got[path] == nil { XCTFail("\(packID): Plume addition \(path) is missing") }
        XCTAssertGreaterThan(compared, 200, "\(packID): a real comparison, not an empty one")
    }

    func testScope3May2024() throws { try checkScope3("may-2024") }
    func testScope3GMSF12() throws { try checkScope3("gmsf-1.2") }
    func testScope3GMSF13() throws { try checkScope3("gmsf-1.3") }

    // MARK: sri

    func testSRIPackMatchesReferenceTables() throws {
        let ref = try reference()
        let pack = try CoefficientPack(url: models("sri/packs/sri-2.1.yaml"))
        let got = leaves(of: pack)
        var expected: [String: (value: Double, unit: String)] = [:]
        for table in ["allocation", "broadcast", "terminal"] {
            for r in try csv(ref.appendingPathComponent("sri/\(table).csv")) {
                let key = r["key"] ?? ""
                XCTAssertTrue(key.hasPrefix(table + "."), key)
                if let d = double(r["value"] ?? "", "sri/\(table).csv \(key)") { expected[key] = (d, r["unit"] ?? "") }
            }
        }
        for r in try csv(ref.appendingPathComponent("sri/electricity_ef.csv")) {
            let key = "ef." + (r["key"] ?? "")
            XCTAssertNil(expected[key], "duplicate \(key)")
            if let d = double(r["value"] ?? "", "sri/electricity_ef.csv \(key)") { expected[key] = (d, r["unit"] ?? "") }
        }
        XCTAssertEqual(expected.count, 24 + 18 + 20 + 150)
        for (path, want) in expected {
            guard let have = got[path] else { XCTFail("sri-2.1: \(path) is missing"); continue }
            XCTAssertEqual(have.doubleValue, want.value, "sri-2.1 \(path)")
            let key = String(path.split(separator: ".").first!)
            let below = String(path.dropFirst(key.count + 1))
            let entry = try XCTUnwrap(pack.entry(key))
            if key == "ef" {
                XCTAssertEqual(entry.unit(for: below), want.unit, path)
            } else {
                // mixed tables cite each entry's unit first in its source line
                XCTAssertTrue(entry.source(for: below).hasPrefix("unit \(want.unit);"), "\(path): \(entry.source(for: below))")
            }
        }
        for path in got.keys where expected[path] == nil { XCTFail("sri-2.1: \(path) is not in the reference tables") }
    }

    // MARK: wfa-anz

    func testWFAANZPackMatchesReference() throws {
        let ref = try reference()
        let pack = try CoefficientPack(url: models("wfa-anz/packs/wfa-anz-1.0.yaml"))
        let got = leaves(of: pack)
        var keys = Set<String>()
        for r in try csv(ref.appendingPathComponent("wfa-anz/pack.csv")) {
            let key = r["key"] ?? ""
            keys.insert(key)
            guard let want = double(r["value"] ?? "", "wfa-anz/pack.csv \(key)") else { continue }
            guard let have = got[key] else { XCTFail("wfa-anz-1.0: \(key) is missing"); continue }
            XCTAssertEqual(have.doubleValue, want, "wfa-anz-1.0 \(key)")
        }
        XCTAssertEqual(keys.count, 49)
        for path in got.keys where !keys.contains(path) && !path.hasPrefix("grid.") {
            XCTFail("wfa-anz-1.0: \(path) is not in pack.csv")
        }
        try checkGrid(pack, ref, allowWorld: true)
    }

    // MARK: swd and the built-in annual table

    func testSWDPackGridValues() throws {
        let ref = try reference()
        for id in ["swd-3", "swd-4"] {
            try checkGrid(try CoefficientPack(url: models("swd/packs/\(id).yaml")), ref, allowWorld: false)
        }
    }

    func testBuiltInAnnualGridTable() throws {
        let ref = try reference()
        let ember = try emberAnnual(ref)
        let lookup = GridLookup()
        XCTAssertEqual(lookup.annualValues.count, ember.count)
        for (code, want) in ember { XCTAssertEqual(lookup.annual(country: code), want, "grid-annual.csv \(code)") }
        XCTAssertEqual(lookup.world, try emberWorld(ref))
    }
}
