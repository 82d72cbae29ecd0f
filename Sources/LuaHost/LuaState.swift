import CLuaShim
import Foundation

/// A registry reference to a Lua value held by the host.
public struct LuaRef: Hashable, Sendable {
    public let id: Int32
}

/// A Swift function callable from Lua. It receives the arguments and returns the results; a thrown
/// error reaches the script as a Lua error (raised by the C trampoline after Swift has returned).
public typealias LuaFunction = ([LuaValue]) throws -> [LuaValue]

final class CallbackBox {
    let body: LuaFunction
    init(_ body: @escaping LuaFunction) { self.body = body }
}

/// An error a Swift callback throws to hand a script a specific error value.
public struct LuaCallbackError: Error {
    public let value: LuaValue
    /// A message gets the `chunk:line: ` of the calling Lua line, as errors of Lua's own C functions do;
    /// a value is raised as is.
    let addsPosition: Bool
    public init(_ message: String) { value = .string(message); addsPosition = true }
    public init(value: LuaValue) { self.value = value; addsPosition = false }
}

/// One sandboxed Lua 5.4 state with a memory cap and a per-call CPU deadline. Not thread-safe: create
/// one per thread, inside the thread that uses it.
public final class LuaState {
    public let L: OpaquePointer
    public let memoryLimit: Int
    public let timeLimit: Double
    private var boxes: [CallbackBox] = []
    private let slot: WatchdogSlot
    private let timeLimitNanos: UInt64
    /// Protected calls in progress: more than one when a Swift callback calls back into Lua.
    private var callDepth = 0

    /// - Parameters:
    ///   - memoryLimit: bytes the state may allocate (0 = unlimited).
    ///   - timeLimit: seconds one call may run before it is interrupted (0 = unlimited).
    public init(memoryLimit: Int = 512 << 20, timeLimit: Double = 10) throws {
        guard let L = plume_open(memoryLimit > 0 ? memoryLimit : 0) else {
            throw LuaError.memoryLimit(bytes: memoryLimit)
        }
        self.L = L
        self.memoryLimit = memoryLimit
        self.timeLimit = timeLimit
        self.timeLimitNanos = timeLimit > 0 ? UInt64(timeLimit * 1e9) : 0
        slot = WatchdogSlot(L)
        if timeLimit > 0 { Watchdog.shared.add(slot) }
        installReadOnlyHelper()
    }

    deinit {
        let L = self.L
        slot.close { plume_close(L) }
    }

    public var memoryUsed: Int { Int(plume_memory_used(L)) }

    // MARK: Loading and calling

    /// Compiles source text (bytecode is refused) under `chunkName`, so errors read `model.lua:12: ...`.
    public func load(_ source: String, chunkName: String) throws -> LuaRef {
        var source = source
        let status = source.withUTF8 { buf in
            buf.withMemoryRebound(to: CChar.self) { chars in
                plume_load(L, chars.baseAddress, chars.count, "@" + chunkName)
            }
        }
        if status != LUA_OK {
            let message = popString()
            throw LuaError.syntax(message: message)
        }
        return popRef()
    }

    /// Calls a function with the given arguments and returns all its results.
    @discardableResult
    public func call(_ function: LuaRef, _ args: [LuaValue] = []) throws -> [LuaValue] {
        let base = lua_gettop(L)
        lua_checkstack(L, Int32(args.count) + 8)   // Lua guarantees only 20 free slots
        push(ref: function)
        for a in args { push(a) }
        try protectedCall(nargs: Int32(args.count), nresults: LUA_MULTRET)
        let n = lua_gettop(L) - base
        var out: [LuaValue] = []
        out.reserveCapacity(Int(n))
        for i in 0..<n { out.append(value(at: base + 1 + i)) }
        lua_settop(L, base)
        return out
    }

    /// Loads and runs a chunk.
    @discardableResult
    public func run(_ source: String, chunkName: String, args: [LuaValue] = []) throws -> [LuaValue] {
        let fn = try load(source, chunkName: chunkName)
        defer { release(fn) }
        return try call(fn, args)
    }

