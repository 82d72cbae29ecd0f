import Foundation
import LuaHost
import PlumeCore

/// The gmsf framework of the Scope3 family (spec scope3-gmsf.md, packs gmsf-1.2 / gmsf-1.3) written by
/// hand in Swift: a baseline for benchmarks and a differential oracle for the Lua model. It computes the
/// resolution steps 3.1-3.6 and the categories 4.1-4.4 and 4.6 of a row that is already valid; it does not
/// validate (section 2) and does not model the may-2024 power model (4.7) or media distribution (4.5, not
/// reported by gmsf). It never calls Lua.
///
/// Coefficients are read once, at init, into flat tables indexed by channel, device and country, so a row
/// costs one pass over its fields and plain arithmetic.
public struct GMSFNative: Sendable {
    /// gmsf's categories in the model's order (spec section 5).
    public static let categories = [
        "adSelection.adPlatform", "adSelection.dataTransfer",
        "creativeDelivery.adPlatform", "creativeDelivery.dataTransfer", "creativeDelivery.consumerDevice",
        "techManipulation.creativeStorage",
    ]

    public struct Output: Sendable, Equatable {
        public var adSelectionAdPlatform = 0.0
        public var adSelectionDataTransfer = 0.0
        public var creativeDeliveryAdPlatform = 0.0
        public var creativeDeliveryDataTransfer = 0.0
        public var creativeDeliveryConsumerDevice = 0.0
        public var techManipulationCreativeStorage = 0.0
        /// Sum of the six categories, in the order of `categories`.
        public var total = 0.0
        /// The categories in the order of `GMSFNative.categories`.
        public var values: [Double] {
            [adSelectionAdPlatform, adSelectionDataTransfer, creativeDeliveryAdPlatform,
             creativeDeliveryDataTransfer, creativeDeliveryConsumerDevice, techManipulationCreativeStorage]
        }
    }

    /// A row the baseline cannot compute (it assumes valid rows; these are the cases it notices).
    public struct Unsupported: Error, CustomStringConvertible {
        public let description: String
        init(_ d: String) { description = d }
    }

    // MARK: vocabularies

    enum Channel: Int, CaseIterable {
        case web, app, social, ctvBvod, streamingVideo, digitalAudio, dooh, search
        static let names = ["web", "app", "social", "ctv-bvod", "streaming-video", "digital-audio", "dooh", "search"]
        var name: String { Self.names[rawValue] }
        /// A normalised (trimmed, lower-case) channel name or alias; nil for unmodelled or unknown names.
        init?(normalized s: String) {
            switch s {
            case "web": self = .web
            case "app": self = .app
            case "social": self = .social
            case "ctv-bvod": self = .ctvBvod
            case "streaming-video", "olv": self = .streamingVideo
            case "digital-audio", "audio": self = .digitalAudio
            case "dooh": self = .dooh
            case "search": self = .search
            default: return nil
            }
        }
    }

    enum Device: Int, CaseIterable {
        case phone, tablet, pc, tv, smartSpeaker, radio
        static let names = ["phone", "tablet", "pc", "tv", "smart-speaker", "radio"]
        init?(normalized s: String) {
            guard let i = Self.names.firstIndex(of: s) else { return nil }
            self.init(rawValue: i)
        }
    }

    enum Trigger { case impression, view, play
        init?(normalized s: String) {
            switch s {
            case "impression": self = .impression
            case "view": self = .view
            case "play": self = .play
            default: return nil
            }
        }
    }

    /// Geo index: 0 NAMER, 1 LATAM, 2 EMEA, 3 JAPAC.
    static let geoNames = ["NAMER", "LATAM", "EMEA", "JAPAC"]

    /// Appendix A: every accepted country code and its geo.
    static let appendixA: [(Int, String)] = [
        (0, "BM CA GL PM US"),
        (1, "AG AI AR AW BB BL BO BQ BR BS BV BZ CL CO CR CU CW DM DO EC FK GD GF GP GS GT GY HN HT JM KN KY LC MF MQ MS MX NI PA PE PR PY SR SV SX TC TT UY VC VE VG VI"),
        (2, "AD AE AL AM AO AT AX AZ BA BE BF BG BH BI BJ BW BY CD CF CG CH CI CM CV CY CZ DE DJ DK DZ EE EG EH ER ES ET FI FO FR GA GB GE GG GH GI GM GN GQ GR GW HR HU IE IL IM IO IQ IR IS IT JE JO KE KM KW LB LI LR LS LT LU LV LY MA MC MD ME MG MK ML MR MT MU MW MZ NA NE NG NL NO OM PL PS PT QA RE RO RS RU RW SA SC SD SE SH SI SJ SK SL SM SN SO SS ST SY SZ TD TF TG TN TR TZ UA UG VA XK YE YT ZA ZM ZW"),
        (3, "AF AQ AS AU BD BN BT CC CK CN CX FJ FM GU HK HM ID IN JP KG KH KI KP KR KZ LA LK MH MM MN MO MP MV MY NC NF NP NR NU NZ PF PG PH PK PN PW SB SG TH TJ TK TL TM TO TV TW UM UZ VN VU WF WS"),
    ]

