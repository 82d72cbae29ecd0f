import Foundation
import LuaHost

/// Text views of packs for `plume coefficients`.
public enum CoefficientListing {
    /// Every leaf value (or the one asked for) with unit, layer and source.
    public static func show(_ c: ResolvedCoefficients, key: String?) -> String {
        var out = "pack \(c.packID) \(c.pack.hash) (\(c.pack.file))\n"
        var leaves: [(String, LuaValue)] = []
        func walk(_ v: LuaValue, _ path: String) {
            if case .object(let m) = v { for (k, x) in m { walk(x, path + "." + k) } } else { leaves.append((path, v)) }
        }
        for (k, v) in c.values { walk(v, k) }
        if let key { leaves = leaves.filter { $0.0 == key || $0.0.hasPrefix(key + ".") } }
        for (p, v) in leaves {
            let o = c.origin(of: p)
            out += "\(p) = \(Explanation.show(v)) [\(c.unit(of: p))]  \(o.layer.rawValue) \(o.label): \(o.source)\n"
        }
        if leaves.isEmpty, let key { out += "no coefficient '\(key)' in pack \(c.packID)\n" }
        return out
    }

    /// A pack by id (searched in every model's packs/ folder) or by path.
    public static func pack(_ name: String, repository: ModelRepository) throws -> CoefficientPack {
        if name.hasSuffix(".yaml") { return try CoefficientPack(url: URL(fileURLWithPath: name)) }
        for id in repository.modelIDs() {
            if let f = repository.packFile(name, chain: [id]) { return try CoefficientPack(url: f) }
        }
        throw PlumeError.config("no pack '\(name)' in \(display(repository.root))/*/packs")
    }

    public static func diff(_ a: CoefficientPack, _ b: CoefficientPack) -> String {
        func leaves(_ p: CoefficientPack) -> [String: LuaValue] {
            var out: [String: LuaValue] = [:]
            func walk(_ v: LuaValue, _ path: String) {
                if case .object(let m) = v { for (k, x) in m { walk(x, path + "." + k) } } else { out[path] = v }
            }
            for e in p.entries { walk(e.value, e.key) }
            return out
        }
        let la = leaves(a), lb = leaves(b)
        var out = "--- \(a.id) \(a.hash)\n+++ \(b.id) \(b.hash)\n"
        var added = 0, removed = 0, changed = 0
        for k in Set(la.keys).union(lb.keys).sorted() {
            switch (la[k], lb[k]) {
            case (nil, let y?): out += "+ \(k) = \(Explanation.show(y))\n"; added += 1
            case (let x?, nil): out += "- \(k) = \(Explanation.show(x))\n"; removed += 1
            case (let x?, let y?) where x != y: out += "~ \(k): \(Explanation.show(x)) -> \(Explanation.show(y))\n"; changed += 1
            default: break
            }
        }
        for e in a.entries { if let f = b.entry(e.key), f.unit != e.unit { out += "~ \(e.key) unit: \(e.unit) -> \(f.unit)\n"; changed += 1 } }
        out += "\(added) added, \(removed) removed, \(changed) changed\n"
        return out
    }
}
