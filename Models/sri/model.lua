-- SRI x AD V2.1 ("socle commun" of the Syndicat des Régies Internet and Alliance Digitale) as a Plume model.
-- Normative spec: shared/spec/sri.md; section numbers (5.1, 7.2, ...) and decisions (Dn) are cited below.
-- Coefficients and per-unit intermediates are in kg (as in the workbook); row results are grams (section 4).
local location = require "location"
local quality = require "quality"

-- D28: SRI's allocation phase is ad selection, its broadcast phase is creative delivery (section 3).
local CATEGORIES = {
  "adSelection.adPlatform", "adSelection.dataTransfer",
  "creativeDelivery.adPlatform", "creativeDelivery.dataTransfer", "creativeDelivery.consumerDevice",
}

model {
  id = "sri", version = "2.1",
  title = "SRI x AD V2.1 digital campaign carbon framework",
  framework = "SRI x Alliance Digitale common base (socle commun) V2.1",
  source = "SRISyndicatRegiesInternet/SRIxAD-DigitalCampaignsCarbonFramework SRIxAD-Database_V2.1_Excel_ENG.xlsx @e755c18",
  packs = { "sri-2.1" }, replay = true,
  categories = CATEGORIES,
}

local DEVICES = { "phone", "pc", "tablet", "tv" }          -- D18 (no "Other" column)
local IS_DEVICE = { phone = true, pc = true, tablet = true, tv = true }
local TIMED_FORMATS = { video = true, audio = true }       -- D9, D10

---------------------------------------------------------------------------------------------------------------
-- Inputs (section 5). Rules 1, 2 and 9 of 5.1 are the per-field checks below; the three required fields come
-- first. buying_mode and completion_rate carry no host default because their absence lowers the input level
-- (9.2); the model applies their defaults itself (D7, D9).
---------------------------------------------------------------------------------------------------------------
input "impressions" { type = "number", required = true, min = 0, unit = "impressions",
  doc = "impressions delivered; fractions allowed (D21)" }
input "format" { type = "enum", required = true, values = { "display", "video", "native", "audio", "other" },
  doc = "format family of the SRI collection matrix" }
input "creative_kb" { type = "number", required = true, min = 0, unit = "kB per impression",
  doc = "creative weight sent per impression (1 kB = 1000 bytes)" }
input "buying_mode" { type = "enum", values = { "programmatic", "direct", "direct-competing" },
  doc = "absent = programmatic, and the input level drops to 0 (D7)" }
input "view_seconds" { type = "number", min = 0, unit = "s per impression",
  doc = "time on screen / watched / listened; wins for every format (D9)" }
input "duration_seconds" { type = "number", min = 0, unit = "s", doc = "video or audio length (D9)" }
input "completion_rate" { type = "number", min = 0, max = 1, unit = "fraction",
  doc = "video or audio completion; absent = 1 (D9)" }
input "device_type" { type = "enum", values = DEVICES, doc = "single device; exclusive with device_mix (D18)" }
input "device_mix" { type = "object", unit = "fraction",
  doc = "device shares {phone, pc, tablet, tv} in [0, 1] summing to 1; exclusive with device_type (D18)" }
input "network_type" { type = "enum", values = { "fixed", "mobile" },
  doc = "broadcast network; exclusive with mobile_share; absent = pack shares 90/10 (D14)" }
input "mobile_share" { type = "number", min = 0, max = 1, unit = "fraction",
  doc = "mobile share of broadcast traffic (D14)" }
input "country" { type = "string",
  doc = "audience location code (ISO alpha-2 or an SRI table key, D15-D17); exclusive with audience_mix" }
input "audience_mix" { type = "object", unit = "fraction",
  doc = "audience shares by location code, summing to 1; exclusive with country" }
input "carbon_intensity_gco2e_per_kwh" { type = "number", min = 0, unit = "gCO2e/kWh",
  doc = "audience grid intensity; replaces the audience factor only (D12)" }
input "publisher_activation_share" { type = "number", min = 0, max = 1, unit = "fraction",
  doc = "share of potential paths the publisher activates; programmatic and direct-competing only (D8)" }
