-- Input validation for the Scope3 / GMSF family (spec scope3-gmsf.md sections 2, 3.1, 3.2, Appendix A).
--
-- V.check(row, c, p) runs the checks of section 2.6 in the fixed order of Decision D45 (steps 1-16) and
-- rejects the row at the first failure. It normalises the row in place (enumerations, country, channel
-- aliases, the "default" video player) so that the equations read clean values, and returns the resolved
-- channel (3.1) and device (3.2). Helpers for the equations: V.rate, V.geo_of, V.parse_image_size.

local V = {}

local function set_of(list)
  local s = {}
  for _, v in ipairs(list) do s[v] = true end
  return s
end

-- 2.2 vocabularies. `channel` accepts all twelve; only the first eight are modelled (D29).
local CHANNEL_LIST = { "web", "app", "social", "ctv-bvod", "streaming-video", "digital-audio", "dooh",
  "search", "linear-tv", "traditional-radio", "classic-ooh", "print" }
local CHANNELS = set_of(CHANNEL_LIST)
local MODELLED = set_of({ "web", "app", "social", "ctv-bvod", "streaming-video", "digital-audio", "dooh",
  "search" })
local CHANNEL_ALIASES = { olv = "streaming-video", audio = "digital-audio" }   -- D13
local DEVICE_LIST = { "phone", "tablet", "pc", "tv", "smart-speaker", "radio" }
local DEVICES = set_of(DEVICE_LIST)
-- device constraints of 2.2 (D42): these devices need exactly this channel
local DEVICE_ONLY_WITH = { ["smart-speaker"] = "digital-audio", radio = "traditional-radio" }
local NETWORK_LIST = { "mobile", "fixed" }
local NETWORKS = set_of(NETWORK_LIST)
local TRIGGER_LIST = { "impression", "view", "play" }
local TRIGGERS = set_of(TRIGGER_LIST)
local GEOS = set_of({ "NAMER", "LATAM", "EMEA", "JAPAC" })   -- exact keys, D49

-- Appendix A: the 249 ISO 3166-1 alpha-2 codes and XK, by geo (D36). Also the accepted `country` values.
local GEO_MEMBERS = {
  NAMER = "BM CA GL PM US",
  LATAM = "AG AI AR AW BB BL BO BQ BR BS BV BZ CL CO CR CU CW DM DO EC FK GD GF GP GS GT GY HN HT JM KN KY "
    .. "LC MF MQ MS MX NI PA PE PR PY SR SV SX TC TT UY VC VE VG VI",
  EMEA = "AD AE AL AM AO AT AX AZ BA BE BF BG BH BI BJ BW BY CD CF CG CH CI CM CV CY CZ DE DJ DK DZ EE EG "
    .. "EH ER ES ET FI FO FR GA GB GE GG GH GI GM GN GQ GR GW HR HU IE IL IM IO IQ IR IS IT JE JO KE KM KW "
    .. "LB LI LR LS LT LU LV LY MA MC MD ME MG MK ML MR MT MU MW MZ NA NE NG NL NO OM PL PS PT QA RE RO RS "
    .. "RU RW SA SC SD SE SH SI SJ SK SL SM SN SO SS ST SY SZ TD TF TG TN TR TZ UA UG VA XK YE YT ZA ZM ZW",
  JAPAC = "AF AQ AS AU BD BN BT CC CK CN CX FJ FM GU HK HM ID IN JP KG KH KI KP KR KZ LA LK MH MM MN MO MP "
    .. "MV MY NC NF NP NR NU NZ PF PG PH PK PN PW SB SG TH TJ TK TL TM TO TV TW UM UZ VN VU WF WS",
}
local GEO_OF = {}
for geo, codes in pairs(GEO_MEMBERS) do
  for code in codes:gmatch("[A-Z][A-Z]") do GEO_OF[code] = geo end
end

-- Allowed keys of the nested objects (2.3-2.5); any other key is an error (D42).
local AD_FORMAT_KEYS = set_of({ "rendered_width_pixels", "rendered_height_pixels", "image_sizes",
  "audio_duration_seconds", "video_duration_seconds", "video_player", "other_assets_bytes", "ad_platforms" })
