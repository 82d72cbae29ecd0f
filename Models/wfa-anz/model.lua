-- WFA / Ad Net Zero digital framework v1.0, Equations 1-10, as implemented by Good-Loop's "Good Measures"
-- methodology (spec: shared/spec/wfa-anz.md). Every default is Level 0 (assumed) data from pack wfa-anz-1.0.

model {
  id = "wfa-anz", version = "1.0",
  title = "WFA / Ad Net Zero digital framework v1.0",
  framework = "WFA / Ad Net Zero",
  source = "WFA x Ad Net Zero digital framework v1.0, Equations 1-10, per Good-Loop Good Measures methodology",
  packs = { "wfa-anz-1.0" }, replay = true,
  -- Decision: Scope - only these five categories; creation, creative storage, targeting, media
  -- distribution and corporate emissions are absent (pinned by W-01)
  categories = {
    "adSelection.adPlatform", "adSelection.dataTransfer",
    "creativeDelivery.adPlatform", "creativeDelivery.dataTransfer", "creativeDelivery.consumerDevice",
  },
}

local DEVICES = { phone = true, tablet = true, pc = true, tv = true }
-- Decision: Location aliases used by EU institutions and UK media plans, as in sri (pinned by W-19)
local ALIASES = { UK = "GB", EL = "GR" }
local SHARE_SUM_TOLERANCE = 1e-6                         -- spec 2, device mix: |sum - 1| <= 1e-6

-- A table is a mapping (not a list) when it has no sequence part; an empty table passes and is judged by
-- its key count. (The built-in `object` type also lets a non-empty list through, so the checks below
-- call this too.)
local function is_mapping(v, p)
  return type(v) == "table" and v ~= p.null and #v == 0
end

-- Spec 2, inputs. Fields not declared are ignored and null fields are absent (Decision: unlisted fields;
-- pinned by W-20, W-21). No `default` on country or device_type: their absence matters for the exclusive
-- pairs with device_mix_by_country; prepare applies WORLD.
input "impressions" { type = "number", required = true, min = 0, unit = "imp", doc = "impressions delivered; fractions allowed" }
input "format" { type = "enum", values = { "display", "video" }, default = "display",
  doc = "selects the RTB path count and the time-in-view rule" }
input "transaction" { type = "enum", values = { "programmatic", "direct" }, default = "programmatic",
  doc = "direct = direct sale without auction" }
input "creative_bytes" { type = "number", required = true, min = 0, unit = "bytes",
  doc = "static formats: file size; video: bytes actually loaded, buffer included" }
input "payload_overhead_bytes" { type = "number", min = 0, unit = "bytes",
  doc = "payload of additional assets (pack creative_payload_overhead_bytes)" }
-- Decision: a video row must give its time displayed; only display falls back to the pack default
input "time_in_view_seconds" { type = "number", min = 0, unit = "s",
  doc = "time displayed on the device (display: pack default_time_in_view_seconds; video: required)",
  check = function(value, row, p, path)
    if value == nil and row.format == "video" then p.reject(path, path .. " is required for format video") end
  end }
input "device_mix_by_country" { type = "object", unit = "fraction",
  doc = "{COUNTRY: {DEVICE: share}}: share of impressions per country and device; shares sum to 1",
  check = function(mix, row, p, path)
    if mix == nil then return end
    if not is_mapping(mix, p) then p.reject(path, path .. " must be a mapping of country to device shares") end
    -- Decision: the mix and device_type / country are exclusive pairs
    if row.device_type ~= nil then p.reject(path, path .. " and device_type are exclusive: give one of them") end
    if row.country ~= nil then p.reject(path, path .. " and country are exclusive: give one of them") end
    local countries = p.keys(mix)
    if #countries == 0 then p.reject(path, path .. " must not be empty") end
    local sum = 0.0
    for _, country in ipairs(countries) do
      local devices = mix[country]
      local cpath = path .. "." .. tostring(country)
      if not is_mapping(devices, p) or #p.keys(devices) == 0 then
        p.reject(cpath, cpath .. " must be a non-empty mapping of device_type to share")
      end
      for _, device in ipairs(p.keys(devices)) do
        if not DEVICES[device] then
          p.reject(cpath, cpath .. ": unknown device_type '" .. tostring(device) .. "' (expected phone, tablet, pc, tv)")
        end
        local share = devices[device]
        if not p.is_finite(share) or share < 0 then
          p.reject(cpath .. "." .. device, path .. " share " .. cpath .. "." .. device .. " must be a finite number >= 0")
        end
        sum = sum + share
      end
    end
    if math.abs(sum - 1.0) > SHARE_SUM_TOLERANCE then
      p.reject(path, path .. " shares sum to " .. sum .. ", not 1")
    end
  end }
