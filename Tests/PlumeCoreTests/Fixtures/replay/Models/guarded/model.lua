-- Replay fixture: every kind of taped operation and guard (branches on numbers, min/max, division by a
-- number that can be zero, unary minus, a required integer, an optional counter falling back to another).
model {
  id = "guarded", version = "1",
  title = "Replay fixture", framework = "Fixture", source = "Plume tests",
  packs = { "guarded-1" }, replay = true,
  categories = { "a", "b", "c" },
}

input "impressions" { type = "number", required = true, min = 0 }
input "views" { type = "number", min = 0 }
input "slots" { type = "integer", min = 0 }
input "kind" { type = "enum", values = { "x", "y" }, default = "x" }

function validate(row, c, p)
  if type(row.impressions) ~= "number" then p.reject("impressions", "impressions must be a number") end
  if row.views ~= nil and row.views > row.impressions * 2 then p.reject("views", "views exceed twice the impressions") end
end

category "a" { compute = function(ctx, c, p)
  local n = ctx.row.impressions
  local g = n * c.per_imp
  if n > 1000 then g = g * 0.5 + 62.5 end            -- a guard both ways across rows
  if ctx.row.kind == "y" then g = -(-g) * c.rate end
  return math.max(g, 1) - math.min(n / 1e6, 0.25)
end }

category "b" { compute = function(ctx, c, p)
  local row = ctx.row
  local loads = row.views or row.impressions          -- absent counter: part of the key
  local per = row.impressions > 0 and loads / row.impressions or 0
  return p.trace("b.per", per) * (row.slots or 1) / 3
end }

category "c" { compute = function(ctx, c, p)
  if not p.is_finite(ctx.row.impressions / 7) then return 0 end
  return (ctx.row.impressions - 0.5) * 2
end }
