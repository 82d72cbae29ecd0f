-- Sustainable Web Design, version 4 (spec: shared/spec/swd.md; reference: thegreenwebfoundation/co2.js
-- src/sustainable-web-design-v4.js @27cbe83). Version 3 is model-3.lua; both use common.lua.
local common = require "common"

model {
  id = "swd", version = "4",
  title = "Sustainable Web Design v4",
  framework = "Sustainable Web Design",
  source = "sustainablewebdesign.org, Estimating digital emissions (v4); thegreenwebfoundation/co2.js @27cbe83",
  packs = { "swd-4" }, replay = true,
  categories = {
    "swd.operational.dataCenter", "swd.operational.network", "swd.operational.device",
    "swd.embodied.dataCenter", "swd.embodied.network", "swd.embodied.device",
  },
}

-- Section 1. Fields not declared here are ignored (Decision: unlisted fields; pinned by O4-14, O4-17).
input "bytes" { type = "number", required = true, min = 0, unit = "bytes",
  doc = "bytes transferred (per-byte) or the page weight (per-visit); fractions allowed" }
input "method" { type = "enum", values = { "per-byte", "per-visit" }, default = "per-byte",
  doc = "per-byte: one transfer of bytes; per-visit: an average visit with the caching assumptions" }
input "green_hosting" { type = "boolean", default = false, doc = "the data centre runs on renewable energy" }
input "green_hosting_factor" { type = "number", min = 0, max = 1, default = 0, unit = "fraction",
  doc = "share of the data centre's operational energy that is renewable (ignored when green_hosting)" }
input "grid_intensity" { type = "object", check = common.grid_intensity_check, unit = "gCO2e/kWh",
  doc = "per segment (data_center, network, device): a number, a number string or an ISO alpha-2/alpha-3 code" }
input "first_visit_ratio" { type = "number", min = 0, max = 1, check = common.per_visit_only, unit = "fraction",
  doc = "per-visit: share of first-time visits (pack default_first_visit_ratio)" }
input "return_visit_ratio" { type = "number", min = 0, max = 1, check = common.per_visit_only, unit = "fraction",
  doc = "per-visit: share of returning visits (pack default_return_visit_ratio)" }
input "data_reload_ratio" { type = "number", min = 0, max = 1, check = common.per_visit_only, unit = "fraction",
  doc = "per-visit: share of the bytes downloaded again on a return visit (pack default_data_reload_ratio)" }
input "data_cache_ratio" { type = "number", min = 0, max = 1, check = common.cache_ratio_check, unit = "fraction",
  doc = "per-visit: share served from the browser cache on a return visit; reload = 1 - cache" }

-- The pack keys the equations read, with the units they are written for: a pack in other units is
-- refused when the model is bound, before any row runs.
coefficient "operational_kwh_per_gb" { unit = "kWh/GB", doc = "operational energy per GB, by segment" }
coefficient "embodied_kwh_per_gb" { unit = "kWh/GB", doc = "embodied energy per GB, by segment" }
coefficient "global_grid_intensity_gco2e_per_kwh" { unit = "gCO2e/kWh", doc = "default segment intensity" }
coefficient "rating_thresholds_g" { unit = "g", doc = "upper bounds of the rating bands" }
coefficient "grid" { unit = "gCO2e/kWh", doc = "annual intensity by ISO alpha-2 code" }

-- One transfer of the row's bytes, per segment, before the visit weight (spec 3, version 4).
local function one_load(gb, ci, g, c)
  local op, emb, glob = c.operational_kwh_per_gb, c.embodied_kwh_per_gb, c.global_grid_intensity_gco2e_per_kwh
  return {
    -- the green hosting factor reduces only the data centre's operational part (pinned by O4-04, O4-05)
    ["swd.operational.dataCenter"] = gb * op.data_center * ci.data_center * (1 - g),
    ["swd.operational.network"] = gb * op.network * ci.network,
    ["swd.operational.device"] = gb * op.device * ci.device,
    -- Decision: embodied energy is always converted at the global intensity (pinned by O4-02)
    ["swd.embodied.dataCenter"] = gb * emb.data_center * glob,
    ["swd.embodied.network"] = gb * emb.network * glob,
    ["swd.embodied.device"] = gb * emb.device * glob,
  }
end

function prepare(row, c, p)
  local ci = {}
  for _, s in ipairs(common.SEGMENTS) do
    ci[s] = p.trace("grid_intensity." .. s,
      common.segment_intensity(row.grid_intensity, s, c, c.global_grid_intensity_gco2e_per_kwh))
  end
  -- green_hosting wins over green_hosting_factor, as in CO2.js
  local g = p.trace("green_hosting_factor", row.green_hosting and 1.0 or (row.green_hosting_factor or 0) + 0.0)
  local w, reload, first, again = common.visit_weight(row, c)
  p.trace("visit_weight", w)

  local gb = p.trace("gigabytes", row.bytes / 1e9)        -- decimal GB (co2.js file-size.js)
  -- Decision: tiny transfers - below 1 byte every output is 0 (pinned by O4-09)
  if row.bytes < 1 then gb = 0.0 end
  local load = one_load(gb, ci, g, c)

  -- One full load summed per segment in CO2.js's order; the rating uses the total computed as CO2.js does.
  local first_visit = (load["swd.operational.dataCenter"] + load["swd.embodied.dataCenter"])
    + (load["swd.operational.network"] + load["swd.embodied.network"])
    + (load["swd.operational.device"] + load["swd.embodied.device"])
  local total = first_visit
  if row.method == "per-visit" then
    p.trace("data_reload_ratio", reload)
    p.trace("first_visit_co2e", first_visit)
    p.trace("return_visit_co2e", first_visit * reload)
    total = first_visit * first + first_visit * again * reload
  end
  p.trace("rating", common.rating(total, c.rating_thresholds_g))

  -- Decision: segments sum to the total - every segment carries the visit weight (pinned by O4-05, O4-06)
  local seg = {}
  for key, value in pairs(load) do seg[key] = value * w end
  return { row = row, seg = seg }
end

-- One category per output key of spec section 4; each returns its share computed in prepare (the rating
-- needs the whole total first).
common.segment_categories {
  { "swd.operational.dataCenter", "data centre operational energy x segment intensity x (1 - g) x w" },
  { "swd.operational.network", "network operational energy x segment intensity x w" },
  { "swd.operational.device", "user device operational energy x segment intensity x w" },
  { "swd.embodied.dataCenter", "data centre embodied energy x global intensity x w" },
  { "swd.embodied.network", "network embodied energy x global intensity x w" },
  { "swd.embodied.device", "user device embodied energy x global intensity x w" },
}

