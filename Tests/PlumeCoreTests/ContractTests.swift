import Foundation
import XCTest
import LuaHost
@testable import PlumeCore

/// The model contract of Docs/DSL.md, on the fixture models of Fixtures/contract/Models.
///
/// Hand computation for the base fixture (pack base-1: device_watts.tv 100 W, intensity 400 gCO2e/kWh,
/// embodied_per_hour 3.6 g/h, per_imp 0.5 g, fixed 2 g) and the row {impressions 1800, device "TV"}:
///   seconds = 2 (default), device = "tv" (normalised), hours = 1800 * 2 / 3600 = 1
///   a.wh = 1 * 100 = 100; a.usage = 100 * 400 / 1000 = 40; a.embodied = 1 * 3.6 = 3.6; a = 43.6
///   b = 1800 * 0.5 = 900; c = 2; hidden = 1000 (declared, not listed: never reported)
///   total = 43.6 + 900 + 2 = 945.6
final class ContractTests: XCTestCase {
    private let tvRow = #"{"impressions": 1800, "device": "TV"}"#

    private func bound(_ engine: Engine, _ id: String, overlays: [Overlay] = [], sets: [String] = []) throws -> BoundModel {
        let m = try engine.model(id)
        return try engine.bind(m, try engine.coefficients(for: m, pack: nil, overlays: overlays, sets: sets))
    }

    private func modelFile(_ id: String) -> URL { CoreFixture.url("contract/Models/\(id)/model.lua") }

    // MARK: results and extends

