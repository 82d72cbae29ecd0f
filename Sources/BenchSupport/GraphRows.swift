import Foundation
import LuaHost

/// Structured (JSON-shaped) rows that flat CSV cannot carry: ad-platform graphs (placement, creative and
/// ad-format platforms, bidders, real-time data providers, distribution rates, cycles), image-size lists,
/// `property.channels`, per-device property bitrates and video players given as objects or `"default"`.
/// Every row is valid for packs gmsf-1.2 / gmsf-1.3.
public struct GraphRowGenerator: Sendable {
    public private(set) var rng: SplitMix64
    public init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    static let geos = ["NAMER", "LATAM", "EMEA", "JAPAC"]
    static let countries = ["US", "CA", "BR", "MX", "GB", "DE", "FR", "NG", "JP", "AU", "IN", "SG", "AE", "CL"]
    static let modelled = ["web", "app", "social", "ctv-bvod", "streaming-video", "digital-audio", "dooh", "search"]

    mutating func geoObject() -> LuaValue {
        var m: [(String, LuaValue)] = []
        for g in Self.geos where rng.chance(0.6) { m.append((g, .number(Double(rng.int(1...400)) * 1e-6))) }
        if m.isEmpty { m.append((rng.pick(Self.geos), .number(Double(rng.int(1...400)) * 1e-6))) }
        return .object(m)
    }

    /// A platform at `level` (1 = directly in a list); `ancestors` are the ids above it (for cycles).
    mutating func platform(level: Int, ancestors: [String], country: String?) -> LuaValue {
        var m: [(String, LuaValue)] = []
        let id = "p\(rng.below(12)).example"
        if rng.chance(0.9) { m.append(("id", .string(id))) }
        if rng.chance(0.3) { m.append(("name", .string("Platform \(id)"))) }
        if rng.chance(0.6) { m.append(("usage_emissions_per_bid_request_per_geo_gco2_per_imp", geoObject())) }
        if rng.chance(0.2) { m.append(("usage_emissions_per_rtdp_request_per_geo_gco2_per_imp", geoObject())) }
        if rng.chance(0.4) { m.append(("emissions_per_creative_request_per_geo_gco2_per_imp", geoObject())) }
        if rng.chance(0.5) { m.append(("average_bid_request_size", .number(Double(rng.int(500...4000))))) }
        if rng.chance(0.4) { m.append(("sends_client_side_requests", .boolean(rng.chance(0.6)))) }
        if rng.chance(0.4) { m.append(("model_quality", .number(Double(rng.int(2...10)) / 2))) }
        var bidders: [LuaValue] = []
        var bidderIDs: [String] = []
        if level < 4 && rng.chance(level == 1 ? 0.8 : 0.35) {
            for _ in 0..<rng.int(1...3) {
                if rng.chance(0.12), let a = (ancestors + [id]).randomElement(using: &rng) {
                    // a cycle: a bidder naming a platform on its own path
                    bidders.append(.object([("id", .string(a))]))
                    bidderIDs.append(a)
                } else {
                    let b = platform(level: level + 1, ancestors: ancestors + [id], country: country)
                    bidders.append(b)
                    if let bid = b["id"]?.stringValue { bidderIDs.append(bid) }
                }
            }
        }
        var providers: [LuaValue] = []
        if rng.chance(0.3) {
            for _ in 0..<rng.int(1...2) {
                var r: [(String, LuaValue)] = [("id", .string("rtdp\(rng.below(5)).example"))]
                if rng.chance(0.5) { r.append(("usage_emissions_per_rtdp_request_per_geo_gco2_per_imp", geoObject())) }
                providers.append(.object(r))
            }
        }
        if !bidderIDs.isEmpty && rng.chance(0.6) {
            var table: [(String, LuaValue)] = []
            var used = Set<String>()
            for b in bidderIDs where !used.contains(b) && rng.chance(0.7) {
                used.insert(b)
                var rates: [(String, LuaValue)] = []
                var codes = Set<String>()
                for _ in 0..<rng.int(1...3) {
                    let c = rng.chance(0.6) ? (country ?? "US") : rng.pick(Self.countries)
                    if codes.contains(c) { continue }
                    codes.insert(c)
                    rates.append((rng.chance(0.2) ? c.lowercased() : c, .number(Double(rng.int(0...100)) / 100)))
                }
                table.append((b, .object(rates)))
            }
            if !table.isEmpty { m.append(("distribution_rate_by_bidder_by_country", .object(table))) }
        }
        if !bidders.isEmpty { m.append(("bidders", .array(bidders))) }
        if !providers.isEmpty { m.append(("real_time_data_providers", .array(providers))) }
        return .object(m)
    }

