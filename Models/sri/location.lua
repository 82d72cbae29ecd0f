-- Location codes of the SRI electricity table (spec sri.md 5.2 "Location codes", D15, D16, D17).
local M = {}

-- Aliases the spec accepts for table keys (D16): the UK and EU spellings of Great Britain and Greece.
local ALIASES = { UK = "GB", EL = "GR" }

-- Resolve one code against the pack's `ef` table.
-- Returns key, fallback (true when an unlisted two-letter code falls back to WORLD, D17),
-- or nil and a reason text when the code is rejected.
function M.resolve(code, ef, p)
  if type(code) ~= "string" then
    return nil, "must be a text location code"
  end
  local key = p.ascii_upper(p.ascii_trim(code))
  key = ALIASES[key] or key
  if key == "PF" then
    -- The table splits French Polynesia in two; PF alone is ambiguous (D16).
    return nil, "'" .. code .. "' is ambiguous: use PF-TAHITI or PF-OTHER"
  end
  if ef[key] ~= nil then
    return key, false
  end
  if key:match("^[A-Z][A-Z]$") then
    return "WORLD", true
  end
  return nil, "unknown location code '" .. code .. "'"
end

-- The row's audience as a list of { key, share, fallback } in input order (7.1):
-- `country = X` is the single entry (resolve(X), 1). Call only after validation (rule 7).
function M.entries(row, ef, p)
  local list = {}
  if row.country ~= nil then
    local key, fallback = M.resolve(row.country, ef, p)
    list[1] = { key = key, share = 1.0, fallback = fallback }
  elseif row.audience_mix ~= nil then
    for _, code in ipairs(p.keys(row.audience_mix)) do
      local key, fallback = M.resolve(code, ef, p)
      list[#list + 1] = { key = key, share = row.audience_mix[code] + 0.0, fallback = fallback }
    end
  end
  return list
end

return M
