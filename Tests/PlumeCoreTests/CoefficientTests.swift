import Foundation
import XCTest
import LuaHost
@testable import PlumeCore

/// Packs, hashes, overlays and `--set` values (Docs/COEFFICIENTS.md) on Fixtures/coefficients.
final class CoefficientTests: XCTestCase {
    private func packURL(_ path: String) -> URL { CoreFixture.url("coefficients/\(path)") }
    private func pack() throws -> CoefficientPack { try CoefficientPack(url: packURL("packs/coef-1.yaml")) }
    private func overlay(_ name: String, today: Date = Date()) throws -> Overlay {
        try Overlay(url: packURL("overlays/\(name).yaml"), today: today)
    }
    private func day(_ iso: String) -> Date {
        let f = ISO8601DateFormatter()
        return f.date(from: iso + "T12:00:00Z")!
    }

    // MARK: packs

    func testPackLoadsValuesUnitsSourcesAndLines() throws {
        let p = try pack()
        let url = packURL("packs/coef-1.yaml")
        XCTAssertEqual(p.id, "coef-1")
        XCTAssertEqual(p.source, "Plume tests, coefficient pack")
        XCTAssertEqual(p.entries.map(\.key), ["device_watts", "percent_mobile", "time_in_view", "geo_factor", "channels"])
        let dw = try XCTUnwrap(p.entry("device_watts"))
        XCTAssertEqual(dw.value, .object([("phone", .number(4.68)), ("tablet", .number(5.04)), ("tv", .number(136.8))]))
        XCTAssertEqual(dw.unit, "W")
        XCTAssertEqual(dw.source(for: "tv"), "fixture tv panel")
        XCTAssertEqual(dw.source(for: "phone"), "fixture device watts")
        XCTAssertEqual(dw.source(for: ""), "fixture device watts")
        XCTAssertEqual(dw.line, CoreFixture.line(of: "  device_watts:", in: url))
        let pm = try XCTUnwrap(p.entry("percent_mobile"))
        XCTAssertEqual(pm.value.doubleValue, 23.6)
        XCTAssertEqual(pm.range, 0...100)
        XCTAssertEqual(pm.line, CoreFixture.line(of: "  percent_mobile:", in: url))
        let geo = try XCTUnwrap(p.entry("geo_factor"))
        XCTAssertEqual(geo.unit(for: "NAMER.mobile"), "kg", "a per-entry unit")
        XCTAssertEqual(geo.unit(for: "NAMER.fixed"), "g")
        XCTAssertEqual(geo.unit(for: "EMEA"), "g")
        XCTAssertEqual(p.entry("channels")?.value, .array([.string("web"), .string("app"), .string("social")]))
        let r = ResolvedCoefficients(pack: p)
        XCTAssertEqual(r.value(at: "geo_factor.EMEA.mobile")?.doubleValue, 0.0003)
        XCTAssertEqual(r.unit(of: "geo_factor.NAMER.mobile"), "kg")
        XCTAssertNil(r.value(at: "geo_factor.APAC"))
        XCTAssertNil(r.value(at: "nope"))
    }

    func testPackMissingUnitOrSourceIsErrorWithFileLine() throws {
        let noUnit = packURL("bad/no-unit.yaml")
        let e1 = CoreFixture.errorText(try CoefficientPack(url: noUnit))
        XCTAssertTrue(e1.contains("no-unit.yaml:\(CoreFixture.line(of: "  watts:", in: noUnit)): 'watts' has no unit"), e1)
        let noSource = packURL("bad/no-source.yaml")
        let e2 = CoreFixture.errorText(try CoefficientPack(url: noSource))
        XCTAssertTrue(e2.contains("no-source.yaml:\(CoreFixture.line(of: "  watts:", in: noSource)): 'watts' has no source"), e2)
    }

    /// A key written twice: Swift (explain, origin, value(at:)) would read the first, the Lua model the last.
    func testPackDuplicateKeyIsError() throws {
        let url = packURL("bad/duplicate-key.yaml")
        let e = CoreFixture.errorText(try CoefficientPack(url: url))
        XCTAssertTrue(e.contains("duplicate-key.yaml:"), e)
        XCTAssertTrue(e.contains("watts"), e)
    }