input "ssp_activation_share" { type = "number", min = 0, max = 1, unit = "fraction",
  doc = "share of potential paths the SSP activates; programmatic and direct-competing only (D8)" }
input "level1_basis" { type = "enum", values = { "campaign", "average" }, default = "campaign",
  doc = "average: Level-1 values come from a sample study, input level 0 (D26)" }
input "level3_specified" { type = "boolean", default = false,
  doc = "the sales house supplied its own Level-3 data (D26)" }

---------------------------------------------------------------------------------------------------------------
-- Cross-field validation: rules 3 to 8 of 5.1, in that order.
---------------------------------------------------------------------------------------------------------------
local EXCLUSIVE_PAIRS = {                                      -- rule 3, D18
  { "device_type", "device_mix" }, { "network_type", "mobile_share" }, { "country", "audience_mix" },
}

local function check_pairs(row, p)
  for _, pair in ipairs(EXCLUSIVE_PAIRS) do
    local a, b = pair[1], pair[2]
    if row[a] ~= nil and row[b] ~= nil then
      p.reject(a, a .. " and " .. b .. " are mutually exclusive: give one of them")
    end
  end
end

-- Rule 5: a non-empty mapping of shares in [0, 1] whose double sum is 1 within 1e-6; never renormalised.
-- `allowed` (optional) is the set of accepted keys; audience_mix keys are location codes, checked by rule 7.
local function check_mix(mix, name, allowed, p)
  if type(mix) ~= "table" or #mix > 0 or #p.keys(mix) == 0 then
    p.reject(name, name .. " must be a non-empty mapping of shares")
  end
  local sum = 0.0
  for _, k in ipairs(p.keys(mix)) do
    if type(k) ~= "string" then
      p.reject(name, name .. ": keys must be text, got " .. tostring(k))
    end
    if allowed ~= nil and not allowed[k] then
      p.reject(name, name .. ": unknown key '" .. k .. "' (expected phone, pc, tablet, tv)")
    end
    local share = mix[k]
    if not p.is_number(share) or not (share >= 0 and share <= 1) then
      p.reject(name, name .. "." .. k .. " must be a number in [0, 1]")
    end
    sum = sum + share
  end
  if math.abs(sum - 1.0) > 1e-6 then
    p.reject(name, name .. " shares sum to " .. string.format("%.17g", sum) .. ", expected 1 (within 1e-6)")
  end
end

local function check_mixes(row, p)
  if row.device_mix ~= nil then check_mix(row.device_mix, "device_mix", IS_DEVICE, p) end
  if row.audience_mix ~= nil then check_mix(row.audience_mix, "audience_mix", nil, p) end
end

-- Rule 7: every location code resolves (D16, D17).
local function check_locations(row, c, p)
  if row.country ~= nil then
    local key, why = location.resolve(row.country, c.ef, p)
    if key == nil then p.reject("country", "country: " .. why) end
  end
  if row.audience_mix ~= nil then
    for _, code in ipairs(p.keys(row.audience_mix)) do
      local key, why = location.resolve(code, c.ef, p)
      if key == nil then p.reject("audience_mix", "audience_mix: key " .. why) end
    end
  end
end

function validate(row, c, p)
  check_pairs(row, p)
  if row.device_type == nil and row.device_mix == nil then                              -- rule 4
    p.reject("device_type", "device_type is required (or device_mix)")
  end
  check_mixes(row, p)                                                                    -- rule 5
  if row.country == nil and row.audience_mix == nil
     and row.carbon_intensity_gco2e_per_kwh == nil then                                 -- rule 6, D11
    p.reject("country", "country is required: give country, audience_mix or carbon_intensity_gco2e_per_kwh")
  end
  check_locations(row, c, p)                                                             -- rule 7
  if TIMED_FORMATS[row.format] and row.view_seconds == nil
     and row.duration_seconds == nil then                                               -- rule 8, D9
    p.reject("view_seconds", "view_seconds is required for " .. row.format
      .. " without duration_seconds")
  end