    func testBaseModelResult() throws {
        let engine = try CoreFixture.engine()
        let b = try bound(engine, "base")
        XCTAssertEqual(b.model.info.categories, ["a", "b", "c"])
        XCTAssertEqual(b.model.info.declared.map(\.key), ["a", "b", "c", "hidden"])
        XCTAssertEqual(b.model.info.declared.first?.split, true)
        let r = try XCTUnwrap(engine.runtime.evaluate(b, row: try CoreFixture.row(tvRow)).okValues)
        XCTAssertEqual(r.values, [43.6, 900, 2])
        XCTAssertEqual(r.total, 945.6)
        // the default device (phone, 4 W): a.usage = 1 * 4 * 400 / 1000 = 1.6, a = 1.6 + 3.6 = 5.2
        let phone = try XCTUnwrap(engine.runtime.evaluate(b, row: try CoreFixture.row(#"{"impressions": 1800}"#)).okValues)
        XCTAssertEqual(phone.values, [1.6 + 3.6, 900, 2])
    }

    func testVariantDiffersOnlyInOverriddenCategory() throws {
        let engine = try CoreFixture.engine()
        let base = try bound(engine, "base")
        let variant = try bound(engine, "variant")
        let info = variant.model.info
        XCTAssertEqual(info.extends, "base")
        XCTAssertEqual(info.chain, ["variant", "base"])
        XCTAssertEqual(info.title, "Variant fixture")
        XCTAssertEqual(info.framework, "Fixture", "model{} fields the child does not set are inherited")
        XCTAssertEqual(info.categories, ["a", "b", "c"])
        XCTAssertEqual(info.declared.map(\.key), ["a", "b", "c", "hidden"], "a replaced category keeps its position")
        XCTAssertEqual(info.inputs.map(\.name), base.model.info.inputs.map(\.name))

        for json in [tvRow, #"{"impressions": 36, "seconds": 10}"#] {
            let row = try CoreFixture.row(json)
            let rb = try XCTUnwrap(engine.runtime.evaluate(base, row: row).okValues)
            let rv = try XCTUnwrap(engine.runtime.evaluate(variant, row: row).okValues)
            XCTAssertEqual(rv.values[0], rb.values[0], json)
            XCTAssertEqual(rv.values[2], rb.values[2], json)
            XCTAssertEqual(rv.values[1], rb.values[1] * 2, "variant b = parent.categories[\"b\"].compute * 2 (\(json))")
            XCTAssertNotEqual(rv.values[1], rb.values[1])
        }
        let rv = try XCTUnwrap(engine.runtime.evaluate(variant, row: try CoreFixture.row(tvRow)).okValues)
        XCTAssertEqual(rv.values, [43.6, 1800, 2])
        XCTAssertEqual(rv.total, 43.6 + 1800 + 2)

        // the parent's compute was reached through parent.categories["b"]
        engine.runtime.tracing = true
        defer { engine.runtime.tracing = false }
        _ = engine.runtime.evaluate(variant, row: try CoreFixture.row(tvRow))
        let traces = engine.runtime.traces()
        XCTAssertEqual(traces.first { $0.0 == "variant.parent_b" }?.1, .number(900))
        // the parent's prepare hook is inherited
        XCTAssertEqual(traces.first { $0.0 == "hours" }?.1, .number(1))
    }

    // MARK: schema

    func testSchemaViolationsRejectedWithFieldPath() throws {
        let engine = try CoreFixture.engine()
        let b = try bound(engine, "base")
        let cases: [(row: String, message: String, path: String)] = [
            (#"{}"#, "impressions is required", "impressions"),
            (#"{"impressions": null}"#, "impressions is required", "impressions"),
            (#"{"impressions": "10"}"#, "impressions must be a number", "impressions"),
            (#"{"impressions": true}"#, "impressions must be a number", "impressions"),
            (#"{"impressions": -1}"#, "impressions must be >= 0", "impressions"),
            // the first failing declaration wins (impressions is declared before seconds)
            (#"{"impressions": "x", "seconds": 100}"#, "impressions must be a number", "impressions"),
            (#"{"impressions": 1, "seconds": 61}"#, "seconds must be <= 60", "seconds"),
            (#"{"impressions": 1, "seconds": -0.5}"#, "seconds must be >= 0", "seconds"),
            (#"{"impressions": 1, "device": " Radio "}"#, "device: unknown value 'radio' (expected one of phone, tv)", "device"),
            (#"{"impressions": 1, "device": 3}"#, "device must be a string", "device"),
            (#"{"impressions": 1, "count": 0}"#, "count must be > 0", "count"),
            (#"{"impressions": 1, "count": 1000}"#, "count must be < 1000", "count"),
            (#"{"impressions": 1, "count": 2.5}"#, "count must be an integer", "count"),
            (#"{"impressions": 1, "label": 5}"#, "label must be a string", "label"),
            (#"{"impressions": 1, "flag": "yes"}"#, "flag must be true or false", "flag"),
            (#"{"impressions": 1, "meta": "x"}"#, "meta must be an object", "meta"),
            (#"{"impressions": 1, "meta": [1, 2]}"#, "meta must be an object", "meta"),
            (#"{"impressions": 1, "meta": []}"#, "meta must be an object", "meta"),
            (#"{"impressions": 1, "tags": {"a": 1}}"#, "tags must be a list", "tags"),
            (#"{"impressions": 1, "tags": {}}"#, "tags must be a list", "tags"),
            (#"{"impressions": 1, "tags": "a,b"}"#, "tags must be a list", "tags"),
        ]
        for c in cases {
            let outcome = engine.runtime.evaluate(b, row: try CoreFixture.row(c.row))
            guard let r = outcome.rejection else {
                XCTFail("\(c.row): expected a rejection, got \(outcome)")
                continue
            }
            XCTAssertEqual(r.message, c.message, c.row)
            XCTAssertEqual(r.path, c.path, c.row)
            XCTAssertTrue(r.message.hasPrefix(c.path), "the message names the field: \(r.message)")
        }
    }

    func testEmptyListAndEmptyObjectFromJSONAreDistinct() throws {
        let engine = try CoreFixture.engine()
        let b = try bound(engine, "base")
        for json in [#"{"impressions": 1, "meta": {}, "tags": []}"#,
                     #"{"impressions": 1, "meta": {"k": 1}, "tags": [1, "a"]}"#,
                     #"{"impressions": 1, "count": 999, "label": "x", "flag": false}"#] {
            XCTAssertNotNil(engine.runtime.evaluate(b, row: try CoreFixture.row(json)).okValues, json)
        }
        // and the same two empty values the other way round are rejected
        XCTAssertEqual(engine.runtime.evaluate(b, row: try CoreFixture.row(#"{"impressions": 1, "meta": [], "tags": []}"#)).rejection?.path, "meta")
        XCTAssertEqual(engine.runtime.evaluate(b, row: try CoreFixture.row(#"{"impressions": 1, "meta": {}, "tags": {}}"#)).rejection?.path, "tags")
    }

    // MARK: coefficients

    func testUnknownCoefficientIsModelErrorWithClosestKeysAndLine() throws {
        let engine = try CoreFixture.engine()
        let b = try bound(engine, "faulty")
        let f = try XCTUnwrap(engine.runtime.evaluate(b, row: try CoreFixture.row(#"{"mode": "typo"}"#)).failure)
        let line = CoreFixture.line(of: "return c.intensty", in: modelFile("faulty"))
        XCTAssertTrue(f.message.contains("faulty/model.lua:\(line): "), f.message)
        XCTAssertTrue(f.message.contains("unknown coefficient 'intensty' in pack faulty-1"), f.message)
        XCTAssertTrue(f.message.contains("(closest: intensity, intensive_care"), f.message)
        // the same read through the recording view (explain) gives the same error
        engine.runtime.recording = true
        defer { engine.runtime.recording = false }
        let rec = try bound(engine, "faulty")
        let f2 = try XCTUnwrap(engine.runtime.evaluate(rec, row: try CoreFixture.row(#"{"mode": "typo"}"#)).failure)
        XCTAssertTrue(f2.message.contains("faulty/model.lua:\(line): unknown coefficient 'intensty'"), f2.message)
        XCTAssertTrue(f2.message.contains("closest: intensity"), f2.message)
    }

    func testCoefficientUnitMismatchIsConfigurationError() throws {
        let engine = try CoreFixture.engine()
        let m = try engine.model("unitmismatch")
        XCTAssertEqual(m.info.coefficients.map(\.name), ["device_watts"])
        XCTAssertEqual(m.info.coefficients.first?.unit, "kW")
        let declLine = CoreFixture.line(of: "coefficient \"device_watts\"", in: modelFile("unitmismatch"))
        do {
            _ = try engine.coefficients(for: m, pack: "um-1")
            XCTFail("expected a unit mismatch")
        } catch let PlumeError.config(message) {
            XCTAssertTrue(message.contains("unitmismatch/model.lua:\(declLine): "), message)
            XCTAssertTrue(message.contains("expects unit 'kW'"), message)
            XCTAssertTrue(message.contains("gives 'W'"), message)
            XCTAssertTrue(message.contains("um-1.yaml:\(CoreFixture.line(of: "device_watts:", in: CoreFixture.url("contract/Models/unitmismatch/packs/um-1.yaml")))"), message)
        }
        // a pack lacking the declared key
        let missing = CoreFixture.errorText(try engine.coefficients(for: m, pack: "um-2"))
        XCTAssertTrue(missing.contains("needs coefficient 'device_watts'"), missing)
        XCTAssertTrue(missing.contains("um-2"), missing)
        // the base model declares device_watts in W, which its pack gives: no error
        XCTAssertNoThrow(try engine.coefficients(for: try engine.model("base"), pack: nil))
    }

    // MARK: traces and explain

    func testTracesNamesAndValues() throws {
        let engine = try CoreFixture.engine()
        let b = try bound(engine, "base")
        engine.runtime.tracing = true
        _ = engine.runtime.evaluate(b, row: try CoreFixture.row(tvRow))
        let t = engine.runtime.traces()
        XCTAssertEqual(t.map(\.0), ["hours", "a.wh", "a.usage", "a.embodied"])
        XCTAssertEqual(t.map(\.1), [.number(1), .number(100), .number(40), .number(3.6)])
        // a second row replaces the first row's traces: 36 imp * 10 s / 3600 = 0.1 h; phone 4 W
        _ = engine.runtime.evaluate(b, row: try CoreFixture.row(#"{"impressions": 36, "seconds": 10}"#))
        let t2 = engine.runtime.traces()
        XCTAssertEqual(t2.first { $0.0 == "hours" }?.1, .number(36.0 * 10 / 3600))
        XCTAssertEqual(t2.first { $0.0 == "a.wh" }?.1, .number(36.0 * 10 / 3600 * 4))
        // tracing off: nothing is recorded
        engine.runtime.tracing = false
        _ = engine.runtime.evaluate(b, row: try CoreFixture.row(tvRow))
        XCTAssertTrue(engine.runtime.traces().isEmpty)
    }

    func testExplainValueByValue() throws {
        let engine = try CoreFixture.engine()
        let m = try engine.model("base")
        let overlayURL = CoreFixture.url("contract/Models/base/overlay-explain.yaml")
        let overlay = try Overlay(url: overlayURL)
        let coefficients = try engine.coefficients(for: m, pack: nil, overlays: [overlay], sets: ["fixed=5"])
        let e = try Explanation.make(engine: engine, model: m, coefficients: coefficients, row: try CoreFixture.row(tvRow))

        XCTAssertEqual(e.packID, "base-1")
        XCTAssertEqual(e.packHash, coefficients.pack.hash)
        // b = 1800 * 0.25 (overlay) = 450; c = 5 (--set); a unchanged = 43.6
        let r = try XCTUnwrap(e.outcome.okValues)
        XCTAssertEqual(r.values, [43.6, 450, 5])
        XCTAssertEqual(r.total, 43.6 + 450 + 5)

        XCTAssertEqual(e.inputs.map(\.name), ["impressions", "seconds", "device", "count", "label", "flag", "meta", "tags"])
        XCTAssertEqual(e.inputs[0].value, .number(1800)); XCTAssertEqual(e.inputs[0].origin, "INPUT")
        XCTAssertEqual(e.inputs[1].value, .number(2)); XCTAssertEqual(e.inputs[1].origin, "DEFAULT")
        XCTAssertEqual(e.inputs[2].value, .string("tv"), "the normalised value"); XCTAssertEqual(e.inputs[2].origin, "INPUT")
        for i in e.inputs.dropFirst(3) {
            XCTAssertEqual(i.value, .nil, i.name)
            XCTAssertEqual(i.origin, "ABSENT", i.name)
        }

        let overlayLine = CoreFixture.line(of: "per_imp:", in: overlayURL)
        let expected: [(path: String, value: LuaValue, unit: String, layer: String, label: String, source: String)] = [
            ("device_watts.tv", .number(100), "W", "PACK", "base-1", "fixture tv measurement"),
            ("embodied_per_hour", .number(3.6), "g/h", "PACK", "base-1", "fixture embodied"),
            ("fixed", .number(5), "g", "SET", "--set", "--set fixed=5"),
            ("intensity", .number(400), "gCO2e/kWh", "PACK", "base-1", "fixture intensity"),
            ("per_imp", .number(0.25), "g", "OVERLAY", "explain-ov (\(display(overlayURL)):\(overlayLine), Test Analyst)", "client study 2026"),
        ]
        XCTAssertEqual(e.coefficients.map(\.path), expected.map(\.path))
        for (got, want) in zip(e.coefficients, expected) {
            XCTAssertEqual(got.value, want.value, want.path)
            XCTAssertEqual(got.unit, want.unit, want.path)
            XCTAssertEqual(got.layer, want.layer, want.path)
            XCTAssertEqual(got.label, want.label, want.path)
            XCTAssertEqual(got.source, want.source, want.path)
        }

        XCTAssertEqual(e.traces.map(\.0), ["hours", "a.wh", "a.usage", "a.embodied"])
        XCTAssertEqual(e.traces.map(\.1), [.number(1), .number(100), .number(40), .number(3.6)])

        let text = e.text()
        XCTAssertTrue(text.contains("per_imp = 0.25 [g]  OVERLAY explain-ov"), text)
        XCTAssertTrue(text.contains("fixed = 5.0 [g]  SET --set: --set fixed=5"), text)
        XCTAssertTrue(text.contains("seconds = 2"), text)
        let json = try JSONValue.parse(e.json())
        XCTAssertEqual(json["status"], .string("ok"))
        XCTAssertEqual(json["result"]?["b"], .number(450))
        XCTAssertEqual(json["result"]?["total"], .number(43.6 + 450 + 5))
    }

    // MARK: plume check

    func testCheckFindingsForBrokenModelHaveFileAndLine() throws {
        let engine = try CoreFixture.engine()
        let findings = ModelCheck.run(engine: engine, id: "broken")
        let file = modelFile("broken")
        let modelLine = CoreFixture.line(of: "model {", in: file)
        let inputLine = CoreFixture.line(of: "input \"x\"", in: file)
        let catLine = CoreFixture.line(of: "category \"a\"", in: file)
        func has(_ needle: String) -> Bool { findings.errors.contains { $0.contains(needle) } }
        XCTAssertTrue(has("broken/model.lua:\(modelLine): category 'ghost' is listed but never declared"), "\(findings.errors)")
        XCTAssertTrue(has("broken/model.lua:\(inputLine): input 'x': unknown type 'numbr'"), "\(findings.errors)")
        XCTAssertTrue(has("broken/model.lua:\(catLine): category 'a' has no compute function"), "\(findings.errors)")
        XCTAssertEqual(findings.errors.count, 3, "\(findings.errors)")
        // the unused pack key is a note, not an error
        XCTAssertTrue(findings.notes.contains { $0.contains("broken-1.yaml:") && $0.contains("'never_named_coefficient'") }, "\(findings.notes)")
    }

    func testCheckFindsNothingInSoundModels() throws {
        let engine = try CoreFixture.engine()
        for id in ["base", "variant", "faulty", "gridmodel"] {
            XCTAssertEqual(ModelCheck.run(engine: engine, id: id).errors, [], id)
        }
        let um = ModelCheck.run(engine: engine, id: "unitmismatch").errors
        XCTAssertEqual(um.count, 2, "one error per bad pack: \(um)")
    }

    // MARK: failures inside compute

    func testModelErrorInComputeIsFailedWithFileLine() throws {
        let engine = try CoreFixture.engine()
        let b = try bound(engine, "faulty")
        let file = modelFile("faulty")
        let boom = try XCTUnwrap(engine.runtime.evaluate(b, row: try CoreFixture.row(#"{"mode": "boom"}"#)).failure)
        XCTAssertTrue(boom.message.contains("faulty/model.lua:\(CoreFixture.line(of: "error(\"boom", in: file)): boom in compute"), boom.message)
        XCTAssertFalse(boom.traceback.isEmpty)
        let arith = try XCTUnwrap(engine.runtime.evaluate(b, row: try CoreFixture.row(#"{"mode": "nil"}"#)).failure)
        XCTAssertTrue(arith.message.contains("faulty/model.lua:\(CoreFixture.line(of: "ctx.row.missing + 1", in: file)): "), arith.message)
        XCTAssertTrue(arith.message.contains("arithmetic on a nil value"), arith.message)
        // a failure is not a rejection, and the state still evaluates rows afterwards
        XCTAssertEqual(engine.runtime.evaluate(b, row: try CoreFixture.row(#"{}"#)).okValues?.total, 7)
    }

    func testNonNumberResultIsModelErrorAtCategory() throws {
        let engine = try CoreFixture.engine()
        let b = try bound(engine, "faulty")
        let f = try XCTUnwrap(engine.runtime.evaluate(b, row: try CoreFixture.row(#"{"mode": "string"}"#)).failure)
        let line = CoreFixture.line(of: "category \"x\"", in: modelFile("faulty"))
        XCTAssertTrue(f.message.contains("faulty/model.lua:\(line): category 'x' returned string, expected a number of grams"), f.message)
    }

    func testUnlistedCategoryIsComputedAndCanReject() throws {
        let engine = try CoreFixture.engine()
        let b = try bound(engine, "faulty")
        XCTAssertEqual(b.model.info.categories, ["x"])
        XCTAssertEqual(b.model.info.declared.map(\.key), ["x", "guard"])
        let r = try XCTUnwrap(engine.runtime.evaluate(b, row: try CoreFixture.row(#"{"mode": "hidden-reject"}"#)).rejection)
        XCTAssertEqual(r.message, "coefficient watts has no entry 'radio' (pack faulty-1)")
        // otherwise it is not reported: one value, the total is x alone
        let ok = try XCTUnwrap(engine.runtime.evaluate(b, row: try CoreFixture.row(#"{}"#)).okValues)
        XCTAssertEqual(ok.values, [7])
        XCTAssertEqual(ok.total, 7)
    }

    func testWritesToCoefficientsFail() throws {
        let engine = try CoreFixture.engine()
        let file = modelFile("faulty")
        for recording in [false, true] {
            engine.runtime.recording = recording
            let b = try bound(engine, "faulty")
            let top = try XCTUnwrap(engine.runtime.evaluate(b, row: try CoreFixture.row(#"{"mode": "write"}"#)).failure)
            XCTAssertTrue(top.message.contains("faulty/model.lua:\(CoreFixture.line(of: "c.intensity = 1", in: file)): coefficients are read-only (attempt to set 'intensity')"), top.message)
            let nested = try XCTUnwrap(engine.runtime.evaluate(b, row: try CoreFixture.row(#"{"mode": "write-nested"}"#)).failure)
            XCTAssertTrue(nested.message.contains("coefficients are read-only (attempt to set 'watts.tv')"), nested.message)
            // the value is unchanged for the next row
            XCTAssertEqual(engine.runtime.evaluate(b, row: try CoreFixture.row(#"{}"#)).okValues?.total, 7)
        }
        engine.runtime.recording = false
    }

    func testEndlessLoopHitsTimeLimitAndNextRowWorks() throws {
        let engine = try CoreFixture.engine(limits: RuntimeLimits(memoryBytes: 256 << 20, secondsPerCall: 0.3))
        let b = try bound(engine, "faulty")
        let start = Date()
        let f = try XCTUnwrap(engine.runtime.evaluate(b, row: try CoreFixture.row(#"{"mode": "loop"}"#)).failure)
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertTrue(f.message.contains("time limit"), f.message)
        XCTAssertGreaterThanOrEqual(elapsed, 0.25)
        XCTAssertLessThan(elapsed, 5, "the watchdog stops the loop near its 0.3 s limit")
        let next = engine.runtime.evaluate(b, row: try CoreFixture.row(#"{"mode": "ok"}"#))
        XCTAssertEqual(next.okValues?.total, 7, "\(next)")
        // and again: the limit applies to each call, not once per state
        XCTAssertNotNil(engine.runtime.evaluate(b, row: try CoreFixture.row(#"{"mode": "loop"}"#)).failure)
        XCTAssertEqual(engine.runtime.evaluate(b, row: try CoreFixture.row(#"{}"#)).okValues?.total, 7)
    }
}
