import Foundation

/// The host's grid intensity lookup (gCO2e/kWh): hourly data by (country, region, UTC hour) when a store
/// is configured, else the built-in annual country value, else the world default. Every answer names
/// its source so explain and summaries can say which data set a number came from.
public final class GridLookup: Sendable {
    public struct Answer: Sendable, Equatable {
        public let value: Double
        public let source: String
    }

    public let annualValues: [String: (value: Double, year: Int)]
    public let alpha3: [String: String]
    public let world: Double
    public let hourly: HourlyGridStore?

    static let annualSource = "Ember annual (via CO2.js v0.19.0 @27cbe83)"

    public init(hourly: HourlyGridStore? = nil) {
        var values: [String: (Double, Int)] = [:]
        var alpha3: [String: String] = [:]
        var world = 472.94
        if let url = Bundle.module.url(forResource: "grid-annual", withExtension: "csv"),
           let text = try? String(contentsOf: url, encoding: .utf8) {
            for line in text.split(separator: "\n") where !line.hasPrefix("#") && !line.hasPrefix("code,") {
                let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                guard f.count >= 4, let v = Double(f[3]) else { continue }
                if f[0] == "WORLD" { world = v; continue }
                values[f[0]] = (v, Int(f[2]) ?? 0)
                if !f[1].isEmpty { alpha3[f[1]] = f[0] }
            }
        }
        annualValues = values
        self.alpha3 = alpha3
        self.world = world
        self.hourly = hourly
    }

    /// The annual value of an ISO alpha-2 (or alpha-3) code.
    public func annual(country: String) -> Double? {
        if let v = annualValues[country] { return v.value }
        if let a2 = alpha3[country] { return annualValues[a2]?.value }
        return nil
    }

    public func intensity(country rawCountry: String?, region: String?, utc: String?) -> Answer {
        // Codes arrive as models pass them: accept either case and alpha-3, as `annual` does.
        let country = rawCountry.map { c -> String in
            let u = c.trimmingCharacters(in: .whitespaces).uppercased()
            return alpha3[u] ?? u
        }
        if let hourly, let country, let utc, let hour = GridHour(iso: utc),
           let v = hourly.value(country: country, region: region, hour: hour) {
            return Answer(value: v.value, source: v.source)
        }
        if let country, let a = annualValues[country] {
            return Answer(value: a.value, source: "\(Self.annualSource) \(country) \(a.year)")
        }
        return Answer(value: world, source: "\(Self.annualSource) World 2024 (world default)")
    }
}

/// A UTC hour as seconds since 1970 truncated to the hour.
public struct GridHour: Hashable, Sendable {
    public let epochHour: Int64

    public init(epochHour: Int64) { self.epochHour = epochHour }

    /// Accepts `YYYY-MM-DD`, `YYYY-MM-DDThh[:mm[:ss[.f]]][Z|+00:00|+0000|-00:00|-0000]` (also with a space for T).
    public init?(iso: String) {
        let s = Array(iso.trimmingCharacters(in: .whitespaces).utf8)
        func num(_ a: Int, _ n: Int) -> Int? {
            guard a + n <= s.count else { return nil }
            var v = 0
            for i in a..<(a + n) {
                let c = s[i]
                guard c >= 48, c <= 57 else { return nil }
                v = v * 10 + Int(c - 48)
            }
            return v
        }
        guard s.count >= 10, let y = num(0, 4), s[4] == 45, let m = num(5, 2), s[7] == 45, let d = num(8, 2),
              (1...12).contains(m) else { return nil }
        // Strict: an impossible day (02-30) or hour (T25), trailing text or a non-zero offset used to be
        // accepted and silently mapped to another hour (an import stored T25 as T00 of the same day).
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
        guard d >= 1, d <= [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1] else { return nil }
        var hour = 0
        if s.count > 10 {
            guard s[10] == 84 || s[10] == 32, let h = num(11, 2), h < 24 else { return nil }
            hour = h
            var i = 13
            if i < s.count, s[i] == 58 {                       // :mm
                guard let mm = num(i + 1, 2), mm < 60 else { return nil }
                i += 3
                if i < s.count, s[i] == 58 {                   // :ss
                    guard let ss = num(i + 1, 2), ss < 60 else { return nil }
                    i += 3
                    if i < s.count, s[i] == 46 {               // .fraction
                        let start = i + 1
                        i = start
                        while i < s.count, s[i] >= 48, s[i] <= 57 { i += 1 }
                        guard i > start else { return nil }
                    }
                }
            }
            let zone = String(decoding: s[i...], as: UTF8.self)
            guard ["", "Z", "+00:00", "+0000", "-00:00", "-0000"].contains(zone) else { return nil }
        }
        // days from civil (proleptic Gregorian)
        let yy = m <= 2 ? y - 1 : y
        let era = (yy >= 0 ? yy : yy - 399) / 400
        let yoe = yy - era * 400
        let mp = (m + 9) % 12
        let doy = (153 * mp + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146097 + doe - 719468
        epochHour = Int64(days) * 24 + Int64(hour)
    }
}