    /// The fast path: the caller pushes the function and `nargs` arguments itself, then reads the
    /// `nresults` results from the stack top and pops them.
    public func protectedCall(nargs: Int32, nresults: Int32) throws {
        // A call made from inside a Swift callback runs under the outer call's deadline and flags:
        // resetting them here, and clearing the deadline on return, would let the outer script run on
        // without any time limit.
        let outermost = callDepth == 0
        if outermost {
            plume_reset_flags(L)
            if timeLimitNanos > 0 {
                slot.deadline.store(DispatchTime.now().uptimeNanoseconds + timeLimitNanos, ordering: .relaxed)
            }
        }
        callDepth += 1
        let status = plume_pcall(L, nargs, nresults)
        callDepth -= 1
        if outermost, timeLimitNanos > 0 { slot.deadline.store(0, ordering: .relaxed) }
        if status == LUA_OK { return }
        let interrupted = plume_interrupted(L) != 0
        let refused = plume_memory_refused(L) != 0
        let error = errorFromTop(status: status)
        if outermost { plume_reset_flags(L) }
        // A script stopped at a limit may leave the state full of garbage the emergency collections
        // could not free: buffers of the string library, which have finalizers (a loop of refused
        // `string.rep` ends at the cap). Collected here, the next call starts below the cap.
        if outermost && (interrupted || refused || status == LUA_ERRMEM) { plume_collect(L) }
        if interrupted { throw LuaError.timeLimit(seconds: timeLimit) }
        if refused || status == LUA_ERRMEM { throw LuaError.memoryLimit(bytes: memoryLimit) }
        throw error
    }

    private func errorFromTop(status: Int32) -> LuaError {
        defer { plume_pop(L, 1) }
        switch lua_type(L, -1) {
        case LUA_TSTRING:
            let text = string(at: -1) ?? ""
            if let r = text.range(of: "\nstack traceback:\n") {
                return .runtime(message: String(text[..<r.lowerBound]),
                                traceback: String(text[r.lowerBound...]).trimmingCharacters(in: .newlines),
                                value: nil)
            }
            return .runtime(message: text, traceback: "", value: nil)
        case LUA_TTABLE:
            let v = value(at: -1)
            let message = v["message"]?.stringValue ?? "(error object is a table)"
            return .runtime(message: message, traceback: "", value: v)
        default:
            return .runtime(message: "(error object is not a string)", traceback: "", value: nil)
        }
    }

    // MARK: Globals, functions, references

    // Globals are read and written raw: a script may have given _G a metatable, and its __index or
    // __newindex would otherwise run here, outside any protected call and deadline (an error there
    // reaches the panic handler, which aborts the process).

    public func global(_ name: String) -> LuaRef? {
        plume_pushglobaltable(L)
        push(string: name)
        lua_rawget(L, -2)
        if lua_type(L, -1) == LUA_TNIL { plume_pop(L, 2); return nil }
        let r = popRef()
        plume_pop(L, 1)
        return r
    }

    public func setGlobal(_ name: String, _ value: LuaValue) {
        plume_pushglobaltable(L)
        push(string: name)
        push(value)
        lua_rawset(L, -3)
        plume_pop(L, 1)
    }

    public func setGlobal(_ name: String, ref: LuaRef) {
        plume_pushglobaltable(L)
        push(string: name)
        push(ref: ref)
        lua_rawset(L, -3)
        plume_pop(L, 1)
    }

    /// Makes a Lua function that runs `body`.
    public func function(_ body: @escaping LuaFunction) -> LuaRef {
        let box = CallbackBox(body)
        boxes.append(box)
        plume_push_callback(L, swiftCallbackEntry, Unmanaged.passUnretained(box).toOpaque())
        return popRef()
    }

    /// Registers `body` as the global function `name`.
    public func register(_ name: String, _ body: @escaping LuaFunction) {
        let f = function(body)
        setGlobal(name, ref: f)
        release(f)
    }

    public func ref(_ value: LuaValue) -> LuaRef {
        push(value)
        return popRef()
    }

    public func release(_ ref: LuaRef) {
        luaL_unref(L, plume_registry_index(), ref.id)
    }

    public func get(_ ref: LuaRef) -> LuaValue {
        push(ref: ref)
        defer { plume_pop(L, 1) }
        return value(at: -1)
    }

