-- Sustainable Web Design, version 3 (spec: shared/spec/swd.md; reference: thegreenwebfoundation/co2.js
-- src/sustainable-web-design-v3.js @27cbe83). Shares its input rules and helpers with version 4 (common.lua).
local common = require "common"

model {
  id = "swd", version = "3",
  title = "Sustainable Web Design v3",
  framework = "Sustainable Web Design",
  source = "sustainablewebdesign.org, Calculating digital emissions (v3); thegreenwebfoundation/co2.js @27cbe83",
  packs = { "swd-3" }, replay = true,
  -- version 3 has one embodied key, production; the three version 4 embodied keys are absent
  categories = {
    "swd.operational.dataCenter", "swd.operational.network", "swd.operational.device",
    "swd.embodied.production",
  },
}

input "bytes" { type = "number", required = true, min = 0, unit = "bytes",
  doc = "bytes transferred (per-byte) or the page weight (per-visit); fractions allowed" }
input "method" { type = "enum", values = { "per-byte", "per-visit" }, default = "per-byte",
  doc = "per-byte: one transfer of bytes; per-visit: an average visit with the caching assumptions" }
input "green_hosting" { type = "boolean", default = false,
  doc = "the data centre runs on renewable energy: its intensity becomes the pack's renewables intensity" }
-- Decision: green_hosting_factor is a version 4 input; a version 3 row carrying it is rejected (pinned by O3-E1)
input "green_hosting_factor" { type = "any", doc = "not an input of version 3 (rejected when present)",
  check = function(value, _, p, path)
    if value ~= nil then p.reject(path, path .. " is a version 4 input; version 3 does not accept it") end
  end }
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

function prepare(row, c, p)
  local ci = {}
  for _, s in ipairs(common.SEGMENTS) do
    -- every given segment is resolved (and so validated) even when green hosting overrides it below
    ci[s] = common.segment_intensity(row.grid_intensity, s, c, c.global_grid_intensity_gco2e_per_kwh)
  end
  -- Decision: version 3 green hosting sets the data-centre intensity to the renewables figure even when
  -- grid_intensity.data_center is given (pinned by O3-02, P3-04)
  if row.green_hosting then ci.data_center = c.renewables_grid_intensity_gco2e_per_kwh + 0.0 end
  for _, s in ipairs(common.SEGMENTS) do p.trace("grid_intensity." .. s, ci[s]) end

  local w, reload = common.visit_weight(row, c)
  p.trace("visit_weight", w)
  if row.method == "per-visit" then p.trace("data_reload_ratio", reload) end

  local gb = p.trace("gigabytes", row.bytes / 1e9)        -- decimal GB (co2.js file-size.js)
  -- Decision: tiny transfers - below 1 byte every output is 0, per visit too (pinned by O3-06, P3-08)
  if row.bytes < 1 then gb = 0.0 end
  local kwh = gb * c.kwh_per_gb
  local share = c.energy_share
  local seg = {
    ["swd.operational.dataCenter"] = kwh * share.data_center * ci.data_center * w,
    ["swd.operational.network"] = kwh * share.network * ci.network * w,
    ["swd.operational.device"] = kwh * share.device * ci.device * w,
    -- production always uses the global intensity (pinned by O3-03)
    ["swd.embodied.production"] = kwh * share.production * c.global_grid_intensity_gco2e_per_kwh * w,
  }
  local total = seg["swd.operational.device"] + seg["swd.operational.network"]
    + seg["swd.operational.dataCenter"] + seg["swd.embodied.production"]
  p.trace("rating", common.rating(total, c.rating_thresholds_g))
  return { row = row, seg = seg }
end

common.segment_categories {
  { "swd.operational.dataCenter", "E x data centre share x data centre intensity x w" },
  { "swd.operational.network", "E x network share x network intensity x w" },
  { "swd.operational.device", "E x device share x device intensity x w" },
  { "swd.embodied.production", "E x production share x global intensity x w" },
}