input "device_type" { type = "enum", values = { "phone", "tablet", "pc", "tv" },
  doc = "device of every impression (exclusive with device_mix_by_country)",
  check = function(value, row, p, path)
    if value == nil and row.device_mix_by_country == nil then
      p.reject(path, path .. " is required when device_mix_by_country is absent")
    end
  end }
input "country" { type = "string", doc = "audience country, ISO alpha-2 or WORLD (default WORLD)" }
input "server_country" { type = "string", doc = "country of RTB and ad servers, ISO alpha-2 or WORLD (default WORLD)" }
input "active_paths" { type = "number", min = 0, unit = "paths/imp", doc = "pack rtb_active_paths[transaction-format]" }
input "avails_ratio" { type = "number", min = 0, doc = "pack rtb_avails_ratio" }
input "request_ratio" { type = "number", min = 0, doc = "pack rtb_request_ratio" }
input "response_ratio" { type = "number", min = 0, doc = "pack rtb_response_ratio" }
input "edge_share" { type = "number", min = 0, max = 1, unit = "fraction",
  doc = "share of creative bytes served by CDN edge nodes, the rest by ad servers (pack creative_edge_share)" }
input "mobile_share" { type = "number", min = 0, max = 1, unit = "fraction",
  doc = "share of creative bytes on mobile networks, the rest fixed (pack network_mobile_share)" }
input "carbon_intensity_gco2e_per_kwh" { type = "number", min = 0, unit = "gCO2e/kWh",
  doc = "one intensity for every location (servers, networks, devices)" }
input "grid_intensity_by_country" { type = "object", unit = "gCO2e/kWh",
  doc = "{COUNTRY: intensity}: per-location override of the pack's annual values",
  check = function(map, row, p, path)
    if map == nil then return end
    if not is_mapping(map, p) then p.reject(path, path .. " must be a mapping of country to intensity") end
    if row.carbon_intensity_gco2e_per_kwh ~= nil then
      p.reject(path, path .. " and carbon_intensity_gco2e_per_kwh are exclusive: give one of them")
    end
    for _, key in ipairs(p.keys(map)) do
      local v = map[key]
      if not p.is_finite(v) or v < 0 then
        p.reject(path, path .. "." .. tostring(key) .. " must be a finite number >= 0")
      end
    end
  end }

-- A location code after trimming, upper-casing and the aliases, if the pack has an intensity for it
-- (grid.<ISO2> for each row of ember-annual.csv, and grid.WORLD); else nil. Alpha-3 codes and aggregates
-- are not locations (pinned by W-E3, W-E15).
local function location(code, c, p)
  if type(code) ~= "string" then return nil end
  local key = p.ascii_upper(p.ascii_trim(code))
  key = ALIASES[key] or key
  if c.grid[key] == nil then return nil end
  return key
end

local function require_location(code, field, c, p)
  local key = location(code, c, p)
  if key == nil then
    p.reject(field, field .. ": unknown country code '" .. tostring(code) .. "' (expected ISO 3166-1 alpha-2 or WORLD)")
  end
  return key
end