    /// A read-only view of `value`: reads see the value (nested tables are read-only too), writes raise
    /// `attempt to modify read-only table '<name>'`.
    public func readOnly(_ value: LuaValue, name: String) throws -> LuaRef {
        guard let helper = readOnlyHelper else { fatalError("read-only helper missing") }
        // By reference: converting the proxy to a LuaValue would hand back a plain, writable copy.
        return try invokeForRef(helper, [.value(value), .value(.string(name))])
    }

    private var readOnlyHelper: LuaRef?

    private func installReadOnlyHelper() {
        let source = """
        local setmetatable, type, error, next = setmetatable, type, error, next
        local function wrap(t, name)
          local cache = {}
          local proxy = {}
          setmetatable(proxy, {
            __index = function(_, k)
              local v = t[k]
              if type(v) == "table" then
                local w = cache[k]
                if not w then w = wrap(v, name .. "." .. tostring(k)); cache[k] = w end
                return w
              end
              return v
            end,
            __newindex = function(_, k) error("attempt to modify read-only table '" .. name .. "' (key '" .. tostring(k) .. "')", 2) end,
            __len = function() return #t end,
            __pairs = function()
              return function(_, k)
                local nk, nv = next(t, k)
                if type(nv) == "table" then return nk, proxy[nk] end
                return nk, nv
              end, proxy, nil
            end,
            __metatable = "read-only",
          })
          return proxy
        end
        return function(v, name) if type(v) ~= "table" then return v end return wrap(v, name) end
        """
        // The helper is a function: keep it by reference (run() converts results, and a function
        // converts to .opaque, which pushes as nil).
        if let chunk = try? load(source, chunkName: "=(plume.readonly)") {
            readOnlyHelper = try? invokeForRef(chunk, [])
            release(chunk)
        }
    }

