-- Scope3 / GMSF family: the `scope3` framework and the shared equations of its variants
-- (Models/scope3-consumer-device, Models/gmsf extend this script).
-- Normative spec: shared/spec/scope3-gmsf.md. Section numbers (3.4, 4.6) and decisions (D14) below refer
-- to it. Validation (section 2, steps 1-16 of 2.6 with channel 3.1 and device 3.2) lives in validate.lua.

local V = require "validate"

model {
  id = "scope3", version = "1",
  title = "Scope3 methodology (framework scope3)",
  framework = "Scope3",
  source = "scope3data/methodology docs/calculations.mdx and defaults/docs-defaults.yaml "
        .. "@5eed5d7 (GMSF 1.3), @6948496 (GMSF 1.2), @8f86a2f (May 2024); Plume spec scope3-gmsf.md",
  packs = { "gmsf-1.3", "gmsf-1.2", "may-2024" },
  -- numbers reach the results only through arithmetic and < <= > >= (Docs/DSL.md, "Replay")
  replay = true,
  -- section 5: scope3 leaves out both consumer-device categories
  categories = {
    "adSelection.adPlatform", "adSelection.dataTransfer",
    "mediaDistribution.dataTransfer", "mediaDistribution.corporate",
    "creativeDelivery.adPlatform", "creativeDelivery.dataTransfer",
    "techManipulation.creativeStorage",
  },
}

-- Inputs are declared for documentation only (type "any"): every check, in the fixed order of D45,
-- runs in validate.lua so that the first failing check is the one reported.
local function doc_input(name, unit, doc)
  input(name) { type = "any", unit = unit, doc = doc }
end
doc_input("impressions", "impressions", "impressions delivered by the row (required, >= 0)")
doc_input("views", "count", "video views; loads for the 'view' download trigger")
doc_input("plays", "count", "screen plays; loads for the 'play' download trigger (DOOH)")
doc_input("utc_datetime", "ISO 8601 UTC", "delivery time, used only by the grid lookup")
doc_input("country", "ISO 3166-1 alpha-2", "delivery country (geo, mobile share, grid lookup)")
doc_input("region", "-", "sub-national region, used only by the grid lookup")
doc_input("carbon_intensity_gco2e_per_kwh", "gCO2e/kWh", "grid intensity; when present no grid lookup is made")
doc_input("channel", "-", "web, app, social, ctv-bvod, streaming-video (olv), digital-audio (audio), dooh, search")
doc_input("device_type", "-", "phone, tablet, pc, tv, smart-speaker; default by channel")
doc_input("network_type", "-", "mobile or fixed; absent means the blended mobile share")
doc_input("property", "-", "publisher property data (session, volume, corporate, channels)")
doc_input("placement", "-", "ad_platforms: the placement's ad-selection platform graph")
doc_input("ad_format", "-", "rendered size, images, durations, video player, other assets, platforms")
doc_input("creative_ad_platforms", "-", "creative-side platforms (ad servers, measurement)")
doc_input("creative_is_3p_served", "-", "third-party served creative (generic ad server + measurement)")
doc_input("creative_total_image_data_transfer_bytes", "bytes", "measured image bytes, whole row")
doc_input("creative_image_sizes", "px", "image sizes 'WxH'; wins over ad_format.image_sizes")
doc_input("creative_total_audio_data_transfer_bytes", "bytes", "measured audio bytes, whole row")
doc_input("creative_audio_duration_seconds", "s", "audio duration")
doc_input("creative_total_video_data_transfer_bytes", "bytes", "measured video asset bytes, whole row")
doc_input("creative_video_vast_bytes", "bytes/load", "VAST/VPAID wrapper bytes per load")
doc_input("creative_video_bitrate_kbps", "kbit/s", "delivered video bitrate")
doc_input("creative_video_size_bytes", "bytes", "one copy of the video file (derives a bitrate)")
doc_input("creative_video_duration_seconds", "s", "video duration")
doc_input("creative_video_view_time_seconds", "s/load", "average seconds viewed per load")
doc_input("creative_video_view_rate", "fraction", "share of the video viewed (0-1)")
doc_input("creative_time_in_view_seconds", "s/impression", "measured time in view per impression")

