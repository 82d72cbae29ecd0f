import Foundation
import LuaHost
import CLuaShim

/// The outcome of one row.
public enum RowOutcome: Sendable {
    /// `values` are the included categories in the model's order.
    case ok(total: Double, values: [Double])
    /// The model rejected the row (bad input); `message` names the field.
    case rejected(message: String, path: String?)
    /// The script failed (a bug or a limit): `message` has file:line.
    case failed(message: String, traceback: String)
}

/// A model definition loaded in one runtime.
public struct LoadedModel {
    public let ref: LuaRef
    public let info: ModelInfo
}

/// A definition bound to resolved coefficients, ready to evaluate rows.
public struct BoundModel {
    public let ref: LuaRef
    public let model: LoadedModel
    public let packID: String
}

/// Limits applied to every model state.
public struct RuntimeLimits: Sendable {
    public var memoryBytes: Int
    public var secondsPerCall: Double
    public static let standard = RuntimeLimits(memoryBytes: 1 << 30, secondsPerCall: 20)
    public init(memoryBytes: Int, secondsPerCall: Double) {
        self.memoryBytes = memoryBytes
        self.secondsPerCall = secondsPerCall
    }
}

/// One Lua state running Plume's model runtime (Resources/prelude.lua). One per thread.
public final class ModelRuntime {
    public let lua: LuaState
    public let repository: ModelRepository
    public let grid: GridLookup
    private let runtime: LuaRef
    private let fnDefine, fnCheck, fnDescribe, fnBind, fnEval, fnTracing, fnRecording, fnTraces, fnInputs, fnAccessed, fnWatch, fnRecord: LuaRef
    /// With `groupFields` set, the text of each field for the last row that evaluated ok: the value the
    /// model traced under that name, else the row's field after the model normalised it.
    public private(set) var lastGroupValues: [String] = []
    private var groupCount = 0
    private var loaded: [String: LoadedModel] = [:]
    /// Grid lookups made by rows (source of each), for explain.
    public private(set) var lastGridSource: String?

    public init(repository: ModelRepository, grid: GridLookup, limits: RuntimeLimits = .standard) throws {
        self.repository = repository
        self.grid = grid
        lua = try LuaState(memoryLimit: limits.memoryBytes, timeLimit: limits.secondsPerCall)
        guard let url = Bundle.module.url(forResource: "prelude", withExtension: "lua"),
              let prelude = try? String(contentsOf: url, encoding: .utf8) else {
            throw PlumeError.config("Plume's model runtime (prelude.lua) is missing from the build")
        }
        let repo = repository
        guard let recorder = lua.recorder(limit: Tape.maxSlots) else {
            throw PlumeError.config("out of memory: cannot allocate the replay recorder")
        }
        let hooks = lua.table([
            ("read_model", lua.function { args in
                guard let id = args.first?.stringValue else { return [.nil, .string("model id must be a string")] }
                do {
                    let (src, path) = try repo.script(id: id, version: args.count > 1 ? args[1].stringValue : nil)
                    return [.string(src), .string(path)]
                } catch {
                    return [.nil, .string("\(error)")]
                }
            }),
            ("read_module", lua.function { args in
                guard let id = args.first?.stringValue, args.count > 1, let name = args[1].stringValue else {
                    return [.nil, .string("require: module name must be a string")]
                }
                if let (src, path) = repo.module(id: id, name: name) { return [.string(src), .string(path)] }
                return [.nil, .string("module '\(name)' not found (a model can require \"plume\" and the .lua files of its own folder)")]
            }),
            ("grid", lua.function { [grid] args in
                let country = args.first?.stringValue
                let region = args.count > 1 ? args[1].stringValue : nil
                let utc = args.count > 2 ? args[2].stringValue : nil
                let r = grid.intensity(country: country, region: region, utc: utc)
                return [.number(r.value), .string(r.source)]
            }),
            ("annual", lua.function { [grid] args in
                guard let c = args.first?.stringValue, let v = grid.annual(country: c) else { return [.nil] }
                return [.number(v)]
            }),
            ("keys", lua.orderedKeysFunction()),
            ("kind", lua.kindFunction()),
            ("traceback", lua.tracebackFunction()),
            ("where", lua.whereFunction()),
            ("recorder", recorder),
        ])
        let lua = self.lua
        let chunk = try lua.load(prelude, chunkName: "plume/prelude.lua")
        let runtime = try lua.invokeForRef(chunk, [.ref(hooks)])
        self.runtime = runtime
        let f = { (name: String) throws -> LuaRef in
            guard let r = lua.field(runtime, name) else { throw PlumeError.config("prelude lacks \(name)") }
            return r
        }
        fnDefine = try f("define"); fnCheck = try f("check"); fnDescribe = try f("describe"); fnBind = try f("bind")
        fnEval = try f("eval"); fnTracing = try f("set_tracing"); fnRecording = try f("set_recording")
        fnTraces = try f("traces"); fnInputs = try f("inputs"); fnAccessed = try f("take_accessed")
        fnWatch = try f("set_watch"); fnRecord = try f("record")
        if let null = lua.field(runtime, "null") { lua.setNullSentinel(null) }
    }

