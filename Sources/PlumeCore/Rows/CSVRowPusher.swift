import Foundation
import LuaHost

/// Pushes CSV records straight onto a Lua stack as nested row tables, typed by the same rules as
/// `CSVRowShape.row` but without building Swift values in between (the hot path of `plume run`).
/// Objects share their header's key order through one template list per object.
final class CSVRowPusher {
    private struct Plan {
        let key: [UInt8]
        let column: Int          // leaf column, or -1 for an object
        let children: [Plan]
        let template: LuaRef?
        let hash: Int32
    }

    let shape: CSVRowShape
    private let lua: LuaState
    private let root: [Plan]
    private let rootTemplate: LuaRef
    private var present: [Bool] = []
    private var trimmed: [Range<Int>] = []

    init(shape: CSVRowShape, lua: LuaState) {
        self.shape = shape
        self.lua = lua
        func plan(_ nodes: [(String, CSVRowShape.Node)]) -> [Plan] {
            nodes.map { (k, n) in
                switch n {
                case .column(let i): return Plan(key: Array(k.utf8), column: i, children: [], template: nil, hash: 0)
                case .object(let kids):
                    let children = plan(kids)
                    let t = lua.ref(.array(kids.map { .string($0.0) }))
                    return Plan(key: Array(k.utf8), column: -1, children: children, template: t, hash: Int32(children.count))
                }
            }
        }
        // `id` names the output row; the model never sees it (Docs/DSL.md), so rows differing only in
        // their id share a replay key.
        let visible = shape.root.filter { $0.0 != "id" }
        root = plan(visible)
        rootTemplate = lua.ref(.array(visible.map { .string($0.0) }))
    }

    enum PushError: Error { case invalidUTF8(column: String) }

    /// Pushes the row of `rec` (one new value on the stack) or throws, leaving the stack as it was.
    func push(_ rec: CSVRecord) throws {
        let n = rec.count
        if present.count != n {
            present = [Bool](repeating: false, count: n)
            trimmed = [Range<Int>](repeating: 0..<0, count: n)
        }
        rec.bytes.withUnsafeBytes { b in
            var lo = 0
            for i in 0..<n {
                trimmed[i] = CellTyper.trimmed(b, lo..<rec.ends[i])
                present[i] = !trimmed[i].isEmpty
                lo = rec.ends[i]
            }
        }
        let base = lua.top
        do {
            try rec.bytes.withUnsafeBytes { b in
                _ = try pushObject(root, template: rootTemplate, hash: Int32(root.count), bytes: b, always: true)
            }
        } catch {
            lua.top = base
            throw error
        }
    }

    /// Pushes an object when one of its cells is present (or `always`); returns whether it pushed.
    private func pushObject(_ plans: [Plan], template: LuaRef, hash: Int32, bytes: UnsafeRawBufferPointer, always: Bool) throws -> Bool {
        if !always && !anyPresent(plans) { return false }
        lua.reserve(8)
        lua.newTable(hash: hash)
        let t = lua.top
        for p in plans {
            if p.column >= 0 {
                guard present[p.column] else { continue }
                p.key.withUnsafeBytes { lua.push(bytes: $0) }
                try pushCell(p.column, bytes)
                lua.rawSet(table: t)
            } else if anyPresent(p.children) {
                p.key.withUnsafeBytes { lua.push(bytes: $0) }
                _ = try pushObject(p.children, template: p.template!, hash: p.hash, bytes: bytes, always: true)
                lua.rawSet(table: t)
            }
        }
        lua.setKeyTemplate(at: t, template: template)
        return true
    }

    private func anyPresent(_ plans: [Plan]) -> Bool {
        for p in plans {
            if p.column >= 0 { if present[p.column] { return true } } else if anyPresent(p.children) { return true }
        }
        return false
    }

    private func pushCell(_ i: Int, _ bytes: UnsafeRawBufferPointer) throws {
        let r = trimmed[i]
        let cell = UnsafeRawBufferPointer(rebasing: bytes[r])
        if let d = CellTyper.number(cell) { lua.push(number: d); return }
        if cell.count == 4 || cell.count == 5 {
            var lower = [UInt8](repeating: 0, count: cell.count)
            for j in 0..<cell.count { lower[j] = cell[j] | 0x20 }
            if lower == [116, 114, 117, 101] { lua.push(bool: true); return }
            if lower == [102, 97, 108, 115, 101] { lua.push(bool: false); return }
        }
        var ascii = true
        for c in cell where c >= 0x80 { ascii = false; break }
        if !ascii && String(validating: cell, as: UTF8.self) == nil { throw PushError.invalidUTF8(column: shape.columns[i]) }
        lua.push(bytes: cell)
    }

    /// A cell typed as a Swift value (for ids, group keys and impressions), nil when absent.
    func value(_ rec: CSVRecord, column: Int) -> LuaValue? {
        rec.field(column).withUnsafeBytes { CellTyper.type(bytes: $0) }
    }
}