-- The keys of a country mapping resolved to locations, in input order.
-- Decision: two keys naming the same location reject the row (pinned by W-E12, W-E13).
local function resolve_keys(map, field, c, p)
  local resolved, seen = {}, {}
  for _, code in ipairs(p.keys(map)) do
    local key = require_location(code, field, c, p)
    if seen[key] ~= nil then
      p.reject(field, field .. ": '" .. tostring(seen[key]) .. "' and '" .. tostring(code) ..
        "' name the same country " .. key)
    end
    seen[key] = code
    resolved[#resolved + 1] = { code = code, key = key }
  end
  return resolved
end

function validate(row, c, p)
  if row.country ~= nil then require_location(row.country, "country", c, p) end
  if row.server_country ~= nil then require_location(row.server_country, "server_country", c, p) end
  if row.device_mix_by_country ~= nil then resolve_keys(row.device_mix_by_country, "device_mix_by_country", c, p) end
  if row.grid_intensity_by_country ~= nil then
    resolve_keys(row.grid_intensity_by_country, "grid_intensity_by_country", c, p)
  end
end

-- Grid intensity of a location (spec 2): the row-wide value, else the row's per-country value, else the
-- pack's annual Ember value. Decision: Grid lookup - the host's hourly store is never consulted
-- (pinned by W-22, W-23).
local function intensity_source(row, c, p)
  local by_country = {}
  if row.grid_intensity_by_country ~= nil then
    for _, e in ipairs(resolve_keys(row.grid_intensity_by_country, "grid_intensity_by_country", c, p)) do
      by_country[e.key] = row.grid_intensity_by_country[e.code] + 0.0
    end
  end
  return function(loc)
    if row.carbon_intensity_gco2e_per_kwh ~= nil then return row.carbon_intensity_gco2e_per_kwh + 0.0 end
    if by_country[loc] ~= nil then return by_country[loc] end
    return p.lookup(c.grid, loc) + 0.0
  end
end

-- The mix as a list of {loc, device, share}, in input order; without device_mix_by_country every
-- impression is on device_type in country (default WORLD).
local function device_mix(row, c, p)
  local mix = {}
  if row.device_mix_by_country == nil then
    local loc = row.country ~= nil and location(row.country, c, p) or "WORLD"
    mix[1] = { loc = loc, device = row.device_type, share = 1.0 }
    return mix
  end
  for _, e in ipairs(resolve_keys(row.device_mix_by_country, "device_mix_by_country", c, p)) do
    local devices = row.device_mix_by_country[e.code]
    for _, device in ipairs(p.keys(devices)) do
      mix[#mix + 1] = { loc = e.key, device = device, share = devices[device] + 0.0 }
    end
  end
  return mix
end

function prepare(row, c, p)
  local ci = intensity_source(row, c, p)
  local mix = device_mix(row, c, p)
  for _, m in ipairs(mix) do m.intensity = ci(m.loc) end

  local server_loc = row.server_country ~= nil and location(row.server_country, c, p) or "WORLD"
  local ci_server = p.trace("server_intensity", ci(server_loc))
  -- audience-weighted intensity: sum over the mix of share x intensity of its country
  local ci_user = 0.0
  for _, m in ipairs(mix) do ci_user = ci_user + m.share * m.intensity end
  p.trace("user_intensity", ci_user)
  -- Decision: Network country split, u of the traffic in the viewing country (pinned by W-04)
  local u = c.network_user_country_share
  local ci_net = p.trace("network_intensity", u * ci_user + (1 - u) * ci_server)

  local format, transaction = row.format or "display", row.transaction or "programmatic"
  local paths = row.active_paths or p.lookup(c.rtb_active_paths, transaction .. "-" .. format)
  p.trace("active_paths", paths)
  local avails = row.avails_ratio or c.rtb_avails_ratio
  local request = row.request_ratio or c.rtb_request_ratio
  local response = row.response_ratio or c.rtb_response_ratio
  local impressions = row.impressions + 0.0
  -- RTB messages M = I x P x a x (1 + q) x (1 + r) (spec 3)
  local messages = p.trace("rtb_messages", impressions * paths * avails * (1 + request) * (1 + response))

  -- Decision: the server output and the network transfer per impression are the same kB; 1 kB = 1000 B
  local overhead = row.payload_overhead_bytes or c.creative_payload_overhead_bytes
  local kb = p.trace("creative_kb", (row.creative_bytes + overhead) / 1000)
  local seconds = p.trace("time_in_view_seconds", row.time_in_view_seconds or c.default_time_in_view_seconds)

  return {
    row = row, impressions = impressions, messages = messages, kb = kb, seconds = seconds + 0.0, mix = mix,
    ci_server = ci_server, ci_user = ci_user, ci_net = ci_net,
    edge = (row.edge_share or c.creative_edge_share) + 0.0,
    mobile = (row.mobile_share or c.network_mobile_share) + 0.0,
  }
end

-- Eq. 1-2, RTB servers. Decision: Eq. 2's hours per bid are converted to seconds (x 3600) to meet a
-- footprint per second of lifetime (pinned by W-01).
category "adSelection.adPlatform" { split = true, unit = "g", doc = "RTB servers (Eq. 1 use, Eq. 2 embodied)",
  compute = function(ctx, c)
    local bid_share = ctx.messages * c.rtb_hours_per_bid * c.rtb_compute_ratio * (1 + c.rtb_overhead_ratio)
    local use = bid_share * (c.rtb_server_power_watts * c.pue / 1000) * ctx.ci_server
    local embodied = bid_share * 3600 * (c.rtb_server_embodied_kgco2e * 1000 / c.rtb_server_lifetime_seconds)
    return use, embodied
  end }

-- Eq. 3-4, RTB network: server-to-server traffic on fixed networks at the server country's intensity.
category "adSelection.dataTransfer" { split = true, unit = "g", doc = "RTB network (Eq. 3 use, Eq. 4 embodied)",
  compute = function(ctx, c)
    local kb = ctx.messages * c.rtb_kb_per_message
    return kb * c.rtb_network_kwh_per_kb * ctx.ci_server, kb * c.rtb_network_embodied_kgco2e_per_kb * 1000
  end }

-- Eq. 5-6, creative transmission by ad servers (share 1 - e) and CDN edge nodes (share e).
-- Decision: the ad-server efficiency excludes PUE and is multiplied by pue; the edge figure includes it
-- (pinned by W-05, W-06). Edge nodes sit with the audience (CI_user), ad servers in server_country.
category "creativeDelivery.adPlatform" { split = true, unit = "g",
  doc = "creative transmission by ad servers / edge nodes (Eq. 5 use, Eq. 6 embodied)",
  compute = function(ctx, c)
    local kb, e = ctx.impressions * ctx.kb, ctx.edge
    local use = kb * ((1 - e) * c.creative_ad_server_kwh_per_kb * c.pue * ctx.ci_server
      + e * c.creative_edge_kwh_per_kb * ctx.ci_user)
    local server_kg_per_kb = c.creative_ad_server_embodied_kgco2e / c.creative_ad_server_bandwidth_kb_per_second
      / c.creative_ad_server_lifetime_seconds
    local embodied = kb * ((1 - e) * server_kg_per_kb + e * c.creative_edge_embodied_kgco2e_per_kb) * 1000
    return use, embodied
  end }

-- Eq. 7-8, creative transmission by networks. Decision: the published Eq. 7 lists the network efficiency
-- twice; it is applied once, and the country breakdown is CI_net (pinned by W-04).
category "creativeDelivery.dataTransfer" { split = true, unit = "g",
  doc = "creative transmission by networks (Eq. 7 use, Eq. 8 embodied)",
  compute = function(ctx, c)
    local kb, m = ctx.impressions * ctx.kb, ctx.mobile
    local kwh = c.network_kwh_per_kb
    local emb = c.network_embodied_kgco2e_per_kb
    return kb * ((1 - m) * kwh.fixed + m * kwh.mobile) * ctx.ci_net,
      kb * ((1 - m) * emb.fixed + m * emb.mobile) * 1000
  end }

-- Eq. 9-10, user devices, over the mix by country and device. Decisions: both are multiplied by
-- impressions (pinned by W-12); Eq. 9 converts W x s to kWh (/ 3600 / 1000, pinned by W-01).
category "creativeDelivery.consumerDevice" { split = true, unit = "g",
  doc = "user devices (Eq. 9 use, Eq. 10 embodied)",
  compute = function(ctx, c, p)
    local use, embodied = 0.0, 0.0
    for _, m in ipairs(ctx.mix) do
      local viewed = m.share * ctx.seconds
      use = use + viewed * p.lookup(c.device_watts, m.device) / 3600 / 1000 * m.intensity
      local active_seconds = p.lookup(c.device_lifetime_years, m.device) * c.days_per_year
        * p.lookup(c.device_daily_active_hours, m.device) * 3600
      embodied = embodied + viewed * p.lookup(c.device_embodied_kgco2e, m.device) * 1000 / active_seconds
    end
    return ctx.impressions * use, ctx.impressions * embodied
  end }