    // MARK: coefficients (flat)

    let deviceByChannel: [Device?]                 // default_device_by_channel
    let channelByDevice: [[String]]                // default_channel_by_device (normalised, de-aliased names)
    let pctMobileByDevice: [Double?]
    let pctMobileByCountry: [Double?]              // 676 slots, by country index
    let pctMobileWorld: Double
    let usageKwhPerGB: (mobile: Double, fixed: Double)
    let embodiedPerKB: (mobile: Double, fixed: Double)
    let imageCompression: Double
    let audioBitrate: [Double?]
    let videoBitrate: [Double?]
    let nonPrimaryVideoBitrate: Double
    let playerSize: Double
    let triggerByChannel: [Trigger?]
    /// generic creative ad server / measurement platform: geo_value by geo index, index 4 = no geo (mean).
    let genericServer: [Double?]
    let genericMeasurement: [Double?]
    let edgeUse: Double
    let edgeEmbodied: Double
    let deviceWidth: [Double?]
    let deviceHeight: [Double?]
    let defaultTimeInView: Double
    let audioUtilisation: [Double?]
    let deviceWatts: [Double?]
    let devicePEPS: [Double?]
    let deviceFuel: [Double?]
    let storageKgPerGB: Double
    let storageFactor: [Double?]                   // raw + iterations, by channel
    let impressionsPerCreative: Double
    let serverEmbodied: Double                     // EMB
    let requestSize: [Double?]                     // REQ by channel
    let countAdPlatform: [Double?]
    let adSelectionByChannel: [Double?]
    let genericAdServer: Double
    let genericAdServerByChannel: [Double?]
    let bidRequestPer1000: Double
    let rtdpRequestPer1000: Double

    // MARK: grid

    let geoOfCountry: [Int8]                       // 676 slots; -1 = not an Appendix A code
    let annualByCountry: [Double?]                 // host grid annual values, used when no hourly store
    let grid: GridLookup
    let gridWorld: Double

    @inline(__always) static func countryIndex(_ s: String) -> Int? {
        var it = s.utf8.makeIterator()
        guard let a = it.next(), let b = it.next(), it.next() == nil,
              a >= 65, a <= 90, b >= 65, b <= 90 else { return nil }
        return Int(a - 65) * 26 + Int(b - 65)
    }

