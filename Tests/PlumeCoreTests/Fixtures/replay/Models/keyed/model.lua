-- Replay fixture that breaks the contract: a row number used as a table key is looked up by the
-- tracked value's identity, which no metamethod sees, so the tape misses the special case. The vector
-- check and the run's spot check find it.
local SPECIAL = { [4096] = 1 }

model {
  id = "keyed", version = "1",
  title = "Replay fixture", framework = "Fixture", source = "Plume tests",
  packs = { "keyed-1" }, replay = true,
  categories = { "a" },
}

category "a" { compute = function(ctx, c, p)
  local special = SPECIAL[ctx.row.impressions]
  if special then return special end
  return ctx.row.impressions * c.per_imp
end }