    /// Loads (once per runtime) model `id` at `version` (nil: its default version).
    public func load(id: String, version: String? = nil) throws -> LoadedModel {
        let key = id + "@" + (version ?? "")
        if let m = loaded[key] { return m }
        let def: LuaRef
        do {
            def = try lua.invokeForRef(fnDefine, [.value(.string(id)), .value(version.map { .string($0) } ?? .nil)])
        } catch let e as LuaError {
            throw PlumeError.model(e.message)
        }
        let info = ModelInfo(try lua.invoke(fnDescribe, [.ref(def)]).first ?? .nil)
        if let version, info.version != version {
            let known = [info.version] + repository.alternateVersions(of: id)
            throw PlumeError.config("model \(id) has no version \(version) (available: \(known.joined(separator: ", ")))")
        }
        let m = LoadedModel(ref: def, info: info)
        loaded[key] = m
        return m
    }

    /// Static problems of a definition, each with file:line where known.
    public func check(_ model: LoadedModel) throws -> [String] {
        guard case .array(let a)? = try lua.invoke(fnCheck, [.ref(model.ref)]).first else { return [] }
        return a.compactMap(\.stringValue)
    }

    public func bind(_ model: LoadedModel, coefficients: ResolvedCoefficients) throws -> BoundModel {
        let r = try lua.invokeForRef(fnBind, [.ref(model.ref), .value(coefficients.luaValue), .value(.string(coefficients.packID))])
        return BoundModel(ref: r, model: model, packID: coefficients.packID)
    }

    public func release(_ bound: BoundModel) { lua.release(bound.ref) }

    public var tracing = false {
        didSet { _ = try? lua.invoke(fnTracing, [.value(.boolean(tracing))]) }
    }

    public var recording = false {
        didSet { _ = try? lua.invoke(fnRecording, [.value(.boolean(recording))]) }
    }

    public func setCoverage(_ on: Bool) { lua.setCoverage(on) }

    /// Fields a run groups by (dotted paths); see `lastGroupValues`.
    public var groupFields: [String] = [] {
        didSet {
            groupCount = groupFields.count
            _ = try? lua.invoke(fnWatch, [.value(.array(groupFields.map { .string($0) }))])
        }
    }

    /// Evaluates one row (a `.object`).
    public func evaluate(_ bound: BoundModel, row: LuaValue) -> RowOutcome {
        let base = lua.top
        lua.push(ref: fnEval)
        lua.push(ref: bound.ref)
        lua.push(row)
        return finish(base: base, nargs: 2)
    }

    /// Evaluates the row `pushRow` pushes onto the stack (the fast path: no Swift row value).
    public func evaluate(_ bound: BoundModel, pushRow: () throws -> Void) throws -> RowOutcome {
        let base = try pushCall(fnEval, bound, pushRow)
        return finish(base: base, nargs: 2)
    }

    /// Pushes `function`, the bound model and the row; returns the stack top from before (restored when
    /// pushing the row throws).
    private func pushCall(_ function: LuaRef, _ bound: BoundModel, _ pushRow: () throws -> Void) throws -> Int32 {
        let base = lua.top
        lua.push(ref: function)
        lua.push(ref: bound.ref)
        do { try pushRow() } catch {
            lua.top = base
            throw error
        }
        return base
    }

    /// What recording a row gave: a tape, a script that cannot be taped (`broken`), or a row that did
    /// not evaluate ok (run it with `evaluate` for its outcome).
    enum Recording {
        case tape(Tape)
        case broken
        case notOK
    }