local PLAYER_KEYS = set_of({ "size_bytes", "buffering_seconds", "download_trigger" })
local PROPERTY_KEYS = set_of({ "channels", "average_seconds_per_session_excluding_ads",
  "average_imps_per_session", "average_data_kb_per_session_excluding_ads", "video_bitrate_kbps",
  "ad_funded_percentage", "allocated_adjusted_corporate_emissions_kgco2e", "total_sessions",
  "organization_model_quality", "model_quality" })
local PLACEMENT_KEYS = set_of({ "ad_platforms" })
local PLATFORM_KEYS = set_of({ "id", "name", "usage_emissions_per_bid_request_per_geo_gco2_per_imp",
  "usage_emissions_per_rtdp_request_per_geo_gco2_per_imp", "emissions_per_creative_request_per_geo_gco2_per_imp",
  "bidders", "real_time_data_providers", "distribution_rate_by_bidder_by_country", "average_bid_request_size",
  "sends_client_side_requests", "model_quality" })
-- geo objects of a platform, in the check order of 2.6
local PLATFORM_GEO_FIELDS = { "emissions_per_creative_request_per_geo_gco2_per_imp",
  "usage_emissions_per_bid_request_per_geo_gco2_per_imp", "usage_emissions_per_rtdp_request_per_geo_gco2_per_imp" }
local MAX_PLATFORM_LEVEL = 16   -- D50

-- Number ranges (2.1, 2.3-2.5): every number is finite and >= 0 unless stated otherwise.
local NON_NEGATIVE = { min = 0 }
local POSITIVE = { gt = 0 }
local FRACTION = { min = 0, max = 1 }
local PERCENT = { min = 0, max = 100 }
local QUALITY = { min = 1, max = 5 }

-- Step 2/3/9 fields after impressions, in the order of 2.6.
local STEP3_NUMBERS = { "views", "plays", "carbon_intensity_gco2e_per_kwh" }
local STEP9_NUMBERS = {
  { "creative_total_image_data_transfer_bytes", NON_NEGATIVE },
  { "creative_total_audio_data_transfer_bytes", NON_NEGATIVE },
  { "creative_total_video_data_transfer_bytes", NON_NEGATIVE },
  { "creative_video_vast_bytes", NON_NEGATIVE },
  { "creative_video_bitrate_kbps", NON_NEGATIVE },
  { "creative_video_size_bytes", NON_NEGATIVE },
  { "creative_video_duration_seconds", NON_NEGATIVE },
  { "creative_video_view_time_seconds", NON_NEGATIVE },
  { "creative_video_view_rate", FRACTION },          -- a fraction (D42)
  { "creative_time_in_view_seconds", NON_NEGATIVE },
  { "creative_audio_duration_seconds", NON_NEGATIVE },
}
local AD_FORMAT_NUMBERS_BEFORE_SIZES = {
  { "rendered_width_pixels", POSITIVE }, { "rendered_height_pixels", POSITIVE } }
local AD_FORMAT_NUMBERS_AFTER_SIZES = {
  { "audio_duration_seconds", NON_NEGATIVE }, { "video_duration_seconds", NON_NEGATIVE },
  { "other_assets_bytes", NON_NEGATIVE } }
local PROPERTY_NUMBERS = {
  { "average_seconds_per_session_excluding_ads", NON_NEGATIVE },
  { "average_imps_per_session", POSITIVE },
  { "average_data_kb_per_session_excluding_ads", NON_NEGATIVE },
  { "ad_funded_percentage", PERCENT },
  { "allocated_adjusted_corporate_emissions_kgco2e", NON_NEGATIVE },
  { "total_sessions", POSITIVE },
  { "organization_model_quality", QUALITY },
  { "model_quality", QUALITY },
}

