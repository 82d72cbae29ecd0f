-- Replay fixture that breaks the contract: `==` between a number and a constant is invisible to the
-- recorder, so a tape recorded on another value replays the wrong branch. The run's spot check finds it.
model {
  id = "sneaky", version = "1",
  title = "Replay fixture", framework = "Fixture", source = "Plume tests",
  packs = { "sneaky-1" }, replay = true,
  categories = { "a" },
}

category "a" { compute = function(ctx, c, p)
  if ctx.row.impressions == 4096 then return 1 end
  return ctx.row.impressions * c.per_imp
end }