end

---------------------------------------------------------------------------------------------------------------
-- Resolution (5.2)
---------------------------------------------------------------------------------------------------------------

-- Base path key and activation shares (D6, D7, D8). Returns paths per impression and the pack keys read.
local function resolve_paths(row, c, p)
  local mode = row.buying_mode or "programmatic"                 -- D7: absent = programmatic
  local a = c.allocation
  local base_key
  if mode == "direct" then
    base_key = "direct"
  elseif row.format == "display" then
    base_key = "display"
  else
    base_key = "video_and_other"                                 -- D6: video, native, audio, other
  end
  local keys = { "allocation.paths." .. base_key }
  local function share(field, pack_key)
    if mode ~= "direct" and row[field] ~= nil then return row[field] + 0.0 end   -- D8
    keys[#keys + 1] = "allocation." .. pack_key
    return a[pack_key]
  end
  local publisher = share("publisher_activation_share", "publisher_activation_share")
  local ssp = share("ssp_activation_share", "ssp_activation_share")
  local paths = p.trace("alloc.paths_per_impression", a.paths[base_key] * publisher * ssp)
  return paths, keys
end

-- Time on screen (D9, D10). Returns seconds and whether the 3 s default was used.
local function resolve_time(row, c, p)
  if row.view_seconds ~= nil then
    return p.trace("terminal.view_seconds", row.view_seconds + 0.0), false
  end
  if TIMED_FORMATS[row.format] then
    local completion = row.completion_rate ~= nil and row.completion_rate + 0.0 or 1.0
    return p.trace("terminal.view_seconds", (row.duration_seconds + 0.0) * completion), false
  end
  return p.trace("terminal.view_seconds", c.terminal.default_exposure_seconds + 0.0), true
end

-- Device shares (D18): device_type d is the mix {d: 1}; an absent device has share 0.
local function resolve_devices(row)
  local shares = { phone = 0.0, pc = 0.0, tablet = 0.0, tv = 0.0 }
  if row.device_type ~= nil then
    shares[row.device_type] = 1.0
  else
    for d, s in pairs(row.device_mix) do shares[d] = s + 0.0 end
  end
  return shares
end

-- Fixed and mobile shares of the broadcast network (D14). `given` = the row has a network field.
local function resolve_network(row, c, p)
  local f, m
  if row.network_type == "fixed" then
    f, m = 1.0, 0.0
  elseif row.network_type == "mobile" then
    f, m = 0.0, 1.0
  elseif row.mobile_share ~= nil then
    m = row.mobile_share + 0.0
    f = 1.0 - m
  else
    f, m = c.broadcast.network_share.fixed, c.broadcast.network_share.mobile
  end
  p.trace("broadcast.mobile_share", m)
  return f, m, (row.network_type ~= nil or row.mobile_share ~= nil)
end

-- 7.1: the audience factor. A row intensity wins over any location (D12); locations use the pack's
-- `ef` table (never the host grid lookup, D12), a fallback entry uses ef.WORLD (D17).
local function audience_factor(row, entries, c, p)
  if row.carbon_intensity_gco2e_per_kwh ~= nil then
    return p.trace("ef_audience_kg_per_kwh", row.carbon_intensity_gco2e_per_kwh / 1000.0)
  end
  local ef = 0.0
  for _, e in ipairs(entries) do
    ef = ef + e.share * p.lookup(c.ef, e.key)
  end
  return p.trace("ef_audience_kg_per_kwh", ef)
end

---------------------------------------------------------------------------------------------------------------
-- Equations (section 7), kg per unit
---------------------------------------------------------------------------------------------------------------

-- 7.2: allocation per activated path (Programmatic & direct!I135:I138). Servers always sit at the pack's
-- server-location mix (D13); bid traffic stays on the fixed network in the product form (D14).
local function allocation_per_path(c, p)
  local a = c.allocation
  local ef_srv = p.trace("alloc.ef_servers_kg_per_kwh",
    a.server_share_fr * a.ef_server_fr_kg_per_kwh + a.server_share_intl * a.ef_server_intl_kg_per_kwh)
  local uplift = 1.0 + a.other_uses_uplift
  local request_kb = a.requests_per_path * a.request_kb * (1.0 + a.request_size_margin) * a.fixed_network_share
  return {
    server_use = p.trace("alloc.server_use_kg_per_path",
      a.servers_per_path * a.auction_time_h * a.vm_power_kw * a.pue * uplift * ef_srv),
    server_embodied = p.trace("alloc.server_embodied_kg_per_path",
      a.servers_per_path * a.server_embodied_kg_per_year / a.vms_per_server
        * a.auction_time_h / a.hours_per_year * uplift),
    network_use = p.trace("alloc.network_use_kg_per_path",
      request_kb * a.fixed_network_kwh_per_kb * a.dc_country_traffic_share * ef_srv),
    network_embodied = p.trace("alloc.network_embodied_kg_per_path",
      request_kb * a.fixed_network_embodied_kg_per_kb),
  }
end

-- 7.3: per impression = per path x activated paths (I139:I150, I164:I171).
local function allocation_per_impression(per_path, paths, p)
  local out = {}
  for _, part in ipairs({ "server_use", "server_embodied", "network_use", "network_embodied" }) do
    out[part] = p.trace("alloc." .. part .. "_kg_per_impression", per_path[part] * paths)
  end
  return out
end

-- 7.4: broadcast per kB of creative (Database!H18:H21). The audience factor only enters the audience
-- share of the delivery network (H91 holds the French factor the SRI comment says to replace).
local function broadcast_per_kb(ef_aud, f, m, c, p)
  local b = c.broadcast
  local ef_srv = p.trace("broadcast.ef_servers_kg_per_kwh",
    b.server_share_fr * b.ef_server_fr_kg_per_kwh + b.server_share_intl * b.ef_server_intl_kg_per_kwh)
  local server_use = (b.server_kwh_per_kb_fr * b.server_share_fr * b.ef_server_fr_kg_per_kwh
    + b.server_kwh_per_kb_intl * b.server_share_intl * b.ef_server_intl_kg_per_kwh) * b.pue
  local kwh = p.trace("broadcast.network_kwh_per_kb",
    f * b.network_kwh_per_kb.fixed + m * b.network_kwh_per_kb.mobile)
  local ef_network = p.trace("broadcast.ef_network_kg_per_kwh",
    b.audience_traffic_share * ef_aud + b.dc_traffic_share * ef_srv)
  return {
    server_use = p.trace("broadcast.server_use_kg_per_kb", server_use),
    server_embodied = p.trace("broadcast.server_embodied_kg_per_kb",
      b.server_embodied_kg_per_year / (b.seconds_per_year * b.server_bandwidth_kb_per_s)),
    network_use = p.trace("broadcast.network_use_kg_per_kb", kwh * ef_network),
    network_embodied = p.trace("broadcast.network_embodied_kg_per_kb",
      f * b.network_embodied_kg_per_kb.fixed + m * b.network_embodied_kg_per_kb.mobile),
  }
end

-- 7.5: one device's use and embodied kg per second on screen (H22:H33, lifetime H122:H125).
-- D4: the phone uses the average of the browser and social-app figures. D19: the lifespan cancels and
-- 365.25 days/year come from the workbook formulas.
local function device_per_second(d, ef_aud, t, p)
  local use_wh_per_s
  if d == "phone" then
    use_wh_per_s = (t.phone_wh_per_s.browser + t.phone_wh_per_s.social_app) / 2.0
  else
    use_wh_per_s = t.watts[d] * t.hours_per_second
  end
  local lifespan = t.lifespan_years[d]
  local lifetime = p.trace("terminal.lifetime_kg." .. d, t.embodied_kg_per_year[d] * lifespan)
  local use = p.trace("terminal.use_kg_per_s." .. d, use_wh_per_s * ef_aud / 1000.0)
  local embodied = p.trace("terminal.embodied_kg_per_s." .. d,
    lifetime / (t.daily_hours[d] * lifespan * t.days_per_year / t.hours_per_second))
  return use, embodied
end

-- Mix-weighted terminal factors; all four devices are traced whatever the mix (section 8).
local function terminal_per_second(shares, ef_aud, c, p)
  local use, embodied = 0.0, 0.0
  for _, d in ipairs(DEVICES) do
    local u, e = device_per_second(d, ef_aud, c.terminal, p)
    use = use + shares[d] * u
    embodied = embodied + shares[d] * e
  end
  return { use = p.trace("terminal.use_kg_per_s", use),
           embodied = p.trace("terminal.embodied_kg_per_s", embodied) }
end

---------------------------------------------------------------------------------------------------------------
-- Data quality (section 9): the keys each category reads for this row (9.3), then grades and classes.
---------------------------------------------------------------------------------------------------------------
-- Appends prefix .. name for every name to the list `into`, and returns it.
local function prefixed(prefix, names, into)
  for _, n in ipairs(names) do into[#into + 1] = prefix .. n end
  return into
end

local function location_keys(row, entries, into)
  if row.carbon_intensity_gco2e_per_kwh == nil then              -- D12: a row intensity reads no ef key
    for _, e in ipairs(entries) do
      if e.share > 0 then into[#into + 1] = "ef." .. e.key end
    end
  end
  return into
end

local ALLOC_SERVER_MIX = { "server_share_fr", "server_share_intl", "ef_server_fr_kg_per_kwh",
  "ef_server_intl_kg_per_kwh" }

-- Allocation keys: the category's own, the server-location mix, the base path key and each pack
-- activation share the row used (5.2).
local function allocation_keys(own, r)
  return prefixed("", r.path_keys, prefixed("allocation.", ALLOC_SERVER_MIX, prefixed("allocation.", own, {})))
end

local function network_keys(row, r)
  local keys = prefixed("broadcast.", { "audience_traffic_share", "dc_traffic_share", "server_share_fr",
    "server_share_intl", "ef_server_fr_kg_per_kwh", "ef_server_intl_kg_per_kwh" }, {})
  for _, net in ipairs({ { "fixed", r.fixed_share }, { "mobile", r.mobile_share } }) do
    local n, share = net[1], net[2]
    if share > 0 then                                             -- zero weights are skipped (D25)
      prefixed("broadcast.", { "network_kwh_per_kb." .. n, "network_embodied_kg_per_kb." .. n }, keys)
      if not r.network_given then keys[#keys + 1] = "broadcast.network_share." .. n end
    end
  end
  return location_keys(row, r.entries, keys)
end

local function device_keys(row, r)
  local keys = { "terminal.hours_per_second", "terminal.days_per_year" }
  if r.default_time then keys[#keys + 1] = "terminal.default_exposure_seconds" end
  for _, d in ipairs(DEVICES) do
    if r.devices[d] > 0 then                                      -- zero weights are skipped (D25)
      if d == "phone" then
        prefixed("terminal.", { "phone_wh_per_s.browser", "phone_wh_per_s.social_app" }, keys)
      else
        keys[#keys + 1] = "terminal.watts." .. d
      end
      prefixed("terminal.", { "embodied_kg_per_year." .. d, "lifespan_years." .. d, "daily_hours." .. d }, keys)
    end
  end
  return location_keys(row, r.entries, keys)
end

-- The graded pack keys each category's equations read for this row (9.3).
local function read_keys(ctx)
  local row, r = ctx.row, ctx.res
  return {
    ["adSelection.adPlatform"] = allocation_keys({ "servers_per_path", "auction_time_h", "vm_power_kw", "pue",
      "other_uses_uplift", "server_embodied_kg_per_year", "vms_per_server", "hours_per_year" }, r),
    ["adSelection.dataTransfer"] = allocation_keys({ "requests_per_path", "request_kb", "request_size_margin",
      "fixed_network_share", "fixed_network_kwh_per_kb", "dc_country_traffic_share",
      "fixed_network_embodied_kg_per_kb" }, r),
    ["creativeDelivery.adPlatform"] = prefixed("broadcast.", { "pue", "server_kwh_per_kb_fr",
      "server_kwh_per_kb_intl", "server_share_fr", "server_share_intl", "ef_server_fr_kg_per_kwh",
      "ef_server_intl_kg_per_kwh", "server_embodied_kg_per_year", "seconds_per_year",
      "server_bandwidth_kb_per_s" }, {}),
    ["creativeDelivery.dataTransfer"] = network_keys(row, r),
    ["creativeDelivery.consumerDevice"] = device_keys(row, r),
  }
end

-- Traces dq.input_level, dq.robustness.* and dq.uncertainty.* (codes, plus `.label` texts for explain).

local function trace_quality(ctx, p)
  local level = p.trace("dq.input_level", quality.input_level(ctx.row, ctx.res.entries))
  local keys = read_keys(ctx)
  local total = 4
  local function trace_class(name, grade)
    p.trace("dq.robustness." .. name, grade)
    local code = p.trace("dq.uncertainty." .. name, quality.uncertainty(level, grade))
    p.trace("dq.uncertainty." .. name .. ".label", quality.LABELS[code])
  end
  for _, cat in ipairs(CATEGORIES) do
    local grade = quality.robustness(keys[cat])
    if grade < total then total = grade end
    trace_class(cat, grade)
  end
  trace_class("total", total)
end

---------------------------------------------------------------------------------------------------------------
-- Hooks and categories (7.6)
---------------------------------------------------------------------------------------------------------------
function prepare(row, c, p)
  local entries = location.entries(row, c.ef, p)
  local paths, path_keys = resolve_paths(row, c, p)
  local seconds, default_time = resolve_time(row, c, p)
  local f, m, network_given = resolve_network(row, c, p)
  local devices = resolve_devices(row)
  local ef_aud = audience_factor(row, entries, c, p)
  local ctx = {
    row = row,
    n = row.impressions + 0.0,
    kb = row.creative_kb + 0.0,
    seconds = seconds,
    alloc = allocation_per_impression(allocation_per_path(c, p), paths, p),
    broadcast = broadcast_per_kb(ef_aud, f, m, c, p),
    terminal = terminal_per_second(devices, ef_aud, c, p),
    res = { entries = entries, path_keys = path_keys, default_time = default_time, devices = devices,
            fixed_share = f, mobile_share = m, network_given = network_given },
  }
  trace_quality(ctx, p)
  return ctx
end

-- grams for the row = impressions x per-impression kg x 1000
local function per_impression(ctx, use_kg, embodied_kg)
  return ctx.n * use_kg * 1000.0, ctx.n * embodied_kg * 1000.0
end

category "adSelection.adPlatform" { split = true, unit = "g",
  doc = "allocation servers (SSP/DSP auctions, +50% other ad-tech uses): use and manufacture",
  compute = function(ctx)
    return per_impression(ctx, ctx.alloc.server_use, ctx.alloc.server_embodied)
  end }

category "adSelection.dataTransfer" { split = true, unit = "g",
  doc = "networks carrying bid requests and responses: use and manufacture",
  compute = function(ctx)
    return per_impression(ctx, ctx.alloc.network_use, ctx.alloc.network_embodied)
  end }

category "creativeDelivery.adPlatform" { split = true, unit = "g",
  doc = "ad servers sending the creative: use and manufacture",
  compute = function(ctx)
    local b = ctx.broadcast
    return per_impression(ctx, ctx.kb * b.server_use, ctx.kb * b.server_embodied)
  end }

category "creativeDelivery.dataTransfer" { split = true, unit = "g",
  doc = "networks carrying the creative to the user: use and manufacture",
  compute = function(ctx)
    local b = ctx.broadcast
    return per_impression(ctx, ctx.kb * b.network_use, ctx.kb * b.network_embodied)
  end }

category "creativeDelivery.consumerDevice" { split = true, unit = "g",
  doc = "user terminals while the ad is on screen: use and manufacture",
  compute = function(ctx)
    local t = ctx.terminal
    return per_impression(ctx, ctx.seconds * t.use, ctx.seconds * t.embodied)
  end }