    public init(coefficients c: ResolvedCoefficients, grid: GridLookup) throws {
        func value(_ path: String) throws -> LuaValue {
            guard let v = c.value(at: path) else { throw Unsupported("pack \(c.packID) lacks \(path)") }
            return v
        }
        func number(_ path: String) throws -> Double {
            guard let d = try value(path).doubleValue else { throw Unsupported("\(path) is not a number") }
            return d
        }
        func members(_ path: String) throws -> [(String, LuaValue)] {
            switch try value(path) {
            case .object(let m): return m
            case .array(let a) where a.isEmpty: return []
            default: throw Unsupported("\(path) is not a table")
            }
        }
        func byChannel(_ path: String) throws -> [Double?] {
            var out = [Double?](repeating: nil, count: Channel.allCases.count)
            for (k, v) in try members(path) { if let ch = Channel(normalized: k), k == ch.name { out[ch.rawValue] = v.doubleValue } }
            return out
        }
        func byDevice(_ path: String) throws -> [Double?] {
            var out = [Double?](repeating: nil, count: Device.allCases.count)
            for (k, v) in try members(path) { if let d = Device(normalized: k) { out[d.rawValue] = v.doubleValue } }
            return out
        }
        func geoTable(_ path: String) throws -> [Double?] {
            let m = try members(path)
            var out = [Double?](repeating: nil, count: 5)
            var sum = 0.0, n = 0
            for g in 0..<4 {
                if let v = m.first(where: { $0.0 == Self.geoNames[g] })?.1.doubleValue { out[g] = v; sum += v; n += 1 }
            }
            let mean: Double? = n > 0 ? sum / Double(n) : nil
            for g in 0..<4 where out[g] == nil { out[g] = mean }
            out[4] = mean
            return out
        }

        var dbc = [Device?](repeating: nil, count: Channel.allCases.count)
        for (k, v) in try members("default_device_by_channel") {
            if let ch = Channel(normalized: k), k == ch.name, let s = v.stringValue { dbc[ch.rawValue] = Device(normalized: s) }
        }
        deviceByChannel = dbc
        var cbd = [[String]](repeating: [], count: Device.allCases.count)
        for (k, v) in try members("default_channel_by_device") {
            guard let d = Device(normalized: k), case .array(let list) = v else { continue }
            cbd[d.rawValue] = list.compactMap { $0.stringValue.map(Self.dealias) }
        }
        channelByDevice = cbd
        pctMobileByDevice = try byDevice("default_percent_mobile_by_device_type")
        var pbc = [Double?](repeating: nil, count: 676)
        for (k, v) in try members("default_percent_mobile_by_country") { if let i = Self.countryIndex(k) { pbc[i] = v.doubleValue } }
        pctMobileByCountry = pbc
        pctMobileWorld = try number("default_percent_mobile")
        usageKwhPerGB = (try number("default_usage_kwh_per_gb.mobile"), try number("default_usage_kwh_per_gb.fixed"))
        embodiedPerKB = (try number("default_network_embodied_emissions_gco2e_per_kb.mobile"),
                         try number("default_network_embodied_emissions_gco2e_per_kb.fixed"))
        imageCompression = try number("default_image_compression_ratio")
        audioBitrate = try byDevice("default_audio_bitrate_kbps")
        videoBitrate = try byDevice("default_video_bitrate_kbps")
        nonPrimaryVideoBitrate = try number("default_non_primary_video_bitrate_kbps")
        playerSize = try number("default_video_player_size_bytes")
        var tbc = [Trigger?](repeating: nil, count: Channel.allCases.count)
        for (k, v) in try members("default_video_player_download_trigger") {
            if let ch = Channel(normalized: k), k == ch.name, let s = v.stringValue { tbc[ch.rawValue] = Trigger(normalized: s) }
        }
        triggerByChannel = tbc
        genericServer = try geoTable("generic_creative_ad_server.emissions_per_creative_request_per_geo_gco2_per_imp")
        genericMeasurement = try geoTable("generic_measurement_platform.emissions_per_creative_request_per_geo_gco2_per_imp")
        edgeUse = try number("edge_node_use_watts_per_kb")
        edgeEmbodied = try number("edge_node_embodied_gco2e_per_kb")
        deviceWidth = try byDevice("default_rendered_device_width")
        deviceHeight = try byDevice("default_rendered_device_height")
        defaultTimeInView = try number("default_time_in_view_seconds")
        audioUtilisation = try byDevice("default_audio_power_utilization")
        deviceWatts = try byDevice("default_device_watts")
        devicePEPS = try byDevice("default_device_embodied_emissions_per_second")
        deviceFuel = try byDevice("default_device_usage_emissions_from_fuel_consumption_per_second")
        // 4.4: the storage mix (percentages divided by 100, D1-D3)
        var kg = 0.0
        for t in ["cloud_storage", "hard_disk_drive", "linear_tape_open", "solid_state_drive"] {
            kg += try number("default_storage_kgco2e_per_gb.\(t)") * number("default_storage_usage_pct.\(t)") / 100
        }
        storageKgPerGB = kg
        let raw = try byChannel("creative_raw_asset_size_factor_by_channel")
        let iter = try byChannel("creative_work_iterations_factor_by_channel")
        storageFactor = zip(raw, iter).map { r, i in r.flatMap { r in i.map { r + $0 } } }
        impressionsPerCreative = try number("default_impressions_per_creative")
        serverEmbodied = try number("default_platform_embodied_emissions_per_bid_request_gco2e_per_imp")
        requestSize = try byChannel("default_consumer_device_request_size_bytes")
        countAdPlatform = try byChannel("default_count_ad_platform")
        adSelectionByChannel = try byChannel("default_emissions_ad_selection_gco2_per_imp_by_channel")
        genericAdServer = try number("default_emissions_generic_ad_server_gco2_per_imp")
        genericAdServerByChannel = try byChannel("default_emissions_generic_ad_server_gco2_per_imp_by_channel")
        bidRequestPer1000 = try number("default_emissions_per_bid_request_gco2_per_imp")
        rtdpRequestPer1000 = try number("default_emissions_per_rtdp_request_gco2_per_imp")

        var geo = [Int8](repeating: -1, count: 676)
        for (g, codes) in Self.appendixA {
            for code in codes.split(separator: " ") { if let i = Self.countryIndex(String(code)) { geo[i] = Int8(g) } }
        }
        geoOfCountry = geo
        var annual = [Double?](repeating: nil, count: 676)
        for (code, v) in grid.annualValues { if let i = Self.countryIndex(code) { annual[i] = v.value } }
        annualByCountry = annual
        self.grid = grid
        gridWorld = grid.world
    }