local GEOS = { "NAMER", "LATAM", "EMEA", "JAPAC" }
local STORAGE_TYPES = { "cloud_storage", "hard_disk_drive", "linear_tape_open", "solid_state_drive" }

local function contains(list, x)
  for _, v in ipairs(list) do
    if v == x then return true end
  end
  return false
end

local function num(x)
  if x == nil then return nil end
  return x + 0.0
end

-- 3.5 (D36): the row's geo value, else the mean of the values present in geo order, else absent.
local function geo_value(m, geo)
  if m == nil then return nil end
  if geo ~= nil and m[geo] ~= nil then return num(m[geo]) end
  local sum, n = 0.0, 0
  for _, g in ipairs(GEOS) do
    local v = m[g]
    if v ~= nil then sum, n = sum + v, n + 1 end
  end
  if n == 0 then return nil end
  return sum / n
end

-- 4.1: property.video_bitrate_kbps is one number for every device or a per-device object (D42).
local function property_bitrate(row, device)
  local b = row.property and row.property.video_bitrate_kbps
  if b == nil then return nil end
  if type(b) == "table" then return num(b[device]) end
  return num(b)
end

-- 3.4 shorthands (grams for the whole row)
local function dt_usage(ctx, kb) return kb * ctx.usage_kwh_per_gb / 1e6 * ctx.ci end
local function dt_embodied(ctx, kb) return kb * ctx.embodied_gco2e_per_kb end

-- 4.7: Carbon Trust power model, watts per user at a bitrate
local function power_watts(ctx, kbps) return ctx.baseload_watts + ctx.dynamic_watts_per_mbps * kbps / 1000 end

-- 3.4: mobile share p and the blended network factors
local function network(ctx, row, c, p)
  local pm
  if row.network_type == "mobile" then
    pm = 1.0
  elseif row.network_type == "fixed" then
    pm = 0.0
  else
    -- D16: device share, then country share, then world share (each read only when reached, D46)
    local share = c.default_percent_mobile_by_device_type[ctx.device]
    if share == nil and row.country ~= nil then share = c.default_percent_mobile_by_country[row.country] end
    if share == nil then share = c.default_percent_mobile end
    pm = share / 100.0
  end
  local function blend(tbl)
    return p.lookup(tbl, "mobile") * pm + p.lookup(tbl, "fixed") * (1 - pm)
  end
  ctx.pct_mobile = p.trace("pct_mobile", pm)
  ctx.usage_kwh_per_gb = p.trace("usage_kwh_per_gb", blend(c.default_usage_kwh_per_gb))
  ctx.embodied_gco2e_per_kb = p.trace("embodied_gco2e_per_kb", blend(c.default_network_embodied_emissions_gco2e_per_kb))
  ctx.baseload_watts = blend(c.default_baseload_watts)
  ctx.dynamic_watts_per_mbps = blend(c.default_dynamic_watts_per_mbps)
end