    /// A `require` that serves the given modules, then `<root>/<name>.lua` files (dots are folders).
    /// Names with `..`, slashes or absolute paths are refused; each file runs once per require function,
    /// in `environment` when given (a table ref), so modules share their model's sandbox.
    ///
    /// Module values stay in Lua (a cache table read by a small Lua wrapper): converting them to
    /// LuaValue and back, as a plain callback result would, turned a module's functions into nil and
    /// gave every require a fresh copy of its table.
    public func makeRequire(modules: [String: LuaRef], root: URL?, environment: LuaRef? = nil) -> LuaRef {
        plume_newtable(L)
        let cache = popRef()
        for (name, r) in modules {
            push(ref: cache)
            push(string: name)
            push(ref: r)
            lua_rawset(L, -3)
            plume_pop(L, 1)
        }
        var loading: Set<String> = []
        let notFound = { (name: String) -> [LuaValue] in
            [.string("module '\(name)' not found (only host modules and files of the model's folder can be required)")]
        }
        // loader(name): runs the module file and stores its value in cache[name]; returns a message
        // when the module cannot be found (the wrapper raises it at the caller's line).
        let loader = function { [unowned self] args in
            guard case .string(let name)? = args.first else { return [.string("require: module name must be a string")] }
            let allowed = name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == "." }
            guard allowed, !name.contains(".."), !name.hasPrefix("."), let root else { return notFound(name) }
            let file = root.appendingPathComponent(name.replacingOccurrences(of: ".", with: "/") + ".lua")
            guard let source = try? String(contentsOf: file, encoding: .utf8) else { return notFound(name) }
            guard !loading.contains(name) else { return [.string("require: module '\(name)' requires itself")] }
            loading.insert(name)
            defer { loading.remove(name) }
            let chunk: LuaRef
            do {
                chunk = try self.load(source, chunkName: self.displayPath(file))
            } catch let e as LuaError {
                throw LuaCallbackError(value: .string(e.message))   // already names file and line
            }
            defer { self.release(chunk) }
            if let environment { self.setEnvironment(of: chunk, to: environment) }
            try self.runModule(chunk, name: name, into: cache)
            return []
        }
        let wrapper = """
        local cache, loader, error, type = ...
        return function(name)
          if type(name) ~= "string" then error("require: module name must be a string", 2) end
          local v = cache[name]
          if v == nil then
            local message = loader(name)
            if message then error(message, 2) end
            v = cache[name]
          end
          return v
        end
        """
        guard let chunk = try? load(wrapper, chunkName: "=(plume.require)") else { return loader }
        defer { release(chunk) }
        guard let error = global("error"), let type = global("type") else { return loader }
        defer { release(error); release(type) }
        return (try? invokeForRef(chunk, [.ref(cache), .ref(loader), .ref(error), .ref(type)])) ?? loader
    }

    /// Runs a module chunk from inside the require callback and stores its value (true when it returns
    /// nothing) in `cache[name]` as is. Errors come back as LuaCallbackError so the trampoline raises
    /// them in the calling script.
    func runModule(_ fn: LuaRef, name: String, into cache: LuaRef) throws {
        let base = lua_gettop(L)
        push(ref: fn)
        push(string: name)
        if plume_pcall(L, 1, 1) != LUA_OK {
            let v = value(at: -1)
            lua_settop(L, base)
            throw LuaCallbackError(value: v)
        }
        if lua_type(L, -1) == LUA_TNIL {
            plume_pop(L, 1)
            lua_pushboolean(L, 1)
        }
        push(ref: cache)          // value, cache
        push(string: name)        // value, cache, name
        lua_pushvalue(L, -3)      // value, cache, name, value
        lua_rawset(L, -3)         // value, cache
        lua_settop(L, base)
    }

    /// Sets the first upvalue (`_ENV`) of a loaded chunk.
    public func setEnvironment(of chunk: LuaRef, to env: LuaRef) {
        push(ref: chunk)
        push(ref: env)
        if lua_setupvalue(L, -2, 1) == nil { plume_pop(L, 1) }
        plume_pop(L, 1)
    }

    /// Paths in messages are relative to the working directory when they lie below it.
    public func displayPath(_ url: URL) -> String {
        let path = url.standardizedFileURL.path
        let cwd = FileManager.default.currentDirectoryPath + "/"
        return path.hasPrefix(cwd) ? String(path.dropFirst(cwd.count)) : path
    }

    /// An argument for `invoke`: a plain value, or a value the host holds by reference (tables the host
    /// must not copy, such as a definition or a bound model).
    public enum Argument {
        case value(LuaValue)
        case ref(LuaRef)
    }

    /// Calls `function` and returns its results converted.
    public func invoke(_ function: LuaRef, _ args: [Argument]) throws -> [LuaValue] {
        let base = try callPushing(function, args, results: LUA_MULTRET)
        let n = lua_gettop(L) - base
        var out: [LuaValue] = []
        out.reserveCapacity(Int(n))
        for i in 0..<n { out.append(value(at: base + 1 + i)) }
        lua_settop(L, base)
        return out
    }

    /// Calls `function` and keeps its first result by reference.
    public func invokeForRef(_ function: LuaRef, _ args: [Argument]) throws -> LuaRef {
        _ = try callPushing(function, args, results: 1)
        return popRef()
    }

    /// Pushes the function and its arguments and calls it; returns the stack height below them.
    /// On error the stack is back at that height.
    private func callPushing(_ function: LuaRef, _ args: [Argument], results: Int32) throws -> Int32 {
        let base = lua_gettop(L)
        lua_checkstack(L, Int32(args.count) + 8)
        push(ref: function)
        for a in args {
            switch a {
            case .value(let v): push(v)
            case .ref(let r): push(ref: r)
            }
        }
        do {
            try protectedCall(nargs: Int32(args.count), nresults: results)
        } catch {
            lua_settop(L, base)
            throw error
        }
        return base
    }

    /// A new table holding the given references.
    public func table(_ fields: [(String, LuaRef)]) -> LuaRef {
        plume_newtable(L)
        for (k, r) in fields {
            push(ref: r)
            lua_setfield(L, -2, k)
        }
        return popRef()
    }

    /// Field `name` of the table held by `table` (raw access), by reference.
    public func field(_ table: LuaRef, _ name: String) -> LuaRef? {
        push(ref: table)
        push(string: name)
        lua_rawget(L, -2)
        if lua_type(L, -1) == LUA_TNIL { plume_pop(L, 2); return nil }
        let r = popRef()
        plume_pop(L, 1)
        return r
    }

    // MARK: Coverage

    public func setCoverage(_ on: Bool) { plume_set_coverage(L, on ? 1 : 0) }

    /// Executed lines per chunk name (without the leading `@`).
    public func coverage() -> [String: [Int: Int]] {
        plume_push_coverage(L)
        defer { plume_pop(L, 1) }
        guard case .object(let chunks) = value(at: -1) else { return [:] }
        var out: [String: [Int: Int]] = [:]
        for (name, lines) in chunks {
            var m: [Int: Int] = [:]
            switch lines {
            case .array(let a): for (i, v) in a.enumerated() { if case .integer(let n) = v { m[i + 1] = Int(n) } }
            case .object(let o): for (k, v) in o { if let l = Int(k), case .integer(let n) = v { m[l] = Int(n) } }
            default: break
            }
            out[name.hasPrefix("@") ? String(name.dropFirst()) : name, default: [:]].merge(m, uniquingKeysWith: +)
        }
        return out
    }

    /// Pushes the host's `ordered_keys(t)` function (key order of objects pushed by the host).
    public func orderedKeysFunction() -> LuaRef {
        plume_push_key_order_function(L)
        return popRef()
    }

    public func whereFunction() -> LuaRef {
        plume_push_where_function(L)
        return popRef()
    }

    /// `value` is what the host pushes for `nil` entries of arrays.
    public func setNullSentinel(_ value: LuaRef) {
        push(ref: value)
        plume_set_null_sentinel(L)
    }

    /// Pushes `kind(t)`: "object" or "list" for tables the host pushed.
    public func kindFunction() -> LuaRef {
        plume_push_kind_function(L)
        return popRef()
    }

    /// The operation recorder's functions (CLuaShim.h, "Operation recorder"); a tape holds at most
    /// `limit` slots. Nil when the recorder cannot be allocated.
    public func recorder(limit: Int) -> LuaRef? {
        guard plume_push_recorder(L, Int32(clamping: limit)) != 0 else { return nil }
        return popRef()
    }

    /// The last recording: entry kinds, operand codes (a, b) and constants, valid only inside `body`.
    public func withRecordedTape<T>(_ body: (UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<Int32>,
                                              UnsafeBufferPointer<Int32>, UnsafeBufferPointer<Double>) throws -> T) rethrows -> T {
        let t = plume_recorded_tape(L)
        let n = Int(t.count), k = Int(t.constant_count)
        return try body(UnsafeBufferPointer(start: t.op, count: n), UnsafeBufferPointer(start: t.a, count: n),
                        UnsafeBufferPointer(start: t.b, count: n), UnsafeBufferPointer(start: t.constants, count: k))
    }

    public func tracebackFunction() -> LuaRef {
        plume_push_traceback_function(L)
        return popRef()
    }

    // MARK: Stack primitives

    public func push(ref: LuaRef) {
        lua_rawgeti(L, plume_registry_index(), lua_Integer(ref.id))
    }

    public func popRef() -> LuaRef {
        LuaRef(id: luaL_ref(L, plume_registry_index()))
    }

    @inline(__always) public func push(number: Double) { lua_pushnumber(L, number) }
    @inline(__always) public func push(integer: Int64) { lua_pushinteger(L, integer) }
    @inline(__always) public func pushNil() { lua_pushnil(L) }
    @inline(__always) public func push(bool: Bool) { lua_pushboolean(L, bool ? 1 : 0) }

    public func push(string: String) {
        var s = string
        s.withUTF8 { buf in
            buf.withMemoryRebound(to: CChar.self) { _ = lua_pushlstring(L, $0.baseAddress, $0.count) }
        }
    }

    public func push(bytes: UnsafeRawBufferPointer) {
        _ = lua_pushlstring(L, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count)
    }

    public func push(_ value: LuaValue) { LuaStackReader(L: L).push(value) }

    /// Pushes a new table sized for `array` sequence and `hash` other entries.
    @inline(__always) public func newTable(array: Int32 = 0, hash: Int32 = 0) { lua_createtable(L, array, hash) }

    /// `t[k] = v` without metamethods, where `t` is at `table` and k, v are the two values on top (popped).
    @inline(__always) public func rawSet(table: Int32) { lua_rawset(L, table) }

    /// Gives the object at `index` the key order of the shared list held by `template` (its keys, in
    /// order, filtered by which the object has): one reference per row instead of a list per row.
    public func setKeyTemplate(at index: Int32, template: LuaRef) {
        let t = lua_absindex(L, index)
        push(ref: template)
        plume_set_key_template(L, t, -1)
        plume_pop(L, 1)
    }

    @inline(__always) public func reserve(_ slots: Int32) { lua_checkstack(L, slots) }

    public var top: Int32 {
        get { lua_gettop(L) }
        set { lua_settop(L, newValue) }
    }

    public func type(at index: Int32) -> Int32 { lua_type(L, index) }

    public func number(at index: Int32) -> Double? {
        guard lua_type(L, index) == LUA_TNUMBER else { return nil }
        return plume_tonumber(L, index, nil)
    }

    public func string(at index: Int32) -> String? { LuaStackReader(L: L).string(at: index) }

    /// The numbers of the list at `index` (raw access), nil when it is not a table or holds a
    /// non-number. For bulk reads where building `LuaValue`s would cost more than the work.
    public func numbers(at index: Int32) -> [Double]? {
        guard lua_type(L, index) == LUA_TTABLE else { return nil }
        let n = Int(lua_rawlen(L, index))
        var out = [Double]()
        out.reserveCapacity(n)
        let t = lua_absindex(L, index)
        lua_checkstack(L, 2)
        for i in 0..<n {
            guard lua_rawgeti(L, t, lua_Integer(i + 1)) == LUA_TNUMBER else { plume_pop(L, 1); return nil }
            out.append(plume_tonumber(L, -1, nil))
            plume_pop(L, 1)
        }
        return out
    }

    /// Converts the value at `index` using raw access only (no metamethod runs), so hostile error
    /// objects cannot execute code in the host.
    public func value(at index: Int32) -> LuaValue { LuaStackReader(L: L).value(at: index) }

    private func popString() -> String {
        let s = string(at: -1) ?? "(error object is not a string)"
        plume_pop(L, 1)
        return s
    }
}

