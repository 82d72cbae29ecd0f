import Foundation
import LuaHost

/// `plume check`: loads a model with every version and pack it declares and lists each problem.
public enum ModelCheck {
    public struct Findings: Sendable {
        public var errors: [String] = []
        /// Worth a look, not wrong: e.g. pack keys no script names.
        public var notes: [String] = []
    }

    public static func run(engine: Engine, id: String) -> Findings {
        var problems: [String] = []
        var notes: [String] = []
        let versions: [String?] = [nil] + engine.repository.alternateVersions(of: id).map { Optional($0) }
        for v in versions {
            let model: LoadedModel
            do { model = try engine.model(id, version: v) } catch {
                problems.append("\(error)")
                continue
            }
            do { problems += try engine.runtime.check(model) } catch { problems.append("\(error)") }
            let declared = Set(model.info.declared.map(\.key))
            for p in model.info.packs {
                do {
                    let c = try engine.coefficients(for: model, pack: p)
                    // A pack key no model file mentions is likely a typo or dead data.
                    let sources = engine.repository.sourceFiles(chain: model.info.chain)
                        .compactMap { try? String(contentsOf: $0, encoding: .utf8) }.joined(separator: "\n")
                    for e in c.pack.entries where !sources.contains(e.key) && !e.key.hasPrefix("_") {
                        notes.append("\(c.pack.file):\(e.line): note: coefficient '\(e.key)' is never named by \(model.info.id)'s scripts (unused)")
                    }
                    _ = try engine.bind(model, c)
                } catch {
                    problems.append("\(error)")
                }
            }
            if declared.isEmpty { problems.append("\(model.info.files.first ?? id): model declares no category") }
            if engine.repository.packFile(model.info.defaultPack ?? "", chain: model.info.chain) == nil {
                problems.append("\(model.info.files.first ?? id): default pack '\(model.info.defaultPack ?? "")' not found")
            }
        }
        return Findings(errors: problems, notes: notes)
    }
}