-- ASCII-only text rules (D47), without the host: V.rate runs inside the equations, where no `p` is passed.
local ASCII_WS = "[ \t\n\v\f\r]"
local function ascii_trim_upper(s)
  local t = s:match("^" .. ASCII_WS .. "*(.-)" .. ASCII_WS .. "*$")
  return (t:gsub("[a-z]", function(ch) return string.char(ch:byte() - 32) end))
end

-- p.reject raises, so nothing after the first failing check runs (D45).
local function reject(p, path, message)
  p.reject(path, message)
end

-- The shape of a row value: "list" (a non-empty sequence), "object" (string keys, or only null-valued
-- keys), "empty" (an empty table: valid as either shape) or nil (not a table, or a null list entry).
local function shape(p, v)
  if type(v) ~= "table" or v == p.null then return nil end
  local n = 0
  for k in pairs(v) do
    if math.type(k) ~= "integer" or k < 1 then return "object" end
    n = n + 1
  end
  if n == 0 then
    -- a key whose value is null is invisible to pairs; p.keys still lists it
    if #p.keys(v) > 0 then return "object" end
    return "empty"
  end
  for i = 1, n do
    if v[i] == nil then return "object" end
  end
  return "list"
end

-- The keys of an object in input order (null-valued keys included); {} for an empty table.
local function keys_of(p, v, s)
  if s == "empty" then return {} end
  return p.keys(v)
end

-- A number check (2.6): a number, finite, then the range. Absent values pass.
local function check_number(p, v, path, range)
  if v == nil then return end
  if not p.is_number(v) then reject(p, path, path .. " must be a number") end
  if not p.is_finite(v) then reject(p, path, path .. " must be finite") end
  if range.gt ~= nil and not (v > range.gt) then
    reject(p, path, path .. " must be > " .. tostring(range.gt))
  end
  if range.min ~= nil and v < range.min then
    reject(p, path, path .. " must be >= " .. tostring(range.min))
  end
  if range.max ~= nil and v > range.max then
    reject(p, path, path .. " must be <= " .. tostring(range.max))
  end
end

-- A value of a keyed object (geo, per-device bitrate, rate): null is rejected (D49).
local function check_keyed_number(p, v, path, range)
  if v == nil then reject(p, path, path .. " must be a number (null is not allowed)") end
  check_number(p, v, path, range)
end

local function check_string(p, v, path)
  if v ~= nil and type(v) ~= "string" then reject(p, path, path .. " must be a string") end
end

local function check_boolean(p, v, path)
  if v ~= nil and type(v) ~= "boolean" then reject(p, path, path .. " must be a boolean (true or false)") end
end

-- An enumeration (2.2, D42, D47): a string, trimmed and ASCII lower-cased, aliases resolved, then known.
-- Returns the normalised value.
local function check_enum(p, v, path, allowed, names, aliases)
  if type(v) ~= "string" then reject(p, path, path .. " must be a string") end
  local s = p.ascii_lower(p.ascii_trim(v))
  if aliases ~= nil and aliases[s] ~= nil then s = aliases[s] end
  if not allowed[s] then
    reject(p, path, string.format("%s: unknown value '%s' (expected one of %s)", path, v,
      table.concat(names, ", ")))
  end
  return s
end

local function check_channel_value(p, v, path)
  return check_enum(p, v, path, CHANNELS, CHANNEL_LIST, CHANNEL_ALIASES)
end

-- An object and its unknown keys, in the row's key order (2.6). `allowed` nil: any key (bidder ids).
-- Returns the keys.
local function check_object(p, v, path, allowed)
  local s = shape(p, v)
  if s ~= "object" and s ~= "empty" then reject(p, path, path .. " must be an object") end
  local keys = keys_of(p, v, s)
  if allowed ~= nil then
    for _, k in ipairs(keys) do
      if not allowed[k] then
        local kpath = path .. "." .. tostring(k)
        reject(p, kpath, "unknown field " .. kpath)
      end
    end
  end
  return keys
end

local function check_list(p, v, path)
  local s = shape(p, v)
  if s ~= "list" and s ~= "empty" then reject(p, path, path .. " must be a list") end
end

local function entry_path(path, i) return path .. "[" .. (i - 1) .. "]" end   -- 0-based, 2.5