-- 3.6: creative facts shared by 4.1-4.3
local function creative_facts(ctx, row, c, p)
  local af = row.ad_format or {}
  ctx.ad_format = af
  ctx.primary = af.rendered_width_pixels == nil and af.rendered_height_pixels == nil
  ctx.image_sizes = row.creative_image_sizes or af.image_sizes or {}          -- D7; [] wins when present
  ctx.audio_duration = num(row.creative_audio_duration_seconds or af.audio_duration_seconds)
  ctx.video_duration = num(row.creative_video_duration_seconds or af.video_duration_seconds)
  ctx.has_video = ctx.video_duration ~= nil or row.creative_total_video_data_transfer_bytes ~= nil
  local trigger = c.default_video_player_download_trigger[ctx.channel] or "impression"
  -- D33: a given player (object, even {}, or "default" which validate.lua turns into {}) is used for
  -- primary and non-primary video; without one only out-stream video gets the default player.
  local vp = af.video_player
  -- player.size nil = default_video_player_size_bytes, read in 4.1 only when the row has video (D46)
  local player = { buffer = math.huge }
  if vp ~= nil then
    player.size = num(vp.size_bytes)
    if vp.buffering_seconds ~= nil then player.buffer = num(vp.buffering_seconds) end
    trigger = vp.download_trigger or trigger
  elseif not (ctx.has_video and not ctx.primary) then
    player.size = 0.0                                     -- no video, or in-stream video in the content player
  end
  ctx.player = player
  ctx.trigger = trigger
  local loads = ctx.n                                     -- D34: a missing counter falls back to impressions
  if trigger == "view" then
    loads = num(row.views) or ctx.n
  elseif trigger == "play" then
    loads = num(row.plays) or ctx.n
  end
  ctx.loads = p.trace("loads", loads)
end

-- validate() runs the checks of section 2 once; prepare() reuses the resolved channel and device for the
-- same row table (and runs the checks itself if a host ever calls prepare without validate).
local checked = setmetatable({}, { __mode = "k" })

function validate(row, c, p)
  checked[row] = V.check(row, c, p)
end

function prepare(row, c, p)
  local r = checked[row] or V.check(row, c, p)
  checked[row] = nil
  local ctx = { row = row }
  ctx.n = row.impressions + 0.0
  ctx.channel = p.trace("channel", r.channel)
  ctx.device = p.trace("device_type", r.device)
  -- 3.3: one intensity per row; the host is asked only when the row has none, after validation (D45)
  local ci = row.carbon_intensity_gco2e_per_kwh
  if ci == nil then
    local src
    ci, src = p.grid.intensity(row.country, row.region, row.utc_datetime)
    if src ~= nil then p.trace("carbon_intensity_source", src) end
  end
  ctx.ci = p.trace("carbon_intensity_gco2e_per_kwh", ci + 0.0)
  network(ctx, row, c, p)
  ctx.geo = row.country ~= nil and V.geo_of(row.country) or nil
  creative_facts(ctx, row, c, p)
  ctx.power_model = contains(c.power_model_channels, ctx.channel)   -- 4.7, D30: may-2024 video channels
  return ctx
end

-- 4.1 video asset: measured, modelled from a bitrate, or none
local function video_asset(ctx, row, c, p)
  if row.creative_total_video_data_transfer_bytes ~= nil then
    return "measured", num(row.creative_total_video_data_transfer_bytes)
  end
  local d = ctx.video_duration
  if d == nil then return "none", 0.0 end
  local kbps = num(row.creative_video_bitrate_kbps)
  if kbps == nil and row.creative_video_size_bytes ~= nil and d > 0 then
    kbps = row.creative_video_size_bytes * 8.0 / 1000 / d
  end
  if kbps == nil then kbps = property_bitrate(row, ctx.device) end
  if kbps == nil then
    if ctx.primary then
      kbps = num(p.lookup(c.default_video_bitrate_kbps, ctx.device))
    else
      kbps = num(c.default_non_primary_video_bitrate_kbps)
    end
  end
  local watched = num(row.creative_video_view_time_seconds)
  if watched == nil and row.creative_video_view_rate ~= nil then
    watched = row.creative_video_view_rate * d
  end
  if watched == nil then watched = d end
  local streamed = math.min(watched + ctx.player.buffer, d)
  ctx.video_bitrate_kbps = p.trace("video_bitrate_kbps", kbps)
  p.trace("seconds_watched", watched)
  ctx.seconds_streamed = p.trace("seconds_streamed", streamed)
  return "modelled", kbps / 8 * 1000 * streamed * ctx.loads
