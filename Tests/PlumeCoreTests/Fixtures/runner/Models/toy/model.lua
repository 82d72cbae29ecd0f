-- A two-category fixture for the vector runner's own tests.
model { id = "toy", version = "1", title = "Toy", source = "Plume test fixture", packs = { "toy-1", "toy-2" },
  categories = { "a", "b" } }
input "impressions" { type = "number", required = true, min = 0 }
input "channel" { type = "enum", values = { "web", "app" }, normalize = "lower", default = "web" }
category "a" { split = true, compute = function(ctx, c, p)
  local n = ctx.row.impressions + 0.0
  return p.trace("a_usage", n * c.w[ctx.row.channel]), n * c.e end }
category "b" { compute = function(ctx, c, p) p.trace("label", "b-" .. ctx.row.channel) return ctx.row.impressions * 2.0 end }
category "hidden" { compute = function() return 1.0 end }