    /// `value: ~` is not a value (Docs/COEFFICIENTS.md: number, string, boolean, list or mapping).
    func testPackNullValueIsError() throws {
        let url = packURL("bad/null-value.yaml")
        let e = CoreFixture.errorText(try CoefficientPack(url: url))
        XCTAssertTrue(e.contains("null-value.yaml:\(CoreFixture.line(of: "  watts:", in: url)): "), e)
        XCTAssertTrue(e.contains("'watts' is null"), e)
        let entry = packURL("bad/null-entry.yaml")
        let e2 = CoreFixture.errorText(try CoefficientPack(url: entry))
        XCTAssertTrue(e2.contains("null-entry.yaml:\(CoreFixture.line(of: "  watts:", in: entry)): 'watts.tv' is null"), e2)
    }

    func testPackHashIsStable() throws {
        let a = try pack().hash
        XCTAssertTrue(a.hasPrefix("sha256:"))
        XCTAssertEqual(a.count, 7 + 64)
        XCTAssertEqual(try pack().hash, a, "same file, same hash")
        let reordered = try CoefficientPack(url: packURL("reordered/coef-1.yaml"))
        XCTAssertNotEqual(reordered.entries.map(\.key), try pack().entries.map(\.key), "the fixture really is reordered")
        XCTAssertEqual(reordered.hash, a, "key order, comments and citations do not change the hash")
        let changed = try CoefficientPack(url: packURL("changed/coef-1.yaml"))
        XCTAssertEqual(changed.entry("device_watts")?.value["tv"], .number(136.9))
        XCTAssertNotEqual(changed.hash, a, "a changed value changes the hash")
    }

    // MARK: precedence

    func testOverlayPrecedencePackOverlayAOverlayBSet() throws {
        let p = try pack()
        let a = try overlay("a"), b = try overlay("b")
        var r = ResolvedCoefficients(pack: p)
        try a.apply(to: &r)
        try b.apply(to: &r)
        try r.applySet("time_in_view=6")

        // pack < A < B < --set
        XCTAssertEqual(r.value(at: "time_in_view")?.doubleValue, 6)
        let tiv = r.origin(of: "time_in_view")
        XCTAssertEqual(tiv.layer, .set)
        XCTAssertEqual(tiv.label, "--set")
        XCTAssertEqual(tiv.source, "--set time_in_view=6")

        // A and B: B wins
        XCTAssertEqual(r.value(at: "device_watts.tv")?.doubleValue, 110)
        let tv = r.origin(of: "device_watts.tv")
        XCTAssertEqual(tv.layer, .overlay)
        XCTAssertEqual(tv.source, "B: tv panel 2")
        let bFile = display(packURL("overlays/b.yaml"))
        XCTAssertEqual(tv.label, "ov-b (\(bFile):\(CoreFixture.line(of: "device_watts.tv", in: packURL("overlays/b.yaml"))), Bob Analyst)")

        // A only
        XCTAssertEqual(r.value(at: "percent_mobile")?.doubleValue, 30)
        let pm = r.origin(of: "percent_mobile")
        XCTAssertEqual(pm.layer, .overlay)
        XCTAssertTrue(pm.label.hasPrefix("ov-a ("), pm.label)
        XCTAssertTrue(pm.label.hasSuffix(":\(CoreFixture.line(of: "percent_mobile", in: packURL("overlays/a.yaml"))), Alice Analyst)"), pm.label)
        XCTAssertEqual(pm.source, "A: traffic panel")

        // nobody: the pack, with the entry's own citation
        XCTAssertEqual(r.value(at: "device_watts.phone")?.doubleValue, 4.68)
        let phone = r.origin(of: "device_watts.phone")
        XCTAssertEqual(phone.layer, .pack)
        XCTAssertEqual(phone.label, "coef-1")
        XCTAssertEqual(phone.source, "fixture device watts")
        XCTAssertEqual(r.origin(of: "channels").layer, .pack)
        XCTAssertEqual(r.overlayHashes.count, 2)

        // the order of overlays matters: B then A gives A's value
        var r2 = ResolvedCoefficients(pack: p)
        try b.apply(to: &r2)
        try a.apply(to: &r2)
        XCTAssertEqual(r2.value(at: "device_watts.tv")?.doubleValue, 120)
        XCTAssertEqual(r2.value(at: "time_in_view")?.doubleValue, 4)
        XCTAssertEqual(r2.origin(of: "device_watts.tv").source, "A: tv panel")
        // the pack itself is untouched
        XCTAssertEqual(ResolvedCoefficients(pack: p).value(at: "device_watts.tv")?.doubleValue, 136.8)
    }