end

local function image_bytes(ctx, row, c, p)
  if row.creative_total_image_data_transfer_bytes ~= nil then
    return num(row.creative_total_image_data_transfer_bytes)
  end
  local pixels = 0.0
  for _, s in ipairs(ctx.image_sizes) do
    local w, h = V.parse_image_size(s)
    pixels = pixels + (w + 0.0) * h
  end
  return pixels * 3 / c.default_image_compression_ratio * ctx.n
end

local function audio_bytes(ctx, row, c, p)
  if row.creative_total_audio_data_transfer_bytes ~= nil then
    return num(row.creative_total_audio_data_transfer_bytes)
  end
  if ctx.audio_duration == nil then return 0.0 end
  return ctx.audio_duration * p.lookup(c.default_audio_bitrate_kbps, ctx.device) / 8 * 1000 * ctx.n
end

-- 4.1 creativeDelivery.dataTransfer (D5: byte quantities are whole-row totals)
category "creativeDelivery.dataTransfer" { split = true, unit = "g",
  doc = "delivering the creative's bytes over the network (4.1; power model 4.7 for may-2024 video)",
  compute = function(ctx, c, p)
    local row, n = ctx.row, ctx.n
    local img = image_bytes(ctx, row, c, p)
    local aud = audio_bytes(ctx, row, c, p)
    local mode, asset = video_asset(ctx, row, c, p)
    local vast, player = 0.0, 0.0
    if ctx.has_video then
      vast = (num(row.creative_video_vast_bytes) or 0.0) * ctx.loads
      local size = ctx.player.size
      if size == nil then size = num(c.default_video_player_size_bytes) end
      player = size * n
    end
    local other = (num(ctx.ad_format.other_assets_bytes) or 0.0) * n
    local video = asset + vast
    local total = img + aud + video + player + other
    p.trace("creative_image_bytes", img)
    p.trace("creative_audio_bytes", aud)
    p.trace("creative_video_bytes", video)
    p.trace("creative_player_bytes", player)
    p.trace("creative_other_bytes", other)
    ctx.creative_bytes = p.trace("creative_bytes", total)
    p.trace("creative_bytes_per_imp", n > 0 and total / n or 0.0)
    local usage
    if ctx.power_model and mode == "modelled" then
      usage = dt_usage(ctx, (total - asset) / 1000)
            + ctx.seconds_streamed * ctx.loads / 3600 * power_watts(ctx, ctx.video_bitrate_kbps) / 1000 * ctx.ci
    else
      usage = dt_usage(ctx, total / 1000)
    end
    return usage, dt_embodied(ctx, total / 1000)
  end }