/// The single C entry point for Swift callbacks. Runs with the state's allocation limit lifted (the
/// trampoline does that), so pushes here never raise; errors are handed back as -1.
private let swiftCallbackEntry: plume_callback = { L, context in
    guard let L, let context else { return 0 }
    let box = Unmanaged<CallbackBox>.fromOpaque(context).takeUnretainedValue()
    let n = lua_gettop(L)
    var args: [LuaValue] = []
    args.reserveCapacity(Int(n))
    let host = LuaStackReader(L: L)
    for i in 1...max(n, 1) where i <= n { args.append(host.value(at: i)) }
    do {
        let results = try box.body(args)
        let writer = LuaStackReader(L: L)
        // The trampoline reserved 32 slots; a callback may return more values than that.
        lua_checkstack(L, Int32(results.count) + 8)
        for r in results { writer.push(r) }
        return Int32(results.count)
    } catch let e as LuaCallbackError {
        if e.addsPosition, case .string(let message) = e.value {
            LuaStackReader(L: L).push(message: message)
        } else {
            LuaStackReader(L: L).push(e.value)
        }
        return -1
    } catch {
        LuaStackReader(L: L).push(message: "\(error)")
        return -1
    }
}

/// Value conversion on a raw state, shared by LuaState and the callback entry (which has no LuaState).
struct LuaStackReader {
    let L: OpaquePointer