-- Image size grammar (D52): [ws] digits [ws] x|X [ws] digits [ws], each side 1..100000 px.
local IMAGE_SIZE_PATTERN = "^" .. ASCII_WS .. "*([0-9]+)" .. ASCII_WS .. "*[xX]" .. ASCII_WS .. "*([0-9]+)"
  .. ASCII_WS .. "*$"
local MAX_IMAGE_SIDE = 100000

function V.parse_image_size(s)
  if type(s) ~= "string" then return nil end
  local w, h = s:match(IMAGE_SIZE_PATTERN)
  if w == nil then return nil end
  w, h = tonumber(w) + 0.0, tonumber(h) + 0.0   -- decimal digits, leading zeros allowed
  if w < 1 or w > MAX_IMAGE_SIDE or h < 1 or h > MAX_IMAGE_SIDE then return nil end
  return w, h
end

local function check_image_sizes(p, list, path)
  if list == nil then return end
  check_list(p, list, path)
  for i, entry in ipairs(list) do
    if V.parse_image_size(entry) == nil then
      local epath = entry_path(path, i)
      local shown = type(entry) == "string" and ("'" .. entry .. "'") or "a non-string entry"
      reject(p, epath, epath .. ": " .. shown .. " is not an image size '<width>x<height>' (1 to 100000 px)")
    end
  end
end

-- utc_datetime (2.1, D48): ISO 8601 extended, T or one space, zero UTC offset only, a real instant.
local UTC_SUFFIXES = set_of({ "", "Z", "+00:00", "+0000", "-00:00", "-0000" })

local function days_in_month(y, m)
  if m == 2 then
    local leap = (y % 4 == 0 and y % 100 ~= 0) or y % 400 == 0   -- proleptic Gregorian; year 0 is leap
    return leap and 29 or 28
  end
  if m == 4 or m == 6 or m == 9 or m == 11 then return 30 end
  return 31
end

local function is_utc_datetime(s)
  local y, mo, d, rest = s:match("^([0-9][0-9][0-9][0-9])%-([0-9][0-9])%-([0-9][0-9])(.*)$")
  if y == nil then return false end
  y, mo, d = tonumber(y), tonumber(mo), tonumber(d)
  if mo < 1 or mo > 12 or d < 1 or d > days_in_month(y, mo) then return false end
  if rest == "" then return true end                   -- a date alone; a UTC marker needs a time
  local hh, mm, tail = rest:match("^[T ]([0-9][0-9]):([0-9][0-9])(.*)$")
  if hh == nil then return false end
  local ss = 0
  local sec, after = tail:match("^:([0-9][0-9])(.*)$")
  if sec ~= nil then
    ss = tonumber(sec)
    tail = after:match("^%.[0-9]+(.*)$") or after      -- a dot fraction only after seconds
  end
  if not UTC_SUFFIXES[tail] then return false end
  return tonumber(hh) <= 23 and tonumber(mm) <= 59 and ss <= 59
end

-- Keyed objects (D49) ------------------------------------------------------------------------------

local function check_geo_object(p, m, path)
  if m == nil then return end
  local keys = check_object(p, m, path, nil)
  for _, k in ipairs(keys) do
    if not GEOS[k] then
      reject(p, path, string.format("%s: unknown geo key '%s' (expected NAMER, LATAM, EMEA or JAPAC)",
        path, tostring(k)))
    end
    check_keyed_number(p, m[k], path .. "." .. k, NON_NEGATIVE)
  end
end

local function check_rates(p, rates, path)
  if rates == nil then return end
  local bidder_keys = check_object(p, rates, path, nil)   -- bidder ids: any key, unused when unmatched
  for _, b in ipairs(bidder_keys) do
    local bpath = path .. "." .. b
    local per_country = rates[b]
    local country_keys = check_object(p, per_country, bpath, nil)
    local seen = {}
    for _, k in ipairs(country_keys) do
      local kpath = bpath .. "." .. k                       -- the key as written (2.5)
      local code = p.ascii_upper(p.ascii_trim(k))
      if GEO_OF[code] == nil then
        reject(p, kpath, string.format("%s: unknown country code '%s' (ISO 3166-1 alpha-2 or XK)", kpath, k))
      end
      if seen[code] ~= nil then
        reject(p, kpath, string.format("%s: country %s repeats the key '%s' of the same bidder", kpath, code,
          seen[code]))
      end
      seen[code] = k
      check_keyed_number(p, per_country[k], kpath, FRACTION)
    end
  end
