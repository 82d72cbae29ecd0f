import Foundation
import LuaHost

/// SplitMix64: a small, fast, deterministic generator (same stream on every platform).
public struct SplitMix64: Sendable {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1.0p-53 }
    public mutating func chance(_ p: Double) -> Bool { unit() < p }
    /// Uniform in 0..<n.
    public mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    public mutating func int(_ r: ClosedRange<Int>) -> Int { r.lowerBound + below(r.count) }
    public mutating func pick<T>(_ xs: [T]) -> T { xs[below(xs.count)] }

    public mutating func weighted<T>(_ xs: [(T, Int)]) -> T {
        var total = 0
        for x in xs { total += x.1 }
        var r = below(total)
        for x in xs {
            if r < x.1 { return x.0 }
            r -= x.1
        }
        return xs[xs.count - 1].0
    }

    /// Log-uniform integer in [lo, hi].
    public mutating func logUniform(_ lo: Double, _ hi: Double) -> Int {
        Int(exp(log(lo) + unit() * (log(hi) - log(lo))).rounded())
    }
}

/// Realistic flat-CSV delivery rows for the gmsf model (spec scope3-gmsf.md section 2): channel, country,
/// device and network mixes, measured and modelled creatives, video and audio, property fields. Every row
/// it makes is valid for packs gmsf-1.2 / gmsf-1.3, and carbon intensity is mostly left empty so the host's
/// grid lookup runs.
public struct DeliveryGenerator: Sendable {
    /// The columns of Examples/campaign.csv plus four more creative fields.
    public static let header: [String] = [
        "id", "impressions", "channel", "country", "device_type", "network_type", "utc_datetime",
        "carbon_intensity_gco2e_per_kwh", "views", "plays", "creative_total_image_data_transfer_bytes",
        "creative_total_video_data_transfer_bytes", "creative_video_duration_seconds", "creative_video_bitrate_kbps",
        "creative_video_view_time_seconds", "creative_audio_duration_seconds", "creative_time_in_view_seconds",
        "creative_is_3p_served", "ad_format.rendered_width_pixels", "ad_format.rendered_height_pixels",
        "ad_format.video_duration_seconds", "ad_format.audio_duration_seconds", "ad_format.other_assets_bytes",
        "ad_format.video_player.size_bytes", "ad_format.video_player.buffering_seconds",
        "ad_format.video_player.download_trigger", "property.average_seconds_per_session_excluding_ads",
        "property.average_imps_per_session", "property.ad_funded_percentage", "property.video_bitrate_kbps",
        "creative_total_audio_data_transfer_bytes", "creative_video_vast_bytes", "creative_video_view_rate",
        "creative_video_size_bytes",
    ]
    static let column: [String: Int] = Dictionary(uniqueKeysWithValues: header.enumerated().map { ($1, $0) })

    /// Channel mix: web, app and social heavy; video, audio, search and DOOH lighter.
    static let channels: [(String, Int)] = [
        ("web", 30), ("app", 22), ("social", 22), ("streaming-video", 8), ("ctv-bvod", 6),
        ("digital-audio", 5), ("search", 4), ("dooh", 3),
    ]

    /// Many countries, US and large European/Asian markets heavier; a few outside the mobile-share table.
    static let countries: [(String, Int)] = [
        ("US", 250), ("GB", 80), ("DE", 60), ("FR", 60), ("JP", 50), ("CA", 40), ("AU", 40), ("IN", 40),
        ("BR", 40), ("MX", 30), ("ES", 30), ("IT", 30), ("NL", 20), ("PL", 20), ("SE", 10), ("KR", 15),
        ("ID", 15), ("TR", 12), ("ZA", 10), ("AE", 10), ("SA", 8), ("SG", 8), ("AR", 8), ("CO", 8), ("CL", 6),
        ("BE", 6), ("AT", 6), ("CH", 6), ("IE", 5), ("DK", 5), ("FI", 5), ("NO", 5), ("PT", 5), ("GR", 5),
        ("CZ", 5), ("RO", 5), ("HU", 4), ("NZ", 4), ("PH", 8), ("VN", 8), ("TH", 8), ("MY", 6), ("HK", 5),
        ("TW", 5), ("EG", 5), ("NG", 6), ("KE", 4), ("MA", 3), ("PK", 5), ("BD", 4), ("PE", 4), ("IL", 4),
        ("PR", 2), ("LU", 1), ("SK", 2), ("UA", 3), ("RU", 2), ("CN", 3), ("GH", 2), ("LK", 2),
    ]