    /// A later layer that replaces a whole table also replaces the origin of every entry below it: an
    /// earlier override of one entry must not keep claiming it.
    func testWholeTableOverrideTakesOverEntryOrigins() throws {
        var r = ResolvedCoefficients(pack: try pack())
        try overlay("a").apply(to: &r)          // device_watts.tv = 120 (A)
        try overlay("table").apply(to: &r)      // device_watts = {phone 1, tablet 2, tv 3} (D)
        XCTAssertEqual(r.value(at: "device_watts.tv")?.doubleValue, 3)
        let tv = r.origin(of: "device_watts.tv")
        XCTAssertEqual(tv.layer, .overlay)
        XCTAssertEqual(tv.source, "D: whole table", "the value 3 comes from overlay D, not from A's tv entry")
        XCTAssertTrue(tv.label.hasPrefix("ov-table ("), tv.label)
        XCTAssertEqual(r.origin(of: "device_watts.phone").source, "D: whole table")
        // and an entry set after the table is the entry's own origin again
        try r.applySet("device_watts.tv=7")
        XCTAssertEqual(r.origin(of: "device_watts.tv").layer, .set)
        XCTAssertEqual(r.origin(of: "device_watts.phone").source, "D: whole table")
    }

    // MARK: overlay errors

    func testOverlayUnknownKeySuggestsClosest() throws {
        let o = try overlay("unknown-key")
        var r = ResolvedCoefficients(pack: try pack())
        let e = CoreFixture.errorText(try o.apply(to: &r))
        let line = CoreFixture.line(of: "device_wats.tv", in: packURL("overlays/unknown-key.yaml"))
        XCTAssertTrue(e.contains("unknown-key.yaml:\(line): "), e)
        XCTAssertTrue(e.contains("unknown coefficient 'device_wats' in pack coef-1"), e)
        XCTAssertTrue(e.contains("(closest: device_watts"), e)
    }

    func testOverlayWrongShape() throws {
        let o = try overlay("wrong-shape")
        var r = ResolvedCoefficients(pack: try pack())
        let e = CoreFixture.errorText(try o.apply(to: &r))
        let line = CoreFixture.line(of: "device_watts:", in: packURL("overlays/wrong-shape.yaml"))
        XCTAssertTrue(e.contains("wrong-shape.yaml:\(line): "), e)
        XCTAssertTrue(e.contains("'device_watts' is a table in the pack; the new value is a number"), e)
        // and a table where the pack has a number (through --set is impossible; through apply directly)
        var r2 = ResolvedCoefficients(pack: try pack())
        let e2 = CoreFixture.errorText(try r2.apply(path: "percent_mobile", value: .object([("x", .number(1))]),
                                                    origin: .init(layer: .overlay, source: "t", label: "t")))
        XCTAssertTrue(e2.contains("'percent_mobile' is a number in the pack; the new value is a table"), e2)
    }

    func testOverlayExpiredEntry() throws {
        let url = packURL("overlays/expired.yaml")
        let e = CoreFixture.errorText(try overlay("expired", today: day("2026-06-01")))
        XCTAssertTrue(e.contains("expired.yaml:\(CoreFixture.line(of: "time_in_view", in: url)): 'time_in_view' expired on 2026-03-31"), e)
        // on its last day it is still valid, and the other entry (2026-12-31) too
        XCTAssertNoThrow(try overlay("expired", today: day("2026-03-31")))
        let late = CoreFixture.errorText(try overlay("expired", today: day("2027-01-01")))
        XCTAssertTrue(late.contains("expired.yaml:\(CoreFixture.line(of: "percent_mobile", in: url)): 'percent_mobile' expired on 2026-12-31"), late)
    }