    // MARK: text

    @inline(__always) static func isSpace(_ c: UInt8) -> Bool { c == 32 || (c >= 9 && c <= 13) }

    /// ASCII trim and lower-case (D47); returns `s` itself when nothing changes.
    static func normalize(_ s: String, upper: Bool = false) -> String {
        var clean = true
        var first = true
        var last: UInt8 = 0
        for c in s.utf8 {
            if first && isSpace(c) { clean = false; break }
            first = false
            if upper ? (c >= 97 && c <= 122) : (c >= 65 && c <= 90) { clean = false; break }
            last = c
        }
        if clean && !isSpace(last) { return s }
        var bytes = Array(s.utf8)
        while let f = bytes.first, isSpace(f) { bytes.removeFirst() }
        while let l = bytes.last, isSpace(l) { bytes.removeLast() }
        for i in bytes.indices {
            let c = bytes[i]
            if upper { if c >= 97 && c <= 122 { bytes[i] = c - 32 } } else if c >= 65 && c <= 90 { bytes[i] = c + 32 }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func dealias(_ s: String) -> String {
        switch s {
        case "olv": return "streaming-video"
        case "audio": return "digital-audio"
        default: return s
        }
    }

    /// `"<w>x<h>"` (D52) -> w * h.
    static func imageArea(_ s: String) throws -> Double {
        var w = 0.0, h = 0.0, side = 0, digits = 0
        for c in s.utf8 {
            if c >= 48 && c <= 57 {
                if side == 0 { w = w * 10 + Double(c - 48) } else { h = h * 10 + Double(c - 48) }
                digits += 1
            } else if c == 120 || c == 88 {
                guard side == 0, digits > 0 else { throw Unsupported("bad image size \(s)") }
                side = 1; digits = 0
            } else if !isSpace(c) {
                throw Unsupported("bad image size \(s)")
            }
        }
        guard side == 1, digits > 0 else { throw Unsupported("bad image size \(s)") }
        return w * h
    }

    // MARK: row access

    @inline(__always) static func num(_ v: LuaValue) -> Double? {
        switch v {
        case .number(let d): return d
        case .integer(let i): return Double(i)
        default: return nil
        }
    }

    @inline(__always) static func fields(_ v: LuaValue?) -> [(String, LuaValue)]? {
        switch v {
        case .object(let m)?: return m
        case .array(let a)? where a.isEmpty: return []
        default: return nil
        }
    }

    @inline(__always) static func list(_ v: LuaValue?) -> [LuaValue]? {
        switch v {
        case .array(let a)?: return a
        case .object(let m)? where m.isEmpty: return []
        default: return nil
        }
    }

    @inline(__always) static func member(_ m: [(String, LuaValue)], _ key: String) -> LuaValue? {
        for (k, v) in m where k == key {
            if case .nil = v { return nil }
            return v
        }
        return nil
    }

    /// The fields of a row the gmsf equations read, gathered in one pass.
    struct Row {
        var n = 0.0
        var views: Double?, plays: Double?, ci: Double?
        var country: String?, region: String?, utc: String?
        var channel: String?, device: String?, network: String?
        var is3p = false
        var imageBytes: Double?, audioBytes: Double?, videoBytes: Double?, vastBytes: Double?
        var videoBitrate: Double?, videoSize: Double?, videoDuration: Double?, viewTime: Double?, viewRate: Double?
        var timeInView: Double?, audioDuration: Double?
        var imageSizes: [LuaValue]?
        var creativePlatforms: [LuaValue]?
        var adFormat: [(String, LuaValue)]?
        var property: [(String, LuaValue)]?
        var placement: [(String, LuaValue)]?
    }

    static func gather(_ value: LuaValue) throws -> Row {
        guard case .object(let members) = value else { throw Unsupported("a row must be an object") }
        var r = Row()
        var hasImpressions = false
        for (k, v) in members {
            if case .nil = v { continue }
            switch k {
            case "impressions": r.n = num(v) ?? .nan; hasImpressions = true
            case "channel": r.channel = v.stringValue
            case "country": r.country = v.stringValue
            case "device_type": r.device = v.stringValue
            case "network_type": r.network = v.stringValue
            case "utc_datetime": r.utc = v.stringValue
            case "region": r.region = v.stringValue
            case "carbon_intensity_gco2e_per_kwh": r.ci = num(v)
            case "views": r.views = num(v)
            case "plays": r.plays = num(v)
            case "creative_total_image_data_transfer_bytes": r.imageBytes = num(v)
            case "creative_total_audio_data_transfer_bytes": r.audioBytes = num(v)
            case "creative_total_video_data_transfer_bytes": r.videoBytes = num(v)
            case "creative_video_vast_bytes": r.vastBytes = num(v)
            case "creative_video_bitrate_kbps": r.videoBitrate = num(v)
            case "creative_video_size_bytes": r.videoSize = num(v)
            case "creative_video_duration_seconds": r.videoDuration = num(v)
            case "creative_video_view_time_seconds": r.viewTime = num(v)
            case "creative_video_view_rate": r.viewRate = num(v)
            case "creative_time_in_view_seconds": r.timeInView = num(v)
            case "creative_audio_duration_seconds": r.audioDuration = num(v)
            case "creative_is_3p_served": if case .boolean(let b) = v { r.is3p = b }
            case "creative_image_sizes": r.imageSizes = list(v)
            case "creative_ad_platforms": r.creativePlatforms = list(v)
            case "ad_format": r.adFormat = fields(v)
            case "property": r.property = fields(v)
            case "placement": r.placement = fields(v)
            default: break
            }
        }
        guard hasImpressions, r.n.isFinite else { throw Unsupported("impressions is required") }
        return r
    }

    // MARK: evaluation

    /// The gmsf categories of one valid row.
    public func evaluate(_ value: LuaValue) throws -> Output {
        let r = try Self.gather(value)
        let n = r.n

        // ad_format and its player
        var width: Double?, height: Double?, fmtAudio: Double?, fmtVideo: Double?, other: Double?
        var fmtImageSizes: [LuaValue]?, fmtPlatforms: [LuaValue]?
        var playerGiven = false
        var vpSize: Double?, vpBuffer: Double?, vpTrigger: Trigger?
        if let af = r.adFormat {
            for (k, v) in af {
                if case .nil = v { continue }
                switch k {
                case "rendered_width_pixels": width = Self.num(v)
                case "rendered_height_pixels": height = Self.num(v)
                case "audio_duration_seconds": fmtAudio = Self.num(v)
                case "video_duration_seconds": fmtVideo = Self.num(v)
                case "other_assets_bytes": other = Self.num(v)
                case "image_sizes": fmtImageSizes = Self.list(v)
                case "ad_platforms": fmtPlatforms = Self.list(v)
                case "video_player":
                    playerGiven = true
                    if let vp = Self.fields(v) {
                        for (pk, pv) in vp {
                            if case .nil = pv { continue }
                            switch pk {
                            case "size_bytes": vpSize = Self.num(pv)
                            case "buffering_seconds": vpBuffer = Self.num(pv)
                            case "download_trigger":
                                if let s = pv.stringValue { vpTrigger = Trigger(normalized: Self.normalize(s)) }
                            default: break
                            }
                        }
                    }
                default: break
                }
            }
        }

        // property: channels and video bitrate
        var propChannels: [String]?
        var propBitrate: LuaValue?
        if let p = r.property {
            for (k, v) in p {
                if case .nil = v { continue }
                if k == "channels", let l = Self.list(v) {
                    propChannels = l.compactMap { $0.stringValue.map { Self.dealias(Self.normalize($0)) } }
                } else if k == "video_bitrate_kbps" {
                    propBitrate = v
                }
            }
        }

        // 3.1 channel
        let rowChannel = r.channel.map { Self.dealias(Self.normalize($0)) }
        let rowDevice = r.device.map { Self.normalize($0) }
        let channelName: String
        if let list = propChannels, !list.isEmpty {
            if list.count == 1 {
                channelName = list[0]
            } else if let rc = rowChannel, list.contains(rc) {
                channelName = rc
            } else if ((r.audioBytes ?? 0) > 0 || (r.audioDuration ?? 0) > 0 || (fmtAudio ?? 0) > 0),
                      list.contains("digital-audio") {
                channelName = "digital-audio"
            } else if let d = rowDevice.flatMap(Device.init(normalized:)),
                      let pick = channelByDevice[d.rawValue].first(where: { list.contains($0) }) {
                channelName = pick
            } else {
                channelName = list[0]
            }
        } else if let rc = rowChannel {
            channelName = rc
        } else {
            throw Unsupported("channel is required")
        }
        guard let channel = Channel(normalized: channelName) else { throw Unsupported("channel \(channelName) is not modelled") }
        let ch = channel.rawValue

        // 3.2 device
        let device: Device
        if let d = rowDevice {
            guard let dv = Device(normalized: d) else { throw Unsupported("unknown device_type \(d)") }
            device = dv
        } else {
            guard let dv = deviceByChannel[ch] else { throw Unsupported("no default device for \(channel.name)") }
            device = dv
        }
        let dev = device.rawValue

        // country (normalised), geo
        var countryCode: String?
        var countryIdx: Int?
        if let c = r.country {
            let u = Self.normalize(c, upper: true)
            countryCode = u
            countryIdx = Self.countryIndex(u)
        }
        let geo: Int? = countryIdx.flatMap { geoOfCountry[$0] >= 0 ? Int(geoOfCountry[$0]) : nil }

        // 3.3 carbon intensity
        let ci: Double
        if let v = r.ci {
            ci = v
        } else if grid.hourly == nil {
            ci = countryIdx.flatMap { annualByCountry[$0] } ?? gridWorld
        } else {
            ci = grid.intensity(country: countryCode, region: r.region, utc: r.utc).value
        }

        // 3.4 network
        let p: Double
        let network = r.network.map { Self.normalize($0) }
        if network == "mobile" {
            p = 1
        } else if network == "fixed" {
            p = 0
        } else if let v = pctMobileByDevice[dev] {
            p = v / 100
        } else if let i = countryIdx, let v = pctMobileByCountry[i] {
            p = v / 100
        } else {
            p = pctMobileWorld / 100
        }
        let usagePerGB = usageKwhPerGB.mobile * p + usageKwhPerGB.fixed * (1 - p)
        let embodiedKB = embodiedPerKB.mobile * p + embodiedPerKB.fixed * (1 - p)
        @inline(__always) func dataTransfer(_ kB: Double) -> Double {
            kB * usagePerGB / 1e6 * ci + kB * embodiedKB
        }

        // 3.6 creative facts
        let primary = width == nil && height == nil
        let imageSizes = r.imageSizes ?? fmtImageSizes ?? []
        let audioDuration = r.audioDuration ?? fmtAudio
        let videoDuration = r.videoDuration ?? fmtVideo
        let hasVideo = videoDuration != nil || r.videoBytes != nil
        let defaultTrigger = triggerByChannel[ch] ?? .impression
        let size: Double, buffer: Double, trigger: Trigger
        if playerGiven {
            size = vpSize ?? playerSize
            buffer = vpBuffer ?? .infinity
            trigger = vpTrigger ?? defaultTrigger
        } else if hasVideo && !primary {
            size = playerSize; buffer = .infinity; trigger = defaultTrigger
        } else {
            size = 0; buffer = .infinity; trigger = defaultTrigger
        }
        let loads: Double
        switch trigger {
        case .impression: loads = n
        case .view: loads = r.views ?? n
        case .play: loads = r.plays ?? n
        }

        // 4.1 creativeDelivery.dataTransfer
        let imageBytes: Double
        if let m = r.imageBytes {
            imageBytes = m
        } else {
            var area = 0.0
            for s in imageSizes {
                guard let text = s.stringValue else { throw Unsupported("bad image size") }
                area += try Self.imageArea(text)
            }
            imageBytes = area * 3 / imageCompression * n
        }
        let audioBytes: Double
        if let m = r.audioBytes {
            audioBytes = m
        } else if let d = audioDuration {
            guard let br = audioBitrate[dev] else { throw Unsupported("default_audio_bitrate_kbps lacks \(Device.names[dev])") }
            audioBytes = d * br / 8 * 1000 * n
        } else {
            audioBytes = 0
        }
        let videoAsset: Double
        if let m = r.videoBytes {
            videoAsset = m
        } else if let dur = videoDuration {
            var bitrate = r.videoBitrate
            if bitrate == nil, let s = r.videoSize, dur > 0 { bitrate = s * 8 / 1000 / dur }
            if bitrate == nil, let pb = propBitrate {
                switch pb {
                case .number, .integer: bitrate = Self.num(pb)
                case .object(let m): bitrate = Self.member(m, Device.names[dev]).flatMap(Self.num)
                default: break
                }
            }
            if bitrate == nil {
                if primary {
                    guard let b = videoBitrate[dev] else { throw Unsupported("default_video_bitrate_kbps lacks \(Device.names[dev])") }
                    bitrate = b
                } else {
                    bitrate = nonPrimaryVideoBitrate
                }
            }
            let watched = r.viewTime ?? r.viewRate.map { $0 * dur } ?? dur
            let streamed = min(watched + buffer, dur)
            videoAsset = bitrate! / 8 * 1000 * streamed * loads
        } else {
            videoAsset = 0
        }
        let vast = hasVideo ? (r.vastBytes ?? 0) * loads : 0
        let playerBytes = hasVideo ? size * n : 0
        let otherBytes = (other ?? 0) * n
        let creativeBytes = imageBytes + audioBytes + (videoAsset + vast) + playerBytes + otherBytes
        let creativeKB = creativeBytes / 1000

        var out = Output()
        out.creativeDeliveryDataTransfer = dataTransfer(creativeKB)

        // 4.2 creativeDelivery.adPlatform
        let edge = creativeKB * edgeUse / 1000 * ci + creativeKB * edgeEmbodied
        let geoSlot = geo ?? 4
        var platformSum = 0.0
        var platformCount = 0
        if let list = r.creativePlatforms {
            for q in list {
                platformCount += 1
                if let v = Self.geoValue(Self.fields(q).flatMap { Self.member($0, "emissions_per_creative_request_per_geo_gco2_per_imp") }, geo) {
                    platformSum += v * n
                } else {
                    platformSum += edge
                }
            }
        } else if r.is3p {
            platformCount = 2
            platformSum += genericServer[geoSlot].map { $0 * n } ?? edge
            platformSum += genericMeasurement[geoSlot].map { $0 * n } ?? edge
        }
        if let list = fmtPlatforms {
            for q in list {
                platformCount += 1
                if let v = Self.geoValue(Self.fields(q).flatMap { Self.member($0, "emissions_per_creative_request_per_geo_gco2_per_imp") }, geo) {
                    platformSum += v * n
                } else {
                    platformSum += edge
                }
            }
        }
        out.creativeDeliveryAdPlatform = platformCount == 0 ? edge : platformSum

        // 4.3 creativeDelivery.consumerDevice
        guard let watts = deviceWatts[dev], let peps = devicePEPS[dev], let fuel = deviceFuel[dev] else {
            throw Unsupported("device tables lack \(Device.names[dev])")
        }
        let active: Double
        switch channel {
        case .dooh:
            active = 0
        case .digitalAudio:
            guard let u = audioUtilisation[dev] else { throw Unsupported("default_audio_power_utilization lacks \(Device.names[dev])") }
            active = u * (audioDuration ?? 0)
        default:
            guard let dw = deviceWidth[dev], let dh = deviceHeight[dev] else {
                throw Unsupported("default_rendered_device_width/height lack \(Device.names[dev])")
            }
            let coverage = primary ? 1 : min(1, (width ?? dw) * (height ?? dh) / (dw * dh))
            let inView = r.timeInView ?? videoDuration ?? defaultTimeInView
            active = coverage * inView
        }
        let seconds = active * n
        out.creativeDeliveryConsumerDevice = (seconds / 3600 * watts / 1000 * ci + seconds * fuel) + seconds * peps

        // 4.4 techManipulation.creativeStorage
        guard let factor = storageFactor[ch] else { throw Unsupported("storage factors lack \(channel.name)") }
        out.techManipulationCreativeStorage = storageKgPerGB * 1000 * creativeBytes * factor / 1e9 / impressionsPerCreative

        // 4.6 adSelection
        guard let req = requestSize[ch] else { throw Unsupported("default_consumer_device_request_size_bytes lacks \(channel.name)") }
        let gPerImp: Double, bytesPerImp: Double
        if let placement = r.placement, let platforms = Self.list(Self.member(placement, "ad_platforms")) {
            var g = 0.0, bytes = 0.0
            var seen: [String] = []
            for q in platforms {
                guard let qf = Self.fields(q) else { continue }
                g += platformG(qf, seen: &seen, geo: geo, country: countryCode)
                bytes += Self.member(qf, "average_bid_request_size").flatMap(Self.num) ?? req
                if case .boolean(true)? = Self.member(qf, "sends_client_side_requests"),
                   let bidders = Self.list(Self.member(qf, "bidders")) {
                    var client = 0.0
                    for b in bidders {
                        guard let bf = Self.fields(b) else { continue }
                        client += (Self.member(bf, "average_bid_request_size").flatMap(Self.num) ?? req)
                            * Self.rate(qf, bf, country: countryCode)
                    }
                    bytes += client
                }
            }
            gPerImp = g; bytesPerImp = bytes
        } else if let g = adSelectionByChannel[ch] {
            guard let count = countAdPlatform[ch] else { throw Unsupported("default_count_ad_platform lacks \(channel.name)") }
            gPerImp = g; bytesPerImp = count * req
        } else {
            gPerImp = (genericAdServerByChannel[ch] ?? genericAdServer) + serverEmbodied
            bytesPerImp = req
        }
        out.adSelectionAdPlatform = gPerImp * n
        out.adSelectionDataTransfer = dataTransfer(bytesPerImp * n / 1000)

        out.total = out.adSelectionAdPlatform + out.adSelectionDataTransfer + out.creativeDeliveryAdPlatform
            + out.creativeDeliveryDataTransfer + out.creativeDeliveryConsumerDevice + out.techManipulationCreativeStorage
        return out
    }

    /// 3.5: the row's geo entry, else the mean of the entries present (NAMER, LATAM, EMEA, JAPAC order),
    /// else absent.
    static func geoValue(_ m: LuaValue?, _ geo: Int?) -> Double? {
        guard let members = fields(m), !members.isEmpty else { return nil }
        var byGeo: [Double?] = [nil, nil, nil, nil]
        for (k, v) in members {
            if let g = geoNames.firstIndex(of: k) { byGeo[g] = num(v) }
        }
        if let geo, let v = byGeo[geo] { return v }
        var sum = 0.0, count = 0
        for v in byGeo { if let v { sum += v; count += 1 } }
        return count > 0 ? sum / Double(count) : nil
    }

    /// D14: q's distribution rate to bidder b in the row's country, else 1.
    static func rate(_ q: [(String, LuaValue)], _ b: [(String, LuaValue)], country: String?) -> Double {
        guard let country, let id = member(b, "id")?.stringValue,
              let table = fields(member(q, "distribution_rate_by_bidder_by_country")),
              let byCountry = fields(member(table, id)) else { return 1 }
        for (k, v) in byCountry where normalize(k, upper: true) == country {
            if let d = num(v) { return d }
        }
        return 1
    }

    /// 4.6 platform_g: grams per impression of platform q and its graph; `seen` holds the ids on the path
    /// from the root (q excluded).
    func platformG(_ q: [(String, LuaValue)], seen: inout [String], geo: Int?, country: String?) -> Double {
        var total = (Self.geoValue(Self.member(q, "usage_emissions_per_bid_request_per_geo_gco2_per_imp"), geo)
                     ?? bidRequestPer1000 / 1000) + serverEmbodied
        if let providers = Self.list(Self.member(q, "real_time_data_providers")) {
            for r in providers {
                let rf = Self.fields(r) ?? []
                total += (Self.geoValue(Self.member(rf, "usage_emissions_per_rtdp_request_per_geo_gco2_per_imp"), geo)
                          ?? rtdpRequestPer1000 / 1000) + serverEmbodied
            }
        }
        guard let bidders = Self.list(Self.member(q, "bidders")), !bidders.isEmpty else { return total }
        let id = Self.member(q, "id")?.stringValue
        if let id { seen.append(id) }
        defer { if id != nil { seen.removeLast() } }
        for b in bidders {
            guard let bf = Self.fields(b) else { continue }
            if let bid = Self.member(bf, "id")?.stringValue, seen.contains(bid) { continue }
            total += platformG(bf, seen: &seen, geo: geo, country: country) * Self.rate(q, bf, country: country)
        }
        return total
    }
}