    /// A Lua list of the dotted paths of `columns` (index i+1 = column i), for `record`.
    func pathList(_ columns: [String]) -> LuaRef {
        pathList(columns.map { c in c.split(separator: ".").map { .string(String($0)) } })
    }

    /// A Lua list of paths given as keys (strings for objects, integers for lists).
    func pathList(_ paths: [[LuaValue]]) -> LuaRef { lua.ref(.array(paths.map { .array($0) })) }

    /// Evaluates the pushed row with the numbers of `numberColumns` (0-based, into `paths`) tracked.
    func record(_ bound: BoundModel, paths: LuaRef, numberColumns: [Int32], pushRow: () throws -> Void) throws -> Recording {
        let base = try pushCall(fnRecord, bound, pushRow)
        lua.push(ref: paths)
        lua.push(.array(numberColumns.map { .integer(Int64($0) + 1) }))
        do {
            try lua.protectedCall(nargs: 4, nresults: LUA_MULTRET)
        } catch {
            lua.top = base
            return .notOK
        }
        defer { lua.top = base }
        switch lua.string(at: base + 1) {
        case "tape":
            let groups = (0..<groupCount).map { lua.string(at: base + 3 + Int32($0)) ?? "" }
            guard let outs = lua.numbers(at: base + 2), case let codes = outs.compactMap({ Int32(exactly: $0) }),
                  codes.count == outs.count,                       // every output an operand code
                  let t = lua.withRecordedTape({ op, a, b, k in
                      Tape(op: Array(op), a: Array(a), b: Array(b), constants: Array(k), outputs: codes, groups: groups,
                           inputs: numberColumns.count)
                  })
            else { return .broken }
            return .tape(t)
        case "broken": return .broken
        default: return .notOK
        }
    }

    /// Reads R.eval's results from the stack.
    func finish(base: Int32, nargs: Int32) -> RowOutcome {
        do {
            try lua.protectedCall(nargs: nargs, nresults: LUA_MULTRET)
        } catch let e as LuaError {
            lua.top = base
            switch e {
            case .runtime(let m, let tb, _): return .failed(message: m, traceback: tb)
            default: return .failed(message: e.description, traceback: "")
            }
        } catch {
            lua.top = base
            return .failed(message: "\(error)", traceback: "")
        }
        defer { lua.top = base }
        let status = lua.string(at: base + 1)
        switch status {
        case "ok":
            let n = lua.top - base
            let total = lua.number(at: base + 2) ?? .nan
            let valueCount = n - 2 - Int32(groupCount)
            var values: [Double] = []
            values.reserveCapacity(Int(max(valueCount, 0)))
            if valueCount > 0 { for i in 3...(2 + valueCount) { values.append(lua.number(at: base + i) ?? .nan) } }
            if groupCount > 0 {
                lastGroupValues = (0..<Int32(groupCount)).map { lua.string(at: base + 3 + valueCount + $0) ?? "" }
            }
            return .ok(total: total, values: values)
        case "reject":
            return .rejected(message: lua.string(at: base + 2) ?? "rejected", path: lua.string(at: base + 3))
        default:
            return .failed(message: lua.string(at: base + 2) ?? "model error", traceback: lua.string(at: base + 3) ?? "")
        }
    }

    /// Traced values of the last row, in the order first traced.
    public func traces() -> [(String, LuaValue)] {
        guard case .array(let a)? = try? lua.invoke(fnTraces, []).first else { return [] }
        return a.compactMap { pair in
            guard case .array(let p) = pair, let name = p.first?.stringValue else { return nil }
            return (name, p.count > 1 ? p[1] : .nil)
        }
    }

    /// Declared inputs of the last traced row: name, value, INPUT or DEFAULT.
    public func inputs() -> [(name: String, value: LuaValue, origin: String)] {
        guard case .array(let a)? = try? lua.invoke(fnInputs, []).first else { return [] }
        return a.compactMap { e in
            guard let name = e["name"]?.stringValue else { return nil }
            return (name, e["value"] ?? .nil, e["origin"]?.stringValue ?? "INPUT")
        }
    }

    /// Coefficient paths read since the last call.
    public func takeAccessed() -> [String] {
        guard case .array(let a)? = try? lua.invoke(fnAccessed, []).first else { return [] }
        return a.compactMap(\.stringValue)
    }
}