    public mutating func next(index: Int) -> LuaValue {
        var row: [(String, LuaValue)] = [("id", .string("g\(index)"))]
        let n = Double(rng.logUniform(1, 500_000))
        row.append(("impressions", .number(n)))
        let country: String? = rng.chance(0.9) ? rng.pick(Self.countries) : nil
        if let country { row.append(("country", .string(country))) }
        let channel = rng.pick(["web", "web", "app", "social", "streaming-video", "ctv-bvod", "digital-audio", "search", "dooh"])
        var device: String?
        switch channel {
        case "ctv-bvod", "dooh": device = rng.chance(0.7) ? nil : "tv"
        case "digital-audio": device = rng.pick([nil, "phone", "pc", "tablet"])
        default: device = rng.pick([nil, "phone", "pc", "tablet"])
        }
        // property.channels: sometimes a list that decides the channel (3.1)
        var property: [(String, LuaValue)] = []
        if rng.chance(0.3) {
            var list: [LuaValue] = []
            for _ in 0..<rng.int(1...3) { list.append(.string(rng.pick(Self.modelled + ["olv", "audio", " Web "]))) }
            property.append(("channels", .array(list)))
            if rng.chance(0.5) { row.append(("channel", .string(channel))) }
        } else {
            row.append(("channel", .string(channel)))
        }
        if let device { row.append(("device_type", .string(device))) }
        if rng.chance(0.3) { row.append(("network_type", .string(rng.pick(["mobile", "fixed", " Mobile"])))) }
        row.append(("carbon_intensity_gco2e_per_kwh", .number(Double(rng.int(10...900)))))
        if rng.chance(0.3) { row.append(("views", .number((n * rng.unit()).rounded()))) }
        if rng.chance(0.3) { row.append(("plays", .number((n * rng.unit()).rounded()))) }
        if rng.chance(0.3) { row.append(("creative_is_3p_served", .boolean(rng.chance(0.6)))) }
        if rng.chance(0.3) {
            var sizes: [LuaValue] = []
            for _ in 0..<rng.int(1...3) { sizes.append(.string(rng.pick(["300x250", "728X90", " 70 x 70 ", "0320x050", "1x1"]))) }
            row.append(("creative_image_sizes", .array(sizes)))
        }
        if rng.chance(0.4) { row.append(("creative_video_duration_seconds", .number(Double(rng.pick([6, 15, 30]))))) }
        if rng.chance(0.1) { row.append(("creative_total_video_data_transfer_bytes", .number(n * 2_000_000))) }
        if rng.chance(0.2) { row.append(("creative_video_vast_bytes", .number(Double(rng.int(1000...9000))))) }
        if rng.chance(0.15) { row.append(("creative_video_size_bytes", .number(Double(rng.int(500_000...9_000_000))))) }
        if rng.chance(0.15) { row.append(("creative_video_view_rate", .number(Double(rng.int(0...100)) / 100))) }
        if rng.chance(0.15) { row.append(("creative_video_view_time_seconds", .number(Double(rng.int(1...20))))) }
        if rng.chance(0.15) { row.append(("creative_video_bitrate_kbps", .number(Double(rng.int(300...6000))))) }
        if rng.chance(0.25) { row.append(("creative_audio_duration_seconds", .number(Double(rng.pick([10, 30]))))) }
        if rng.chance(0.1) { row.append(("creative_total_audio_data_transfer_bytes", .number(n * 300_000))) }
        if rng.chance(0.2) { row.append(("creative_time_in_view_seconds", .number(Double(rng.int(1...90)) / 10))) }
        if rng.chance(0.3) {
            var cps: [LuaValue] = []
            for _ in 0..<rng.int(1...2) { cps.append(platform(level: 1, ancestors: [], country: country)) }
            row.append(("creative_ad_platforms", .array(cps)))
        }
        // ad_format
        var af: [(String, LuaValue)] = []
        if rng.chance(0.6) {
            let (w, h) = rng.pick([(300, 250), (640, 360), (1080, 1920), (4000, 3000)])
            if rng.chance(0.9) { af.append(("rendered_width_pixels", .number(Double(w)))) }
            if rng.chance(0.9) { af.append(("rendered_height_pixels", .number(Double(h)))) }
        }
        if rng.chance(0.2) { af.append(("image_sizes", .array([.string("300x600"), .string("120x60")]))) }
        if rng.chance(0.1) { af.append(("audio_duration_seconds", .number(15))) }
        if rng.chance(0.2) { af.append(("video_duration_seconds", .number(Double(rng.pick([10, 20]))))) }
        if rng.chance(0.3) { af.append(("other_assets_bytes", .number(Double(rng.int(0...50000))))) }
        if rng.chance(0.2) {
            var aps: [LuaValue] = []
            for _ in 0..<rng.int(1...2) { aps.append(platform(level: 1, ancestors: [], country: country)) }
            af.append(("ad_platforms", .array(aps)))
        }
        if rng.chance(0.3) {
            if rng.chance(0.3) {
                af.append(("video_player", .string(rng.pick(["default", " Default "]))))
            } else {
                var vp: [(String, LuaValue)] = []
                if rng.chance(0.5) { vp.append(("size_bytes", .number(Double(rng.int(0...400_000))))) }
                if rng.chance(0.5) { vp.append(("buffering_seconds", .number(Double(rng.int(0...10))))) }
                if rng.chance(0.7) { vp.append(("download_trigger", .string(rng.pick(["impression", "view", "play", "VIEW"])))) }
                if vp.isEmpty { vp.append(("buffering_seconds", .number(3))) }
                af.append(("video_player", .object(vp)))
            }
        }
        if !af.isEmpty { row.append(("ad_format", .object(af))) }
        if rng.chance(0.3) {
            if rng.chance(0.5) {
                property.append(("video_bitrate_kbps", .number(Double(rng.int(500...8000)))))
            } else {
                property.append(("video_bitrate_kbps", .object([("tv", .number(4000)), ("pc", .number(2200))])))
            }
        }
        if rng.chance(0.2) { property.append(("average_imps_per_session", .number(Double(rng.int(1...30))))) }
        if !property.isEmpty { row.append(("property", .object(property))) }
        if rng.chance(0.6) {
            var ps: [LuaValue] = []
            for _ in 0..<rng.int(1...3) { ps.append(platform(level: 1, ancestors: [], country: country)) }
            row.append(("placement", .object([("ad_platforms", .array(ps))])))
        }
        return .object(row)
    }
}

extension SplitMix64: RandomNumberGenerator {}
