-- Shared by swd version 4 (model.lua) and version 3 (model-3.lua): input rules of spec swd.md section 1,
-- grid intensity resolution, the visit weight of section 3 and the rating of section 3 ("Rating").
local p = require "plume"
local countries = require "countries"

local common = {}

-- The three keys allowed inside grid_intensity, in the order traces and messages list them.
common.SEGMENTS = { "data_center", "network", "device" }
local IS_SEGMENT = { data_center = true, network = true, device = true }

-- Rating bands, best first; a total above the last threshold is F (spec 3, "Rating").
local BANDS = { "A+", "A", "B", "C", "D", "E" }

-- check for first_visit_ratio, return_visit_ratio and data_reload_ratio: these belong to per-visit rows
-- (Decision: visit fields on a per-byte row reject it; pinned by O4-E3). Runs after the built-in
-- number and [0, 1] checks, so a bad value is reported under its own name first.
function common.per_visit_only(value, row, _, path)
  if value ~= nil and row.method ~= "per-visit" then
    p.reject(path, path .. " is a per-visit field; this row's method is " .. tostring(row.method or "per-byte"))
  end
end

-- check for data_cache_ratio: a per-visit field, exclusive with data_reload_ratio
-- (Decision: data reload ratio vs data cache ratio; pinned by O4-E2).
function common.cache_ratio_check(value, row, _, path)
  common.per_visit_only(value, row, p, path)
  if value ~= nil and row.data_reload_ratio ~= nil then
    p.reject(path, path .. " and data_reload_ratio are alternatives: give one of them")
  end
end

-- A segment intensity given as a number or a number string: the number, else nil plus the text of a
-- country code. Callers pass only numbers and strings. Integers become floats before any arithmetic.
local function as_number(value)
  if p.is_number(value) then return value + 0.0 end
  if type(value) == "string" then
    local n = p.parse_number(value)       -- same grammar as spec 1 "Number strings"; trims first
    if n ~= nil then return n end
    return nil, p.ascii_upper(p.ascii_trim(value))
  end
end

-- check for grid_intensity (type object): only the three segment keys; each value a number, a number
-- string or a string (country code, resolved later against the pack in common.segment_intensity).
function common.grid_intensity_check(value, _, _, path)
  if value == nil then return end
  -- the built-in object type lets a non-empty list through, so refuse a sequence here
  if #value > 0 then p.reject(path, path .. " must be a mapping of segment to intensity, not a list") end
  for _, key in ipairs(p.keys(value)) do
    if not IS_SEGMENT[key] then
      p.reject(path .. "." .. tostring(key), path .. ": unknown key '" .. tostring(key) ..
        "' (expected data_center, network, device)")
    end
    local v = value[key]
    local seg_path = path .. "." .. key
    if v ~= nil then                     -- a null segment is absent: the global intensity applies
      if not (p.is_number(v) or type(v) == "string") then
        p.reject(seg_path, seg_path .. " must be a number, a number string or a country code")
      end
      local n = as_number(v)
      if n ~= nil and not p.is_finite(n) then p.reject(seg_path, seg_path .. " must be finite") end
      if n ~= nil and n < 0 then p.reject(seg_path, seg_path .. " must be >= 0") end
    end
  end
end

-- Pack key grid.<ISO2> for a code given as ISO alpha-2 or alpha-3 (already trimmed and upper-cased),
-- nil for anything else. WORLD and the regional aggregates are not keys of grid (Decision: country
-- codes only; pinned by O4-E8, O3-E3); the pack, not the host's grid store, holds the values
-- (Decision: annual Ember values as pack keys; pinned by O4-03, O4-15, O3-07).
local function country_intensity(code, c)
  if #code == 2 then return c.grid[code] end
  local iso2 = countries[code]
  if iso2 ~= nil then return c.grid[iso2] end
  return nil
end

-- Intensity of one segment in gCO2e/kWh: the row's number, its country's pack value, else `default`.
-- An unknown code rejects the row (Decision: unknown country; pinned by O4-E1).
function common.segment_intensity(grid_intensity, segment, c, default)
  local v = grid_intensity and grid_intensity[segment]
  if v == nil then return default + 0.0 end
  local n, code = as_number(v)
  if n ~= nil then return n end
  local ci = country_intensity(code, c)
  if ci == nil then
    p.reject("grid_intensity." .. segment, "grid_intensity." .. segment .. ": unknown country '" .. v ..
      "' (expected an ISO 3166-1 alpha-2 or alpha-3 code of a country with Ember data)")
  end
  return ci + 0.0
end

-- Visit weight w and the reload ratio (spec 3): 1 for per-byte; first + return x reload per visit, each
-- after the pack defaults of the version. data_cache_ratio stands for 1 - reload (Decision: reload vs
-- cache ratio). The two visit ratios need not add up to 1 (Decision; pinned by O4-13).
function common.visit_weight(row, c)
  if row.method ~= "per-visit" then return 1.0, nil end
  local first = (row.first_visit_ratio or c.default_first_visit_ratio) + 0.0
  local again = (row.return_visit_ratio or c.default_return_visit_ratio) + 0.0
  local reload
  if row.data_cache_ratio ~= nil then
    reload = 1.0 - row.data_cache_ratio
  else
    reload = (row.data_reload_ratio or c.default_data_reload_ratio) + 0.0
  end
  return first + again * reload, reload, first, again
end

-- Rating letter: the first band whose upper bound is >= total (bands inclusive), else F.
function common.rating(total, thresholds)
  for _, band in ipairs(BANDS) do
    if total <= thresholds[band] then return band end
  end
  return "F"
end

-- One category per output key of spec section 4, each returning its share of the segments that prepare
-- computed (prepare needs the whole total first, for the rating). `outputs` lists {key, doc}.
function common.segment_categories(outputs)
  for _, output in ipairs(outputs) do
    local key = output[1]
    category(key) { unit = "g", doc = output[2], compute = function(ctx) return ctx.seg[key] end }
  end
end

return common
