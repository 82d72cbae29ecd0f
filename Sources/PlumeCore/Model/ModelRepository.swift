import Foundation

/// The folder of model folders (`Models/`): finds model scripts, helper modules and packs on disk.
public struct ModelRepository: Sendable {
    /// Folders searched in order; a model id found in an earlier one hides the same id in later ones,
    /// so a client's folder can hold variants that extend the shipped models.
    public let roots: [URL]
    public var root: URL { roots[0] }

    public init(root: URL) {
        roots = [root.standardizedFileURL]
    }

    public init(roots: [URL]) {
        precondition(!roots.isEmpty)
        self.roots = roots.map(\.standardizedFileURL)
    }

    /// A search path (`A:B`) of model folders: the explicit one, else PLUME_MODELS, else `./Models`.
    public static func discover(explicit: String? = nil) -> ModelRepository {
        let env = ProcessInfo.processInfo.environment["PLUME_MODELS"]
        let spec = explicit ?? ((env?.isEmpty == false) ? env! : "Models")
        let parts = spec.split(separator: ":").map { URL(fileURLWithPath: String($0)) }
        return ModelRepository(roots: parts.isEmpty ? [URL(fileURLWithPath: "Models")] : parts)
    }

    public func folder(of id: String) -> URL {
        for r in roots where FileManager.default.fileExists(atPath: r.appendingPathComponent(id).appendingPathComponent("model.lua").path) {
            return r.appendingPathComponent(id)
        }
        return root.appendingPathComponent(id)
    }

    /// Model ids: folders holding a model.lua, sorted.
    public func modelIDs() -> [String] {
        let fm = FileManager.default
        var ids = Set<String>()
        for r in roots {
            guard let names = try? fm.contentsOfDirectory(atPath: r.path) else { continue }
            for n in names where fm.fileExists(atPath: r.appendingPathComponent(n).appendingPathComponent("model.lua").path) { ids.insert(n) }
        }
        return ids.sorted()
    }

    /// Versions other than the default, from `model-<version>.lua` files.
    public func alternateVersions(of id: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder(of: id).path)) ?? []
        return names.compactMap { n -> String? in
            guard n.hasPrefix("model-"), n.hasSuffix(".lua") else { return nil }
            return String(n.dropFirst(6).dropLast(4))
        }.sorted()
    }

    static func isSafeName(_ s: String) -> Bool {
        !s.isEmpty && !s.contains("..") && !s.hasPrefix(".")
            && s.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == "." }
    }

    /// The script of model `id` at `version` (nil: model.lua), with its display path.
    public func script(id: String, version: String?) throws -> (source: String, path: String) {
        guard Self.isSafeName(id) else { throw PlumeError.config("invalid model id '\(id)'") }
        let dir = folder(of: id)
        guard FileManager.default.fileExists(atPath: dir.appendingPathComponent("model.lua").path) else {
            let known = modelIDs()
            throw PlumeError.config("unknown model '\(id)' in \(roots.map(display).joined(separator: ":"))" + (known.isEmpty ? "" : " (known: \(known.joined(separator: ", ")))"))
        }
        var file = dir.appendingPathComponent("model.lua")
        if let version, Self.isSafeName(version) {
            let alt = dir.appendingPathComponent("model-\(version).lua")
            if FileManager.default.fileExists(atPath: alt.path) { file = alt }
        }
        let source = try String(contentsOf: file, encoding: .utf8)
        return (source, display(file))
    }

    /// A helper module `name` (dots are folders) of model `id`.
    public func module(id: String, name: String) -> (source: String, path: String)? {
        guard Self.isSafeName(id), Self.isSafeName(name) else { return nil }
        let file = folder(of: id).appendingPathComponent(name.replacingOccurrences(of: ".", with: "/") + ".lua")
        guard let source = try? String(contentsOf: file, encoding: .utf8) else { return nil }
        return (source, display(file))
    }

    /// The pack file `packID` searched in the folders of `chain` (the model first, then its ancestors).
    public func packFile(_ packID: String, chain: [String]) -> URL? {
        guard Self.isSafeName(packID) else { return nil }
        for id in chain {
            let f = folder(of: id).appendingPathComponent("packs").appendingPathComponent(packID + ".yaml")
            if FileManager.default.fileExists(atPath: f.path) { return f }
        }
        return nil
    }

    /// Every file whose content defines the model's logic (scripts and helper modules) for hashing.
    public func sourceFiles(chain: [String]) -> [URL] {
        var out: [URL] = []
        for id in chain {
            let dir = folder(of: id)
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).filter { $0.hasSuffix(".lua") }.sorted()
            out += names.map { dir.appendingPathComponent($0) }
        }
        return out
    }
}

/// Paths shown to users: relative to the working directory when below it.
public func display(_ url: URL) -> String {
    let path = url.standardizedFileURL.path
    let cwd = FileManager.default.currentDirectoryPath + "/"
    return path.hasPrefix(cwd) ? String(path.dropFirst(cwd.count)) : path
}

/// Errors of configuration and input files (not rows): they stop a command with a clear message.
public enum PlumeError: Error, CustomStringConvertible {
    case config(String)
    case model(String)

    public var description: String {
        switch self {
        case .config(let m): return m
        case .model(let m): return m
        }
    }
}
