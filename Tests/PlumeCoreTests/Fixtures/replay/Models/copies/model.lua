-- Replay fixture: a copy of `type` would miss the swap that makes tracked numbers look like numbers.
local kind = type
model {
  id = "copies", version = "1",
  title = "Replay fixture", framework = "Fixture", source = "Plume tests",
  packs = { "copies-1" }, replay = true,
  categories = { "a" },
}

category "a" { compute = function(ctx, c, p)
  if kind(ctx.row.impressions) ~= "number" then return 0 end
  return ctx.row.impressions * c.per_imp
end }
