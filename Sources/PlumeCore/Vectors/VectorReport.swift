import Foundation
import LuaHost

/// Renders vector results as text, JUnit XML or JSON.
public enum VectorReport {
    /// Every failing case with every mismatch; ends with `N passed, N failed[, N skipped]`.
    public static func text(_ suites: [SuiteResult], errors: [String], verbose: Bool = false) -> String {
        var out = ""
        for e in errors { out += "ERROR \(e)\n" }
        for s in suites {
            out += "\(s.file): \(s.name) [model \(s.model)\(s.pack.map { ", pack \($0)" } ?? "")]: \(s.passed) passed, \(s.failed) failed\n"
            for n in s.notes { out += "  NOTE \(n)\n" }
            for c in s.cases where c.status == .failed || verbose {
                out += "  \(c.status == .failed ? "FAIL" : "ok  ") \(c.id) (\(s.file):\(c.line))\(c.source.isEmpty ? "" : " source: \(c.source)")\n"
                for f in c.failures { out += "      \(f)\n" }
            }
        }
        let passed = suites.reduce(0) { $0 + $1.passed }
        let failed = suites.reduce(0) { $0 + $1.failed } + errors.count
        let skipped = suites.reduce(0) { $0 + $1.skipped }
        out += "\(passed) passed, \(failed) failed" + (skipped > 0 ? ", \(skipped) skipped" : "") + "\n"
        return out
    }

    public static func junit(_ suites: [SuiteResult], errors: [String]) -> String {
        func esc(_ s: String) -> String {
            var o = ""
            for ch in s.unicodeScalars {
                switch ch {
                case "&": o += "&amp;"
                case "<": o += "&lt;"
                case ">": o += "&gt;"
                case "\"": o += "&quot;"
                case "'": o += "&apos;"
                default:
                    if ch.value < 0x20 && ch != "\n" && ch != "\t" { o += " " } else { o.unicodeScalars.append(ch) }
                }
            }
            return o
        }
        let tests = suites.reduce(0) { $0 + $1.cases.count } + errors.count
        let failures = suites.reduce(0) { $0 + $1.failed }
        var x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        x += "<testsuites name=\"plume vectors\" tests=\"\(tests)\" failures=\"\(failures)\" errors=\"\(errors.count)\">\n"
        for s in suites {
            let time = s.cases.reduce(0) { $0 + $1.seconds }
            x += "  <testsuite name=\"\(esc(s.name))\" file=\"\(esc(s.file))\" tests=\"\(s.cases.count)\" failures=\"\(s.failed)\" skipped=\"\(s.skipped)\" time=\"\(String(format: "%.6f", time))\">\n"
            for n in s.notes { x += "    <system-out>\(esc(n))</system-out>\n" }
            for c in s.cases {
                x += "    <testcase classname=\"\(esc(s.model)).\(esc(s.file))\" name=\"\(esc(c.id))\" file=\"\(esc(s.file))\" line=\"\(c.line)\" time=\"\(String(format: "%.6f", c.seconds))\""
                switch c.status {
                case .passed: x += "/>\n"
                case .skipped: x += "><skipped/></testcase>\n"
                case .failed:
                    x += ">\n      <failure message=\"\(esc(c.failures.first ?? "failed"))\">\(esc(c.failures.joined(separator: "\n")))\nsource: \(esc(c.source))</failure>\n    </testcase>\n"
                }
            }
            x += "  </testsuite>\n"
        }
        if !errors.isEmpty {
            x += "  <testsuite name=\"errors\" tests=\"\(errors.count)\" failures=\"0\" errors=\"\(errors.count)\">\n"
            for (i, e) in errors.enumerated() {
                x += "    <testcase name=\"file-\(i + 1)\"><error message=\"\(esc(e))\"/></testcase>\n"
            }
            x += "  </testsuite>\n"
        }
        return x + "</testsuites>\n"
    }

    public static func json(_ suites: [SuiteResult], errors: [String], coverage: CoverageReport?) -> String {
        var items: [String] = []
        for s in suites {
            var cases: [String] = []
            for c in s.cases {
                let got = "{" + c.got.map { CanonicalJSON.string($0.0) + ":" + CanonicalJSON.encode($0.1) }.joined(separator: ",") + "}"
                cases.append("{\"id\":\(CanonicalJSON.string(c.id)),\"status\":\"\(c.status.rawValue)\",\"line\":\(c.line),\"source\":\(CanonicalJSON.string(c.source)),\"failures\":[\(c.failures.map(CanonicalJSON.string).joined(separator: ","))],\"got\":\(got)}")
            }
            items.append("{\"file\":\(CanonicalJSON.string(s.file)),\"suite\":\(CanonicalJSON.string(s.name)),\"model\":\(CanonicalJSON.string(s.model)),\"pack\":\(s.pack.map(CanonicalJSON.string) ?? "null"),\"notes\":[\(s.notes.map(CanonicalJSON.string).joined(separator: ","))],\"passed\":\(s.passed),\"failed\":\(s.failed),\"cases\":[\(cases.joined(separator: ","))]}")
        }
        let passed = suites.reduce(0) { $0 + $1.passed }
        let failed = suites.reduce(0) { $0 + $1.failed } + errors.count
        var out = "{\"passed\":\(passed),\"failed\":\(failed),\"errors\":[\(errors.map(CanonicalJSON.string).joined(separator: ","))],\"suites\":[\(items.joined(separator: ","))]"
        if let coverage { out += ",\"coverage\":{\"percent\":\(CanonicalJSON.number((coverage.summaryPercent * 10).rounded() / 10))}" }
        return out + "}\n"
    }

    public static func coverageText(_ c: CoverageReport) -> String {
        var out = "coverage:\n"
        for f in c.files {
            let missed = f.executable.filter { !f.hit.contains($0) }
            out += String(format: "  %@: %.1f%% of %d lines", f.file, f.percent, f.executable.count)
            if !missed.isEmpty { out += " (not run: \(ranges(missed)))" }
            out += "\n"
        }
        for m in c.models {
            let cats = m.categories.filter { m.categoriesHit.contains($0) }.count
            out += "  model \(m.model): categories \(cats)/\(m.categories.count)"
            let missing = m.categories.filter { !m.categoriesHit.contains($0) }
            if !missing.isEmpty { out += " (never non-zero: \(missing.joined(separator: ", ")))" }
            out += "; coefficient keys \(m.keysRead.intersection(m.packKeys).count)/\(m.packKeys.count)"
            out += "; table entries \(m.entriesRead.count)/\(m.entries.count)\n"
        }
        out += String(format: "  summary: %.1f%%\n", c.summaryPercent)
        return out
    }

    static func ranges(_ lines: [Int]) -> String {
        var parts: [String] = []
        var i = 0
        while i < lines.count {
            var j = i
            while j + 1 < lines.count, lines[j + 1] == lines[j] + 1 { j += 1 }
            parts.append(i == j ? "\(lines[i])" : "\(lines[i])-\(lines[j])")
            i = j + 1
        }
        return parts.joined(separator: ",")
    }
}