    static let displaySizes: [(Int, Int)] = [(300, 250), (728, 90), (320, 50), (160, 600), (300, 600), (970, 250), (336, 280), (320, 100)]
    static let socialSizes: [(Int, Int)] = [(1080, 1080), (1080, 1350), (1080, 1920), (1200, 628)]

    public private(set) var rng: SplitMix64
    public init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    public static func headerLine() -> String { header.joined(separator: ",") + "\n" }

    /// One row's cells, in `header` order (empty = absent).
    public mutating func nextFields(index: Int) -> [String] {
        var f = [String](repeating: "", count: Self.header.count)
        func set(_ name: String, _ v: String) { f[Self.column[name]!] = v }
        func setN(_ name: String, _ v: Int) { f[Self.column[name]!] = String(v) }
        func setD(_ name: String, _ v: Double) { f[Self.column[name]!] = String(v) }

        let channel = rng.weighted(Self.channels)
        let n = rng.logUniform(50, 2_000_000)
        set("id", "r\(index)")
        setN("impressions", n)
        var channelText = channel
        if channel == "streaming-video" && rng.chance(0.2) { channelText = "olv" }
        if channel == "digital-audio" && rng.chance(0.2) { channelText = "audio" }
        if rng.chance(0.01) { channelText = " " + channelText.capitalized + " " }
        set("channel", channelText)
        if channel != "dooh" || rng.chance(0.9) {
            var c = rng.weighted(Self.countries)
            if rng.chance(0.01) { c = " " + c.lowercased() + " " }
            set("country", c)
        }
        let device: String
        switch channel {
        case "web": device = rng.weighted([("pc", 45), ("phone", 40), ("tablet", 10), ("", 5)])
        case "app": device = rng.weighted([("phone", 75), ("tablet", 20), ("", 5)])
        case "social": device = rng.weighted([("phone", 85), ("tablet", 8), ("pc", 7)])
        case "streaming-video": device = rng.weighted([("pc", 40), ("phone", 30), ("tablet", 10), ("tv", 10), ("", 10)])
        case "ctv-bvod": device = rng.weighted([("tv", 90), ("", 10)])
        case "digital-audio": device = rng.weighted([("phone", 60), ("smart-speaker", 15), ("pc", 10), ("tablet", 10), ("", 5)])
        case "search": device = rng.weighted([("phone", 55), ("pc", 35), ("tablet", 10)])
        default: device = ""
        }
        set("device_type", device)
        set("network_type", rng.weighted([("", 70), ("mobile", 18), ("fixed", 12)]))
        if rng.chance(0.3) {
            let month = rng.int(1...12), day = rng.int(1...28), hour = rng.int(0...23)
            let form = rng.below(3)
            let d = String(format: "2026-%02d-%02d", month, day)
            set("utc_datetime", form == 0 ? d : form == 1 ? d + String(format: "T%02d:00:00Z", hour) : d + String(format: " %02d:30", hour))
        }
        if rng.chance(0.05) { setD("carbon_intensity_gco2e_per_kwh", Double(rng.int(20...800))) }
        if rng.chance(0.3) { set("creative_is_3p_served", rng.chance(0.7) ? "true" : "false") }

        func display(_ sizes: [(Int, Int)], measured: Double) {
            let (w, h) = rng.pick(sizes)
            if rng.chance(0.9) { setN("ad_format.rendered_width_pixels", w); setN("ad_format.rendered_height_pixels", h) }
            if rng.chance(measured) {
                let perImp = Double(w * h) * (0.1 + rng.unit() * 0.5)
                setN("creative_total_image_data_transfer_bytes", Int(perImp * Double(n)))
            }
            if rng.chance(0.3) { setN("ad_format.other_assets_bytes", rng.int(2000...60000)) }
            if rng.chance(0.25) { setD("creative_time_in_view_seconds", Double(rng.int(5...150)) / 10) }
        }
        func video(durations: [Int], primaryShare: Double, sizes: [(Int, Int)]) {
            let dur = rng.pick(durations)
            let inCreative = rng.chance(0.5)
            setN(inCreative ? "creative_video_duration_seconds" : "ad_format.video_duration_seconds", dur)
            if !rng.chance(primaryShare) {
                let (w, h) = rng.pick(sizes)
                setN("ad_format.rendered_width_pixels", w); setN("ad_format.rendered_height_pixels", h)
            }
            switch rng.below(10) {
            case 0, 1: setN("creative_total_video_data_transfer_bytes", Int(Double(n) * Double(dur) * Double(rng.int(100...600)) * 1000 / 8))
            case 2, 3: setN("creative_video_bitrate_kbps", rng.pick([800, 1200, 1500, 2500, 4500, 6000]))
            case 4: setN("creative_video_size_bytes", dur * rng.int(100_000...700_000))
            default: break
            }
            switch rng.below(6) {
            case 0: setD("creative_video_view_time_seconds", Double(rng.int(10...(dur * 10))) / 10)
            case 1: setD("creative_video_view_rate", Double(rng.int(10...100)) / 100)
            default: break
            }
            if rng.chance(0.2) { setN("creative_video_vast_bytes", rng.int(2000...15000)) }
            if rng.chance(0.3) {
                if rng.chance(0.5) { setN("ad_format.video_player.size_bytes", rng.int(100_000...500_000)) }
                if rng.chance(0.5) { setN("ad_format.video_player.buffering_seconds", rng.int(1...8)) }
                let trigger = rng.weighted([("impression", 3), ("view", 3), ("play", 1)])
                set("ad_format.video_player.download_trigger", trigger)
                if trigger == "view" && rng.chance(0.8) { setN("views", Int(Double(n) * (0.3 + rng.unit() * 0.6))) }
                if trigger == "play" && rng.chance(0.8) { setN("plays", Int(Double(n) * (0.2 + rng.unit() * 0.7))) }
            }
        }
        func session(_ secs: ClosedRange<Int>, _ imps: ClosedRange<Int>) {
            guard rng.chance(0.2) else { return }
            setN("property.average_seconds_per_session_excluding_ads", rng.int(secs))
            setN("property.average_imps_per_session", rng.int(imps))
            if rng.chance(0.5) { setN("property.ad_funded_percentage", rng.int(30...100)) }
        }

        switch channel {
        case "web":
            if rng.chance(0.06) { video(durations: [15, 20, 30], primaryShare: 0, sizes: [(640, 360), (400, 225)]) } else { display(Self.displaySizes, measured: 0.5) }
            session(60...900, 5...40)
        case "app":
            if rng.chance(0.1) {
                display([(320, 480), (768, 1024)], measured: 0.5)
                if rng.chance(0.5) { f[Self.column["ad_format.rendered_width_pixels"]!] = ""; f[Self.column["ad_format.rendered_height_pixels"]!] = "" }
            } else if rng.chance(0.08) {
                video(durations: [15, 30], primaryShare: 0.6, sizes: [(320, 180)])
            } else {
                display([(320, 50), (300, 250), (320, 100), (728, 90)], measured: 0.5)
            }
            session(60...600, 4...30)
        case "social":
            if rng.chance(0.35) { video(durations: [6, 10, 15, 30], primaryShare: 0.3, sizes: Self.socialSizes) } else { display(Self.socialSizes, measured: 0.5) }
            if rng.chance(0.2) { setD("creative_time_in_view_seconds", Double(rng.int(5...80)) / 10) }
            session(60...1200, 5...50)
        case "streaming-video":
            video(durations: [15, 20, 30], primaryShare: 0.4, sizes: [(640, 360), (1280, 720), (400, 300)])
            if rng.chance(0.15) { setN("property.video_bitrate_kbps", rng.pick([1500, 2500, 4500])) }
            session(100...1800, 1...10)
        case "ctv-bvod":
            video(durations: [15, 30, 60], primaryShare: 1, sizes: [])
            if rng.chance(0.2) { setN("property.video_bitrate_kbps", rng.pick([3000, 4500, 8000])) }
            session(600...3600, 6...24)
        case "digital-audio":
            let dur = rng.pick([15, 30, 60])
            setN(rng.chance(0.6) ? "creative_audio_duration_seconds" : "ad_format.audio_duration_seconds", dur)
            if rng.chance(0.2) { setN("creative_total_audio_data_transfer_bytes", n * dur * rng.pick([96, 128, 160]) / 8 * 1000) }
            if rng.chance(0.2) { display([(300, 250), (640, 640)], measured: 0.3) }
            session(600...3600, 3...12)
        case "search":
            if rng.chance(0.2) { setN("ad_format.other_assets_bytes", rng.int(500...3000)) }
        default: // dooh
            if rng.chance(0.7) { setN("plays", Int(Double(n) * (0.001 + rng.unit() * 0.01)) + 1) }
            if rng.chance(0.6) {
                setN("ad_format.video_duration_seconds", rng.pick([6, 10, 15]))
            } else {
                setN("creative_total_image_data_transfer_bytes", rng.int(200_000...2_000_000) * 100)
            }
        }
        return f
    }