-- 4.2 creativeDelivery.adPlatform: creative-side platforms, each without a value costs one edge term (D35)
category "creativeDelivery.adPlatform" { unit = "g",
  doc = "creative ad serving: listed creative-side platforms, else the CDN edge node (4.2, D19, D35)",
  compute = function(ctx, c, p)
    local row, af = ctx.row, ctx.ad_format
    local platforms = {}
    local creative = row.creative_ad_platforms
    if creative == nil then
      creative = row.creative_is_3p_served and { c.generic_creative_ad_server, c.generic_measurement_platform } or {}
    end
    for _, q in ipairs(creative) do platforms[#platforms + 1] = q end
    for _, q in ipairs(af.ad_platforms or {}) do platforms[#platforms + 1] = q end
    local edge
    local function edge_g()
      if edge == nil then
        local kb = ctx.creative_bytes / 1000
        edge = kb * c.edge_node_use_watts_per_kb / 1000 * ctx.ci + kb * c.edge_node_embodied_gco2e_per_kb
      end
      return edge
    end
    if #platforms == 0 then return edge_g() end
    local g = 0.0
    for _, q in ipairs(platforms) do
      local v = geo_value(q.emissions_per_creative_request_per_geo_gco2_per_imp, ctx.geo)
      if v ~= nil then g = g + v * ctx.n else g = g + edge_g() end
    end
    return g
  end }

-- 4.3 creativeDelivery.consumerDevice (also reads the device factors 4.5 uses)
category "creativeDelivery.consumerDevice" { split = true, unit = "g",
  doc = "the consumer device while the creative is shown or played (4.3, D9, D10, D11, D41)",
  compute = function(ctx, c, p)
    local row, device = ctx.row, ctx.device
    ctx.W = p.lookup(c.default_device_watts, device)
    ctx.PEPS = p.lookup(c.default_device_embodied_emissions_per_second, device)
    ctx.FUEL = p.lookup(c.default_device_usage_emissions_from_fuel_consumption_per_second, device)
    local traced = p.includes("creativeDelivery.consumerDevice")
    local active
    if ctx.channel == "dooh" then
      active = 0.0                                            -- D41: the screen belongs to the media owner
    elseif ctx.channel == "digital-audio" then
      active = p.lookup(c.default_audio_power_utilization, device) * (ctx.audio_duration or 0.0)   -- D9
    else
      local dw = p.lookup(c.default_rendered_device_width, device)
      local dh = p.lookup(c.default_rendered_device_height, device)
      local coverage = 1.0
      if not ctx.primary then
        local af = ctx.ad_format
        local w = num(af.rendered_width_pixels) or (dw + 0.0)
        local h = num(af.rendered_height_pixels) or (dh + 0.0)
        coverage = math.min(1.0, w * h / (dw * dh + 0.0))
      end
      local tiv = num(row.creative_time_in_view_seconds) or ctx.video_duration          -- D11
      if tiv == nil then tiv = num(c.default_time_in_view_seconds) end
      if traced then
        p.trace("visual_device_coverage", coverage)
        p.trace("time_in_view_seconds", tiv)
      end
      active = coverage * tiv
    end
    if traced then p.trace("device_active_seconds", active) end
    local s = active * ctx.n
    return s / 3600 * ctx.W / 1000 * ctx.ci + s * ctx.FUEL, s * ctx.PEPS          -- D10
  end }

-- 4.4 techManipulation.creativeStorage (D1-D4)
category "techManipulation.creativeStorage" { unit = "g",
  doc = "storing raw masters and working copies of the creative (4.4)",
  compute = function(ctx, c, p)
    local kg_per_gb = 0.0
    for _, t in ipairs(STORAGE_TYPES) do
      kg_per_gb = kg_per_gb + p.lookup(c.default_storage_kgco2e_per_gb, t) * p.lookup(c.default_storage_usage_pct, t) / 100
    end
    p.trace("storage_kgco2e_per_gb", kg_per_gb)
    local factor = p.lookup(c.creative_raw_asset_size_factor_by_channel, ctx.channel)
                 + p.lookup(c.creative_work_iterations_factor_by_channel, ctx.channel)
    return kg_per_gb * 1000 * ctx.creative_bytes * factor / 1e9 / c.default_impressions_per_creative
  end }

-- 4.5 session time and media volume per impression (D17, D38)
local function media(ctx, c, p)
  local row, ch = ctx.row, ctx.channel
  local prop = row.property or {}
  local secs = num(prop.average_seconds_per_session_excluding_ads)
  if secs == nil then secs = num(c.default_average_seconds_per_session_excluding_ads_by_channel[ch]) end
  local imps = num(prop.average_imps_per_session)
  if imps == nil then imps = num(c.default_property_average_imps_per_session_by_channel[ch]) end
  local funded = num(prop.ad_funded_percentage)
  if funded == nil then funded = num(c.default_property_ad_funded_percentage_by_channel[ch]) or 100.0 end
  local ssp = 0.0
  if secs ~= nil and imps ~= nil then ssp = secs * funded / 100 / imps end
  local kb
  if prop.average_data_kb_per_session_excluding_ads ~= nil and imps ~= nil then
    kb = prop.average_data_kb_per_session_excluding_ads * funded / 100 / imps
  elseif c.default_average_data_kb_per_session_seconds_excluding_ads_by_channel[ch] ~= nil then
    kb = c.default_average_data_kb_per_session_seconds_excluding_ads_by_channel[ch] * ssp
  elseif ch == "ctv-bvod" or ch == "streaming-video" then
    local kbps = property_bitrate(row, ctx.device) or num(p.lookup(c.default_video_bitrate_kbps, ctx.device))
    kb = ssp * kbps / 8
  elseif ch == "digital-audio" then
    kb = ssp * p.lookup(c.default_audio_bitrate_kbps, ctx.device) / 8
  else
    kb = 0.0
  end
  ctx.imps_per_session = imps
  ctx.session_seconds_per_imp = ssp
  ctx.media_kb_per_imp = kb
  if p.includes("mediaDistribution.dataTransfer") or p.includes("mediaDistribution.consumerDevice")
     or p.includes("mediaDistribution.corporate") then
    p.trace("session_seconds_per_imp", ssp)
    p.trace("media_kb_per_imp", kb)
  end
end

category "mediaDistribution.dataTransfer" { split = true, unit = "g",
  doc = "the publisher's content delivered alongside the ad (4.5; power model 4.7 for may-2024 video)",
  compute = function(ctx, c, p)
    media(ctx, c, p)
    local kb = ctx.media_kb_per_imp * ctx.n
    local usage
    if ctx.power_model then
      local kbps = property_bitrate(ctx.row, ctx.device) or num(p.lookup(c.default_video_bitrate_kbps, ctx.device))
      usage = ctx.session_seconds_per_imp * ctx.n / 3600 * power_watts(ctx, kbps) / 1000 * ctx.ci
    else
      usage = dt_usage(ctx, kb)
    end
    return usage, dt_embodied(ctx, kb)
  end }

category "mediaDistribution.consumerDevice" { split = true, unit = "g",
  doc = "the consumer device during the ad-funded share of the content session (4.5, D41)",
  compute = function(ctx, c, p)
    if ctx.channel == "dooh" then return 0.0, 0.0 end
    local s = ctx.session_seconds_per_imp * ctx.n
    return s / 3600 * ctx.W / 1000 * ctx.ci + s * ctx.FUEL, s * ctx.PEPS
  end }

category "mediaDistribution.corporate" { unit = "g",
  doc = "the publisher's allocated corporate emissions (4.5, D6, D40)",
  compute = function(ctx, c, p)
    local prop = ctx.row.property or {}
    local per_imp
    if prop.allocated_adjusted_corporate_emissions_kgco2e ~= nil and prop.total_sessions ~= nil
       and ctx.imps_per_session ~= nil then
      per_imp = prop.allocated_adjusted_corporate_emissions_kgco2e * 1000.0 / prop.total_sessions / ctx.imps_per_session
    else
      per_imp = num(c.default_property_g_per_imp_by_channel[ctx.channel]) or 0.0
    end
    return per_imp * ctx.n
  end }

-- 4.6: share of a platform's requests that reach bidder b in the row's country, else 1 (D14, D49)
local function rate(q, b, country)
  local r = V.rate(q, b.id, country)
  if r == nil then return 1.0 end
  return r + 0.0
end

-- 4.6 platform_g: the platform's bid request, its real-time data providers and its bidders, recursively;
-- a bidder whose id is already on the path is skipped and counted (D14).
local function platform_g(q, seen, env)
  local c, p = env.c, env.p
  local bid = geo_value(q.usage_emissions_per_bid_request_per_geo_gco2_per_imp, env.geo)
  if bid == nil then bid = c.default_emissions_per_bid_request_gco2_per_imp / 1000 end        -- D39
  local total = bid + env.emb
  for _, r in ipairs(q.real_time_data_providers or {}) do
    local v = geo_value(r.usage_emissions_per_rtdp_request_per_geo_gco2_per_imp, env.geo)
    if v == nil then v = c.default_emissions_per_rtdp_request_gco2_per_imp / 1000 end           -- D39
    total = total + v + env.emb
  end
  local inner = setmetatable({}, { __index = seen })
  if q.id ~= nil then inner[q.id] = true end
  for _, b in ipairs(q.bidders or {}) do
    if b.id ~= nil and inner[b.id] then
      env.cycles = env.cycles + 1
    else
      total = total + platform_g(b, inner, env) * rate(q, b, env.country)
    end
  end
  return total
end

-- 4.8 (D15, D53): share of placement platforms and their direct bidders with a model_quality above 1
local function modeled_ratio(list)
  local total, modeled = 0, 0
  local function count(q)
    total = total + 1
    if q.model_quality ~= nil and q.model_quality > 1 then modeled = modeled + 1 end
  end
  for _, q in ipairs(list) do
    count(q)
    for _, b in ipairs(q.bidders or {}) do count(b) end
  end
  return modeled / (total + 0.0)
end

local function ad_selection(ctx, c, p)
  local row, ch = ctx.row, ctx.channel
  local emb = c.default_platform_embodied_emissions_per_bid_request_gco2e_per_imp
  local req = p.lookup(c.default_consumer_device_request_size_bytes, ch)
  local list = row.placement and row.placement.ad_platforms
  local g, bytes
  if list ~= nil then                                                          -- D37: a present list wins
    local env = { c = c, p = p, geo = ctx.geo, country = row.country, emb = emb, cycles = 0 }
    g, bytes = 0.0, 0.0
    for _, q in ipairs(list) do
      g = g + platform_g(q, {}, env)
      bytes = bytes + (num(q.average_bid_request_size) or req)
      if q.sends_client_side_requests then
        for _, b in ipairs(q.bidders or {}) do     -- every listed direct bidder, cycles included
          bytes = bytes + (num(b.average_bid_request_size) or req) * rate(q, b, row.country)
        end
      end
    end
    p.trace("ad_platform_cycles_skipped", env.cycles)
    if #list > 0 then p.trace("ad_platform_modeled_ratio", modeled_ratio(list)) end
  elseif c.default_emissions_ad_selection_gco2_per_imp_by_channel[ch] ~= nil then   -- search, dooh (gmsf)
    g = num(c.default_emissions_ad_selection_gco2_per_imp_by_channel[ch])
    bytes = p.lookup(c.default_count_ad_platform, ch) * (req + 0.0)
  else                                                                     -- one generic publisher ad server
    local server = c.default_emissions_generic_ad_server_gco2_per_imp_by_channel[ch]
    if server == nil then server = c.default_emissions_generic_ad_server_gco2_per_imp end
    g = server + emb
    bytes = req + 0.0
  end
  ctx.ad_selection_g_per_imp = p.trace("ad_selection_g_per_imp", g)
  ctx.ad_selection_bytes_per_imp = p.trace("ad_selection_bytes_per_imp", bytes)
end

-- 4.6 adSelection
category "adSelection.adPlatform" { unit = "g",
  doc = "ad-selection platforms: publisher ad server, SSPs, bidders, data providers (4.6, D14, D37, D39)",
  compute = function(ctx, c, p)
    ad_selection(ctx, c, p)
    return ctx.ad_selection_g_per_imp * ctx.n
  end }

category "adSelection.dataTransfer" { split = true, unit = "g",
  doc = "bid-request bytes sent from the device (4.6)",
  compute = function(ctx, c, p)
    local kb = ctx.ad_selection_bytes_per_imp * ctx.n / 1000
    return dt_usage(ctx, kb), dt_embodied(ctx, kb)
  end }
