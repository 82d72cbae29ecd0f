import CLuaShim
import Foundation
import XCTest
@testable import PlumeCore

/// A decoded tape (deduplicated, pruned, reordered by depth and kind) gives, bit for bit, what the
/// recorded entries give when evaluated one after another, and fails where one of their guards fails.
final class TapeTests: XCTestCase {
    func testOpCodesAreTheRecorders() {
        let pairs: [(Tape.Op, Int32)] = [
            (.add, Int32(PLUME_OP_ADD)), (.sub, Int32(PLUME_OP_SUB)), (.mul, Int32(PLUME_OP_MUL)), (.div, Int32(PLUME_OP_DIV)),
            (.unm, Int32(PLUME_OP_UNM)), (.ltTrue, Int32(PLUME_OP_LT_T)), (.ltFalse, Int32(PLUME_OP_LT_F)),
            (.leTrue, Int32(PLUME_OP_LE_T)), (.leFalse, Int32(PLUME_OP_LE_F)), (.eqTrue, Int32(PLUME_OP_EQ_T)),
            (.eqFalse, Int32(PLUME_OP_EQ_F)), (.finiteTrue, Int32(PLUME_OP_FINITE_T)), (.finiteFalse, Int32(PLUME_OP_FINITE_F)),
            (.integerTrue, Int32(PLUME_OP_INT_T)), (.integerFalse, Int32(PLUME_OP_INT_F)),
        ]
        for (op, code) in pairs { XCTAssertEqual(Int32(op.rawValue), code, "\(op)") }
    }

    /// The recorded entries evaluated in order (slots: constants, inputs, entries); nil when a guard fails.
    private func naive(op: [UInt8], a: [Int32], b: [Int32], constants: [Double], outputs: [Int32], input: [Double]) -> [Double]? {
        var slots = constants + input
        func value(_ c: Int32) -> Double { c > 0 ? slots[constants.count + Int(c) - 1] : (c < 0 ? slots[Int(-c) - 1] : 0) }
        for i in op.indices {
            let x = value(a[i]), y = value(b[i])
            var r = 0.0
            switch Tape.Op(rawValue: op[i])! {
            case .add: r = x + y
            case .sub: r = x - y
            case .mul: r = x * y
            case .div: r = x / y
            case .unm: r = -x
            case .ltTrue: guard x < y else { return nil }
            case .ltFalse: guard !(x < y) else { return nil }
            case .leTrue: guard x <= y else { return nil }
            case .leFalse: guard !(x <= y) else { return nil }
            case .eqTrue: guard x == y else { return nil }
            case .eqFalse: guard x != y else { return nil }
            case .finiteTrue: guard x.isFinite else { return nil }
            case .finiteFalse: guard !x.isFinite else { return nil }
            case .integerTrue: guard x == x.rounded(.down) else { return nil }
            case .integerFalse: guard x != x.rounded(.down) else { return nil }
            }
            slots.append(r)
        }
        return outputs.map(value)
    }

    func testDecodedTapesReplayTheRecordedEntries() {
        var rng = SystemRandomNumberGenerator()
        var replayed = 0, refused = 0
        for _ in 0..<500 {
            let inputs = Int.random(in: 1...4, using: &rng)
            let recorded = (0..<inputs).map { _ in Double(Int.random(in: 1...50, using: &rng)) / 4 }
            var op: [UInt8] = [], a: [Int32] = [], b: [Int32] = [], constants: [Double] = []
            var values = recorded                                    // the nodes' values while recording
            var numbers = Array(0..<inputs)                          // nodes holding a number (not guards)
            func pick() -> (Int32, Double) {
                if Int.random(in: 0..<4, using: &rng) == 0 {         // a plain number: a new constant
                    let k = Double(Int.random(in: -3...9, using: &rng)) / 2
                    constants.append(k)
                    return (-Int32(constants.count), k)
                }
                let n = numbers.randomElement(using: &rng)!
                return (Int32(n + 1), values[n])
            }
            for _ in 0..<Int.random(in: 1...60, using: &rng) {
                let (x, xv) = pick(), (y, yv) = pick()
                let kind = UInt8.random(in: 1...10, using: &rng)
                if kind <= 5 {
                    let v: Double = [xv + yv, xv - yv, xv * yv, xv / yv, -xv][Int(kind) - 1]
                    op.append(kind); a.append(x); b.append(kind == 5 ? 0 : y)
                    numbers.append(values.count)
                    values.append(v)
                } else {
                    // a comparison, kept with the outcome it had (its node holds no number)
                    let outcome: [Bool] = [xv < yv, xv <= yv, xv == yv, xv.isFinite, xv == xv.rounded(.down)]
                    let which = Int(kind) - 6
                    op.append(UInt8(6 + 2 * which) + (outcome[which] ? 0 : 1)); a.append(x); b.append(which >= 3 ? 0 : y)
                    values.append(0)
                }
            }
            let outputs = (0..<Int.random(in: 1...4, using: &rng)).map { _ in pick().0 }
            guard let tape = Tape(op: op, a: a, b: b, constants: constants, outputs: outputs, groups: [], inputs: inputs) else {
                return XCTFail("a well-formed tape was refused")
            }
            let bits = { (r: [Double]?) in r.map { $0.map(\.bitPattern) } }
            let atRecording = tape.run(recorded)
            XCTAssertNotNil(atRecording, "the recorded inputs pass every guard")
            XCTAssertEqual(bits(atRecording), bits(naive(op: op, a: a, b: b, constants: constants, outputs: outputs, input: recorded)))
            for _ in 0..<5 {
                let other = recorded.map { $0 + Double(Int.random(in: -8...8, using: &rng)) / 4 }
                let expected = naive(op: op, a: a, b: b, constants: constants, outputs: outputs, input: other)
                let got = tape.run(other)
                XCTAssertEqual(bits(got), bits(expected))
                if got == nil { refused += 1 } else { replayed += 1 }
            }
        }
        XCTAssertGreaterThan(replayed, 100)
        XCTAssertGreaterThan(refused, 100)
    }

    func testMalformedRecordingsAreRefused() {
        XCTAssertNil(Tape(op: [3], a: [2], b: [-1], constants: [2], outputs: [1], groups: [], inputs: 1))   // a later node
        XCTAssertNil(Tape(op: [3], a: [1], b: [-2], constants: [2], outputs: [1], groups: [], inputs: 1))   // no such constant
        XCTAssertNil(Tape(op: [16], a: [1], b: [1], constants: [], outputs: [1], groups: [], inputs: 1))    // no such kind
        XCTAssertNil(Tape(op: [3], a: [1], b: [1], constants: [], outputs: [], groups: [], inputs: 1))      // no outputs
        XCTAssertNil(Tape(op: [3], a: [1], b: [1], constants: [], outputs: [3], groups: [], inputs: 1))     // output past the end
    }
}