end

-- Platforms (2.5): each one checked completely, depth first, before the next list entry.
local check_platform

local function check_platform_list(p, list, path, level)
  if list == nil then return end
  check_list(p, list, path)
  for i, platform in ipairs(list) do
    check_platform(p, platform, entry_path(path, i), level)
  end
end

check_platform = function(p, pl, path, level)
  if level > MAX_PLATFORM_LEVEL then
    reject(p, path, string.format("%s: platform nesting too deep (level %d, at most %d levels)", path, level,
      MAX_PLATFORM_LEVEL))
  end
  check_object(p, pl, path, PLATFORM_KEYS)
  check_string(p, pl.name, path .. ".name")
  check_string(p, pl.id, path .. ".id")
  for _, field in ipairs(PLATFORM_GEO_FIELDS) do
    check_geo_object(p, pl[field], path .. "." .. field)
  end
  check_number(p, pl.average_bid_request_size, path .. ".average_bid_request_size", NON_NEGATIVE)
  check_boolean(p, pl.sends_client_side_requests, path .. ".sends_client_side_requests")
  check_number(p, pl.model_quality, path .. ".model_quality", QUALITY)
  check_rates(p, pl.distribution_rate_by_bidder_by_country, path .. ".distribution_rate_by_bidder_by_country")
  check_platform_list(p, pl.bidders, path .. ".bidders", level + 1)
  check_platform_list(p, pl.real_time_data_providers, path .. ".real_time_data_providers", level + 1)
end

-- Nested objects (steps 12-14) --------------------------------------------------------------------

local function check_numbers(p, obj, prefix, fields)
  for _, f in ipairs(fields) do
    local v = obj[f[1]]
    -- absent fields pass; building their path for every row is what made this loop hot
    if v ~= nil then check_number(p, v, prefix .. f[1], f[2]) end
  end
end

-- ad_format.video_player: the string "default" (matched like an enumeration) or an object (2.3, D33).
local function check_video_player(p, af)
  local vp = af.video_player
  if vp == nil then return end
  local path = "ad_format.video_player"
  if type(vp) == "string" then
    if p.ascii_lower(p.ascii_trim(vp)) ~= "default" then
      reject(p, path, string.format("%s: unknown value '%s' (expected an object or \"default\")", path, vp))
    end
    af.video_player = {}     -- "default" is a given player with all three fields absent
    return
  end
  local s = shape(p, vp)
  if s ~= "object" and s ~= "empty" then
    reject(p, path, path .. " must be an object or the string \"default\"")
  end
  check_object(p, vp, path, PLAYER_KEYS)
  check_number(p, vp.size_bytes, path .. ".size_bytes", NON_NEGATIVE)
  check_number(p, vp.buffering_seconds, path .. ".buffering_seconds", NON_NEGATIVE)
  if vp.download_trigger ~= nil then
    vp.download_trigger = check_enum(p, vp.download_trigger, path .. ".download_trigger", TRIGGERS, TRIGGER_LIST)
  end
end

local function check_ad_format(p, af)
  if af == nil then return end
  check_object(p, af, "ad_format", AD_FORMAT_KEYS)
  check_numbers(p, af, "ad_format.", AD_FORMAT_NUMBERS_BEFORE_SIZES)
  check_image_sizes(p, af.image_sizes, "ad_format.image_sizes")
  check_numbers(p, af, "ad_format.", AD_FORMAT_NUMBERS_AFTER_SIZES)
  check_platform_list(p, af.ad_platforms, "ad_format.ad_platforms", 1)
  check_video_player(p, af)
end

