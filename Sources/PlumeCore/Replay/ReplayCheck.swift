import Foundation
import LuaHost

/// `plume test`'s check of the replay contract on one vector case (Docs/DSL.md, section 6): the case is
/// recorded, its tape replayed on the case's own numbers and on changed ones, and every replay whose guards
/// hold must give the script's bits for the same numbers.
enum ReplayCheck {
    struct Result {
        var failures: [String] = []
        /// Variants whose guards held (so the bits were compared).
        var replays = 0
        var recorded = false
    }

    static func run(_ runtime: ModelRuntime, _ bound: BoundModel, input: LuaValue, categories: [String]) -> Result {
        var result = Result()
        let row = floats(input)                 // CSV rows hold doubles, and so do tapes
        var leaves: [[LuaValue]] = [], values: [Double] = []
        numbers(row, path: [], &leaves, &values)
        let paths = runtime.pathList(leaves)
        defer { runtime.lua.release(paths) }
        guard case .tape(let tape)? = try? runtime.record(bound, paths: paths, numberColumns: (0..<leaves.count).map { Int32($0) },
                                                          pushRow: { runtime.lua.push(row) }) else { return result }
        result.recorded = true
        let names = ["total"] + categories
        for variant in variants(values) {
            guard let got = tape.run(variant) else { continue }
            result.replays += 1
            let shown = variant.map(RowFormatter.number).joined(separator: ", ")
            guard case .ok(let t2, let v2) = runtime.evaluate(bound, row: replacing(row, leaves: leaves, with: variant)) else {
                result.failures.append("replay: the tape replays the numbers [\(shown)] but the script does not evaluate them (Docs/DSL.md, section 6)")
                break
            }
            if let d = difference(replayed: got, script: [t2] + v2, names: names) {
                result.failures.append("replay: with the numbers [\(shown)] the tape gives \(d.name) = \(d.replayed) but the "
                    + "script gives \(d.script): the model uses a number in a way a tape cannot see (Docs/DSL.md, section 6)")
                break
            }
        }
        return result
    }

    /// The first output (total, then the categories, named by `names`) whose bits differ, as text.
    static func difference(replayed a: [Double], script b: [Double], names: [String]) -> (name: String, replayed: String, script: String)? {
        guard let i = a.indices.first(where: { $0 >= b.count || a[$0].bitPattern != b[$0].bitPattern }) else { return nil }
        return (names[min(i, names.count - 1)], RowFormatter.number(a[i]), i < b.count ? RowFormatter.number(b[i]) : "nothing")
    }

    static func floats(_ v: LuaValue) -> LuaValue {
        switch v {
        case .integer(let i): return .number(Double(i))
        case .array(let a): return .array(a.map(floats))
        case .object(let o): return .object(o.map { ($0.0, floats($0.1)) })
        default: return v
        }
    }

    /// Paths (object keys and list positions) and values of every number in `v`, in order.
    static func numbers(_ v: LuaValue, path: [LuaValue], _ leaves: inout [[LuaValue]], _ values: inout [Double]) {
        switch v {
        case .number(let d): leaves.append(path); values.append(d)
        case .array(let a): for (i, x) in a.enumerated() { numbers(x, path: path + [.integer(Int64(i + 1))], &leaves, &values) }
        case .object(let o): for (k, x) in o { numbers(x, path: path + [.string(k)], &leaves, &values) }
        default: break
        }
    }

    static func replacing(_ v: LuaValue, leaves: [[LuaValue]], with values: [Double]) -> LuaValue {
        var out = v
        for (path, d) in zip(leaves, values) { out = set(out, path[...], .number(d)) }
        return out
    }

    private static func set(_ v: LuaValue, _ path: ArraySlice<LuaValue>, _ new: LuaValue) -> LuaValue {
        guard let head = path.first else { return new }
        switch (v, head) {
        case (.array(var a), .integer(let i)):
            a[Int(i) - 1] = set(a[Int(i) - 1], path.dropFirst(), new)
            return .array(a)
        case (.object(var o), .string(let k)):
            if let j = o.firstIndex(where: { $0.0 == k }) { o[j].1 = set(o[j].1, path.dropFirst(), new) }
            return .object(o)
        default: return v
        }
    }

    /// The case's own numbers (a recording must reproduce its own row), all doubled, halved, tripled; and
    /// each of the first three alone plus one, and set to zero.
    static func variants(_ values: [Double]) -> [[Double]] {
        var out = [values, values.map { $0 * 2 }, values.map { $0 * 0.5 }, values.map { $0 * 3 }]
        for i in values.indices.prefix(3) {
            var plus = values; plus[i] += 1; out.append(plus)
            var zero = values; zero[i] = 0; out.append(zero)
        }
        return out
    }
}
