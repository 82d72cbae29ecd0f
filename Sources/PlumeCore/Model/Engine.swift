import Foundation
import LuaHost

/// Loads models, packs and overlays and binds them: what `test`, `run`, `explain` and `check` share.
/// One engine per thread (it owns a Lua state).
public final class Engine {
    public let runtime: ModelRuntime
    public var repository: ModelRepository { runtime.repository }
    private var packs: [String: CoefficientPack] = [:]

    public init(repository: ModelRepository, grid: GridLookup, limits: RuntimeLimits = .standard) throws {
        runtime = try ModelRuntime(repository: repository, grid: grid, limits: limits)
    }

    public func model(_ id: String, version: String? = nil) throws -> LoadedModel {
        try runtime.load(id: id, version: version)
    }

    /// The pack `id` as `model` finds it (its folder, then its ancestors').
    public func pack(_ id: String, for model: LoadedModel) throws -> CoefficientPack {
        guard let url = repository.packFile(id, chain: model.info.chain) else {
            throw PlumeError.config("coefficient pack '\(id)' not found for model \(model.info.id) (looked in \(model.info.chain.map { "Models/\($0)/packs" }.joined(separator: ", ")))")
        }
        if let p = packs[url.path] { return p }
        let p = try CoefficientPack(url: url)
        packs[url.path] = p
        return p
    }

    /// The model's pack (default: its first) with overlays and `--set` values applied. A pack the model
    /// does not list is a configuration error, raised before any row is read.
    public func coefficients(for model: LoadedModel, pack packID: String?, overlays: [Overlay] = [], sets: [String] = []) throws -> ResolvedCoefficients {
        guard let id = packID ?? model.info.defaultPack else {
            throw PlumeError.config("model \(model.info.id) lists no coefficient pack")
        }
        guard model.info.packs.contains(id) else {
            throw PlumeError.config("model \(model.info.id) does not accept coefficient pack \(id) (accepted: \(model.info.packs.joined(separator: ", ")))")
        }
        let pack = try self.pack(id, for: model)
        // A pack serves the models it names and every variant that extends one of them.
        if !pack.models.isEmpty, !model.info.chain.contains(where: pack.models.contains) {
            throw PlumeError.config("model \(model.info.id) does not accept coefficient pack \(id) (the pack serves \(pack.models.joined(separator: ", ")))")
        }
        // Declared coefficients: the pack must have each, in the unit the model expects.
        for need in model.info.coefficients {
            let at = need.location.map { "\($0): " } ?? ""
            guard let entry = pack.entry(need.name) else {
                throw PlumeError.config("\(at)model \(model.info.id) needs coefficient '\(need.name)', which pack \(id) (\(pack.file)) lacks")
            }
            if let unit = need.unit, unit != entry.unit {
                throw PlumeError.config("\(at)coefficient '\(need.name)': model \(model.info.id) expects unit '\(unit)', pack \(id) gives '\(entry.unit)' (\(pack.file):\(entry.line))")
            }
        }
        var resolved = ResolvedCoefficients(pack: pack)
        for o in overlays { try o.apply(to: &resolved) }
        for s in sets { try resolved.applySet(s) }
        return resolved
    }

    public func bind(_ model: LoadedModel, _ coefficients: ResolvedCoefficients) throws -> BoundModel {
        try runtime.bind(model, coefficients: coefficients)
    }

    /// sha256 over the model's Lua sources (its folder's and its ancestors'), in a fixed order.
    public func modelHash(_ model: LoadedModel) -> String {
        var hasher = SHA256.Hasher()
        for url in repository.sourceFiles(chain: model.info.chain) {
            hasher.update(Array(url.lastPathComponent.utf8) + [0])
            if let data = try? Data(contentsOf: url) { hasher.update(data) }
            hasher.update([0])
        }
        return "sha256:" + hasher.finish()
    }
}