-- property.channels (2.4, D51): a non-empty list of channels or aliases, de-aliased in place, not filtered.
local function check_property_channels(p, channels)
  if channels == nil then return end
  local path = "property.channels"
  check_list(p, channels, path)
  if #channels == 0 then reject(p, path, path .. " must not be empty") end
  for i, entry in ipairs(channels) do
    channels[i] = check_channel_value(p, entry, entry_path(path, i))
  end
end

-- property.video_bitrate_kbps (2.4, D42, D49): a number, or an object keyed by exact device names.
local function check_property_bitrate(p, v)
  if v == nil then return end
  local path = "property.video_bitrate_kbps"
  local s = shape(p, v)
  if s == "list" then reject(p, path, path .. " must be a number or an object keyed by device") end
  if s == nil then
    check_number(p, v, path, NON_NEGATIVE)
    return
  end
  for _, k in ipairs(keys_of(p, v, s)) do
    if not DEVICES[k] then
      reject(p, path, string.format("%s: unknown device key '%s' (expected one of %s)", path, tostring(k),
        table.concat(DEVICE_LIST, ", ")))
    end
    check_keyed_number(p, v[k], path .. "." .. k, NON_NEGATIVE)
  end
end

local function check_property(p, prop)
  if prop == nil then return end
  check_object(p, prop, "property", PROPERTY_KEYS)
  check_property_channels(p, prop.channels)
  check_numbers(p, prop, "property.", PROPERTY_NUMBERS)
  check_property_bitrate(p, prop.video_bitrate_kbps)
end

local function check_placement(p, pl)
  if pl == nil then return end
  check_object(p, pl, "placement", PLACEMENT_KEYS)
  check_platform_list(p, pl.ad_platforms, "placement.ad_platforms", 1)
end

-- Resolution (steps 15-16) -----------------------------------------------------------------------

-- Entries of a coefficient list, read by index (the pack view may be a proxy without __len).
local function list_contains(list, value)
  if list == nil then return false end
  local i = 1
  while list[i] ~= nil do
    if list[i] == value then return true end
    i = i + 1
  end
  return false
end

local function positive(v) return v ~= nil and v > 0 end   -- absent counts as 0 (3.1)

local function has_audio_creative(row)
  local af = row.ad_format
  return positive(row.creative_total_audio_data_transfer_bytes) or positive(row.creative_audio_duration_seconds)
    or (af ~= nil and positive(af.audio_duration_seconds))
end

-- 3.1: pick from property.channels (entries already de-aliased), else the row channel.
local function pick_channel(row, c)
  local channels = row.property ~= nil and row.property.channels or nil
  if channels == nil then return row.channel end
  if #channels == 1 then return channels[1] end
  if row.channel ~= nil and list_contains(channels, row.channel) then return row.channel end
  if has_audio_creative(row) and list_contains(channels, "digital-audio") then return "digital-audio" end
  if row.device_type ~= nil then
    -- the row's own device (before 3.2); a device the table lacks has no ordered list (D13)
    local order = c.default_channel_by_device[row.device_type]
    if order ~= nil then
      local i = 1
      while order[i] ~= nil do
        if list_contains(channels, order[i]) then return order[i] end
        i = i + 1
      end
    end
  end
  return channels[1]
end

local function resolve_channel(row, c, p)
  local channel = pick_channel(row, c)
  if channel == nil then
    reject(p, "channel", "channel is required (give channel or property.channels)")
  end
  if not MODELLED[channel] then
    reject(p, "channel", string.format("channel '%s' is not modelled (D29: no published equations)", channel))
  end
  if not list_contains(c.supported_channels, channel) then
    reject(p, "channel", string.format("channel '%s' is not supported by coefficient pack %s", channel,
      tostring(p.model.pack)))
  end
  return channel
end

