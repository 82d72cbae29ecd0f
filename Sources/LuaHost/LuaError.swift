/// Why a call into Lua failed. The limits are typed so the host can tell a hostile or broken script
/// from a script that merely rejected its input.
public enum LuaError: Error, Equatable, CustomStringConvertible {
    /// The chunk did not compile; `message` starts with `chunkname:line:`.
    case syntax(message: String)
    /// A runtime error: `message` (with `chunkname:line:` where Lua knows it), the traceback, and the
    /// error object itself when the script raised a table.
    case runtime(message: String, traceback: String, value: LuaValue?)
    case memoryLimit(bytes: Int)
    case timeLimit(seconds: Double)

    public var description: String {
        switch self {
        case .syntax(let m): return "syntax error: \(m)"
        case .runtime(let m, let tb, _): return tb.isEmpty ? m : "\(m)\n\(tb)"
        case .memoryLimit(let b): return "memory limit exceeded (\(b) bytes)"
        case .timeLimit(let s): return "cpu time limit exceeded (\(s) s per call)"
        }
    }

    /// The one-line message without traceback.
    public var message: String {
        switch self {
        case .syntax(let m): return m
        case .runtime(let m, _, _): return m
        default: return description
        }
    }
}