    func testOverlayMissingSource() throws {
        let url = packURL("overlays/no-source.yaml")
        let e = CoreFixture.errorText(try overlay("no-source"))
        XCTAssertTrue(e.contains("no-source.yaml:\(CoreFixture.line(of: "time_in_view", in: url)): 'time_in_view' has no source"), e)
    }

    func testOverlayPackMismatch() throws {
        let url = packURL("overlays/other-pack.yaml")
        let o = try overlay("other-pack")
        var r = ResolvedCoefficients(pack: try pack())
        let e = CoreFixture.errorText(try o.apply(to: &r))
        XCTAssertTrue(e.contains("other-pack.yaml:\(CoreFixture.line(of: "pack: gmsf-1.3", in: url)): "), e)
        XCTAssertTrue(e.contains("overlay ov-other applies to pack gmsf-1.3, not to coef-1"), e)
        XCTAssertEqual(r.value(at: "time_in_view")?.doubleValue, 3, "nothing applied")
    }

    func testOverlayOutOfRange() throws {
        let url = packURL("overlays/out-of-range.yaml")
        var r = ResolvedCoefficients(pack: try pack())
        let e = CoreFixture.errorText(try overlay("out-of-range").apply(to: &r))
        XCTAssertTrue(e.contains("out-of-range.yaml:\(CoreFixture.line(of: "percent_mobile", in: url)): 'percent_mobile'"), e)
        XCTAssertTrue(e.contains("outside its range"), e)
    }

    // MARK: dotted overrides

    func testDottedOverrideAddsEntryToExistingTable() throws {
        var r = ResolvedCoefficients(pack: try pack())
        try r.applySet("device_watts.radio=6.55")
        XCTAssertEqual(r.value(at: "device_watts.radio")?.doubleValue, 6.55)
        XCTAssertEqual(r.origin(of: "device_watts.radio").layer, .set)
        XCTAssertEqual(r.value(at: "device_watts.tv")?.doubleValue, 136.8, "other entries stay")
        XCTAssertEqual(r.origin(of: "device_watts.tv").layer, .pack)
        guard case .object(let m)? = r.value(at: "device_watts") else { return XCTFail("device_watts is a table") }
        XCTAssertEqual(m.map(\.0), ["phone", "tablet", "tv", "radio"])
        // nested replacement two levels down
        try r.applySet("geo_factor.EMEA.fixed=0.5")
        XCTAssertEqual(r.value(at: "geo_factor.EMEA.fixed")?.doubleValue, 0.5)
        XCTAssertEqual(r.value(at: "geo_factor.EMEA.mobile")?.doubleValue, 0.0003)
        XCTAssertEqual(r.origin(of: "geo_factor.EMEA.mobile").layer, .pack)
        // the bound model sees the added entry
        XCTAssertEqual(r.luaValue["device_watts"]?["radio"]?.doubleValue, 6.55)
    }

    func testDottedOverrideThroughNonTableIsError() throws {
        var r = ResolvedCoefficients(pack: try pack())
        let e1 = CoreFixture.errorText(try r.applySet("time_in_view.extra=1"))
        XCTAssertTrue(e1.contains("'time_in_view' is not a table"), e1)
        let e2 = CoreFixture.errorText(try r.applySet("device_watts.tv.x=1"))
        XCTAssertTrue(e2.contains("'device_watts.tv' is not a table"), e2)
        let e3 = CoreFixture.errorText(try r.applySet("geo_factor.APAC.fixed=1"))
        XCTAssertTrue(e3.contains("'geo_factor' has no entry 'APAC'"), e3)
        let e4 = CoreFixture.errorText(try r.applySet("time_in_veiw=4"))
        XCTAssertTrue(e4.contains("unknown coefficient 'time_in_veiw'") && e4.contains("closest: time_in_view"), e4)
        let e5 = CoreFixture.errorText(try r.applySet("time_in_view"))
        XCTAssertTrue(e5.contains("--set expects key=value"), e5)
        XCTAssertEqual(r.value(at: "time_in_view")?.doubleValue, 3, "failed sets change nothing")
    }
}
