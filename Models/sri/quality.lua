-- SRI's two-axis data-quality scale (spec sri.md section 9, D24-D27).
local grades = require "grades"

local M = {}

-- 9.4 / D27: uncertainty code by input level (rows) and robustness (columns 0..4).
-- Codes: 1 low, 2 medium, 3 high. Same figure as shared/reference/sri/uncertainty_matrix.csv.
local UNCERTAINTY = {
  [0] = { [0] = 3, 3, 3, 3, 3 },
  [1] = { [0] = 3, 2, 2, 2, 2 },
  [2] = { [0] = 3, 2, 2, 1, 1 },
  [3] = { [0] = 2, 2, 2, 1, 1 },
}
M.LABELS = { "low", "medium", "high" }

local DISPLAY_LIKE = { display = true, native = true, other = true }
local FINE_EXCLUDED = { EU27 = true, WORLD = true }

-- 9.2 / D26: any Level-1 default (buying mode, exposure time, completion) makes the row level 0.
local function level1_default(row)
  if row.buying_mode == nil then return true end
  if row.view_seconds ~= nil then return false end
  if DISPLAY_LIKE[row.format] then return true end
  return row.completion_rate == nil
end

-- A location is fine when the row pins the intensity, or when every entry with a positive share is
-- a country-level table key (an aggregate EU27/WORLD row or a WORLD fallback is not fine).
local function location_fine(row, entries)
  if row.carbon_intensity_gco2e_per_kwh ~= nil then return true end
  for _, e in ipairs(entries) do
    if e.share > 0 and (e.fallback or FINE_EXCLUDED[e.key]) then return false end
  end
  return true
end

function M.input_level(row, entries)
  if row.level1_basis == "average" or level1_default(row) then return 0 end
  local network_given = row.network_type ~= nil or row.mobile_share ~= nil
  if not (network_given and location_fine(row, entries)) then return 1 end
  if row.level3_specified == true then return 3 end
  return 2
end

-- 9.3 / D25: minimum grade over the graded keys read; 4 when none is graded.
function M.robustness(keys)
  local g = 4
  for _, k in ipairs(keys) do
    local kg = grades[k]
    if kg ~= nil and kg < g then g = kg end
  end
  return g
end

function M.uncertainty(level, robustness)
  return UNCERTAINTY[level][robustness]
end

return M