    func push(string: String) {
        var s = string
        s.withUTF8 { buf in
            buf.withMemoryRebound(to: CChar.self) { _ = lua_pushlstring(L, $0.baseAddress, $0.count) }
        }
    }

    /// Pushes `chunk:line: message` naming the Lua line that called the running C function (what
    /// luaL_error does), so a callback's error reads like an error of Lua's own library functions.
    func push(message: String) {
        luaL_where(L, 1)
        push(string: message)
        lua_concat(L, 2)
    }

    func push(_ value: LuaValue) {
        // Nested tables hold a few slots per level; the C API does not check, so reserve them here.
        if case .array = value { lua_checkstack(L, 8) }
        if case .object = value { lua_checkstack(L, 8) }
        switch value {
        case .nil, .opaque: lua_pushnil(L)
        case .boolean(let b): lua_pushboolean(L, b ? 1 : 0)
        case .integer(let i): lua_pushinteger(L, i)
        case .number(let d): lua_pushnumber(L, d)
        case .string(let s): push(string: s)
        case .array(let items):
            lua_createtable(L, Int32(items.count), 0)
            for (i, v) in items.enumerated() {
                if case .nil = v {
                    // A null list entry: the host's sentinel when one is set (a nil would cut the list).
                    lua_getfield(L, plume_registry_index(), "plume.null")
                } else {
                    push(v)
                }
                lua_rawseti(L, -2, lua_Integer(i + 1))
            }
            plume_mark_list(L, -1)
        case .object(let members):
            lua_createtable(L, 0, Int32(members.count))
            lua_createtable(L, Int32(members.count), 0)
            for (i, (k, v)) in members.enumerated() {
                push(string: k)
                lua_rawseti(L, -2, lua_Integer(i + 1))
                if case .nil = v { continue }
                push(string: k)
                push(v)
                lua_rawset(L, -4)
            }
            plume_set_key_order(L, -2, -1)
            plume_pop(L, 1)
        }
    }

