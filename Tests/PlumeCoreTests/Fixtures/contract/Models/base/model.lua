-- Contract fixture: a small model exercising every input type, a split category, a hidden category,
-- a prepare hook, traces and a coefficient declaration. Numbers are chosen so results are exact.
model {
  id = "base", version = "1",
  title = "Base fixture", framework = "Fixture", source = "Plume tests",
  packs = { "base-1" },
  categories = { "a", "b", "c" },
}

coefficient "device_watts" { unit = "W", doc = "device power by device" }

input "impressions" { type = "number", required = true, min = 0, unit = "impressions" }
input "seconds" { type = "number", default = 2, min = 0, max = 60, unit = "s" }
input "device" { type = "enum", values = { "phone", "tv" }, default = "phone", normalize = "lower" }
input "count" { type = "integer", gt = 0, lt = 1000 }
input "label" { type = "string" }
input "flag" { type = "boolean" }
input "meta" { type = "object" }
input "tags" { type = "list" }

function prepare(row, c, p)
  local hours = p.trace("hours", row.impressions * row.seconds / 3600)
  return { hours = hours }
end

category "a" { split = true, unit = "g", doc = "device energy (usage) and device embodied",
  compute = function(ctx, c, p)
    local watts = p.lookup(c.device_watts, ctx.row.device)
    local wh = p.trace("a.wh", ctx.hours * watts)
    return wh * c.intensity / 1000, ctx.hours * c.embodied_per_hour
  end }

category "b" { compute = function(ctx, c, p) return ctx.row.impressions * c.per_imp end }

category "c" { compute = function(ctx, c, p) return c.fixed end }

-- declared but not listed: computed every row, never reported
category "hidden" { compute = function(ctx, c, p) return 1000 end }