    /// One CSV line (cells that need it are quoted).
    public static func csvLine(_ fields: [String]) -> String {
        var s = ""
        for (i, v) in fields.enumerated() {
            if i > 0 { s += "," }
            if v.contains(",") || v.contains("\"") || v.contains("\n") {
                s += "\"" + v.replacingOccurrences(of: "\"", with: "\"\"") + "\""
            } else {
                s += v
            }
        }
        return s + "\n"
    }

    /// Counters that grow with a row's impressions (whole-row totals, D5 of the scope3 spec).
    static let scaling = ["impressions", "views", "plays", "creative_total_image_data_transfer_bytes",
                          "creative_total_audio_data_transfer_bytes", "creative_total_video_data_transfer_bytes"]

    /// A row of a campaign with `profiles` distinct deliveries: a real export repeats the same creative,
    /// property, country and device over days and line items, with different impressions each time.
    /// Picks one of the first `profiles` rows this generator makes (the popular ones more often) and
    /// rescales its counters to a new impression count.
    public mutating func nextCampaignFields(index: Int, templates: [[String]]) -> [String] {
        let u = rng.unit()
        var f = templates[min(templates.count - 1, Int(Double(templates.count) * u * u))]
        let n = rng.logUniform(50, 2_000_000)
        let old = Double(f[Self.column["impressions"]!]) ?? 1
        let ratio = Double(n) / max(old, 1)
        for c in Self.scaling {
            let i = Self.column[c]!
            if let v = Double(f[i]) { f[i] = String(Int((v * ratio).rounded())) }
        }
        f[Self.column["impressions"]!] = String(n)
        f[Self.column["id"]!] = "r\(index)"
        return f
    }

    /// Writes a header and `rows` rows to `path`. With `profiles` > 0 the rows repeat that many distinct
    /// deliveries (`nextCampaignFields`); with 0 every row is drawn afresh.
    public static func writeCSV(rows: Int, seed: UInt64, profiles: Int = 0, to path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil), let h = FileHandle(forWritingAtPath: path) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
        defer { try? h.close() }
        var gen = DeliveryGenerator(seed: seed)
        var buffer = headerLine()
        let templates = (0..<profiles).map { gen.nextFields(index: $0 + 1) }
        for i in 0..<rows {
            buffer += csvLine(profiles > 0 ? gen.nextCampaignFields(index: i + 1, templates: templates) : gen.nextFields(index: i + 1))
            if buffer.utf8.count >= 1 << 20 { try h.write(contentsOf: Data(buffer.utf8)); buffer = "" }
        }
        try h.write(contentsOf: Data(buffer.utf8))
    }
}