-- 3.2: the row's device or the channel default (a lookup that rejects when missing), then 2.2 constraints.
local function resolve_device(row, c, p, channel)
  local device = row.device_type
  if device == nil then device = p.lookup(c.default_device_by_channel, channel) end
  local needed = DEVICE_ONLY_WITH[device]
  if needed ~= nil and channel ~= needed then
    reject(p, "device_type", string.format("device_type '%s' is only allowed with channel %s (channel is %s)",
      device, needed, channel))
  end
  if c.default_device_watts[device] == nil then
    reject(p, "device_type", string.format("device_type '%s' has no entry in default_device_watts (pack %s)",
      device, tostring(p.model.pack)))
  end
  return device
end

-- The checks of 2.6 in the D45 order ----------------------------------------------------------------

function V.check(row, c, p)
  -- 1. the row is an object
  local s = shape(p, row)
  if s ~= "object" and s ~= "empty" then reject(p, "row", "row must be an object") end
  -- 2. impressions: required for every channel (D34)
  if row.impressions == nil then reject(p, "impressions", "impressions is required") end
  check_number(p, row.impressions, "impressions", NON_NEGATIVE)
  -- 3.
  for _, f in ipairs(STEP3_NUMBERS) do check_number(p, row[f], f, NON_NEGATIVE) end
  -- 4. country: trimmed and upper-cased on ASCII only (D47), then an Appendix A code
  if row.country ~= nil then
    check_string(p, row.country, "country")
    local code = p.ascii_upper(p.ascii_trim(row.country))
    if GEO_OF[code] == nil then
      reject(p, "country", string.format("country: unknown value '%s' (expected an ISO 3166-1 alpha-2 code or XK)",
        row.country))
    end
    row.country = code
  end
  -- 5.
  check_string(p, row.region, "region")
  -- 6. utc_datetime (D48); kept as given for the grid lookup (3.3)
  if row.utc_datetime ~= nil then
    check_string(p, row.utc_datetime, "utc_datetime")
    if not is_utc_datetime(p.ascii_trim(row.utc_datetime)) then
      reject(p, "utc_datetime", string.format("utc_datetime: '%s' is not a real UTC date-time in ISO 8601 form "
        .. "(YYYY-MM-DD, optionally T or space hh:mm[:ss[.f]] and Z or a zero offset)", row.utc_datetime))
    end
  end
  -- 7. enumerations, normalised in place (aliases resolved, D13)
  if row.channel ~= nil then row.channel = check_channel_value(p, row.channel, "channel") end
  if row.device_type ~= nil then
    row.device_type = check_enum(p, row.device_type, "device_type", DEVICES, DEVICE_LIST)
  end
  if row.network_type ~= nil then
    row.network_type = check_enum(p, row.network_type, "network_type", NETWORKS, NETWORK_LIST)
  end
  -- 8.
  check_boolean(p, row.creative_is_3p_served, "creative_is_3p_served")
  -- 9.
  check_numbers(p, row, "", STEP9_NUMBERS)
  -- 10.-14.
  check_image_sizes(p, row.creative_image_sizes, "creative_image_sizes")
  check_platform_list(p, row.creative_ad_platforms, "creative_ad_platforms", 1)
  check_ad_format(p, row.ad_format)
  check_property(p, row.property)
  check_placement(p, row.placement)
  -- 15.-16.
  local channel = resolve_channel(row, c, p)
  local device = resolve_device(row, c, p, channel)
  return { channel = channel, device = device }
end

-- Helpers for the equations ---------------------------------------------------------------------------

-- 3.5: the geo of a normalised country; nil without a country.
function V.geo_of(country)
  if country == nil then return nil end
  return GEO_OF[country]
end

-- 2.5: the distribution rate of `bidder_id` (compared exactly) in `country` (normalised), reading the
-- country keys as written through the `country` rules; nil when the platform gives none. The keys were
-- validated (no repeats), so at most one key matches.
function V.rate(platform, bidder_id, country)
  local rates = platform.distribution_rate_by_bidder_by_country
  if rates == nil or bidder_id == nil or country == nil then return nil end
  local per_country = rates[bidder_id]
  if per_country == nil then return nil end
  for k, v in pairs(per_country) do
    if type(k) == "string" and ascii_trim_upper(k) == country then return v end
  end
  return nil
end

return V