    func string(at index: Int32) -> String? {
        guard lua_type(L, index) == LUA_TSTRING else { return nil }
        var len = 0
        guard let p = plume_tostring(L, index, &len) else { return nil }
        return String(decoding: UnsafeRawBufferPointer(start: p, count: len), as: UTF8.self)
    }

    /// Converts the value at `index` using raw access only (no metamethod runs), so hostile error
    /// objects cannot execute code in the host. Cycles and depth beyond 64 become `.opaque`.
    func value(at index: Int32) -> LuaValue {
        var visiting: Set<UnsafeRawPointer> = []
        return convert(lua_absindex(L, index), depth: 0, visiting: &visiting)
    }

    private func convert(_ index: Int32, depth: Int, visiting: inout Set<UnsafeRawPointer>) -> LuaValue {
        switch lua_type(L, index) {
        case LUA_TNIL, LUA_TNONE: return .nil
        case LUA_TBOOLEAN: return .boolean(lua_toboolean(L, index) != 0)
        case LUA_TNUMBER:
            if plume_isinteger(L, index) != 0 { return .integer(plume_tointeger(L, index, nil)) }
            return .number(plume_tonumber(L, index, nil))
        case LUA_TSTRING: return .string(string(at: index) ?? "")
        case LUA_TTABLE:
            guard depth < 64, let p = lua_topointer(L, index), !visiting.contains(p) else { return .opaque("table") }
            visiting.insert(p)
            defer { visiting.remove(p) }
            var pairs: [(LuaValue, LuaValue)] = []
            lua_checkstack(L, 4)
            lua_pushnil(L)
            while lua_next(L, index) != 0 {
                let k = convert(lua_absindex(L, -2), depth: depth + 1, visiting: &visiting)
                let v = convert(lua_absindex(L, -1), depth: depth + 1, visiting: &visiting)
                pairs.append((k, v))
                plume_pop(L, 1)
            }
            let n = Int(lua_rawlen(L, index))
            if n == pairs.count, n > 0 || pairs.isEmpty {
                var items = [LuaValue](repeating: .nil, count: n)
                var isArray = true
                for (k, v) in pairs {
                    if case .integer(let i) = k, i >= 1, i <= n { items[Int(i - 1)] = v } else { isArray = false; break }
                }
                if isArray { return .array(items) }
            }
            let members = pairs.map { (k, v) -> (String, LuaValue) in
                switch k {
                case .string(let s): return (s, v)
                case .integer(let i): return (String(i), v)
                case .number(let d): return (String(d), v)
                case .boolean(let b): return (String(b), v)
                default: return ("?", v)
                }
            }
            return .object(members.sorted { $0.0 < $1.0 })
        default:
            return .opaque(String(cString: lua_typename(L, lua_type(L, index))))
        }
    }

}
