-- Replay fixture: library calls on numbers that a tape cannot hold; every such key runs the script.
model {
  id = "escapes", version = "1",
  title = "Replay fixture", framework = "Fixture", source = "Plume tests",
  packs = { "escapes-1" }, replay = true,
  categories = { "floor", "text", "mod" },
}

input "impressions" { type = "number", required = true, min = 0 }
input "mode" { type = "string" }

category "floor" { compute = function(ctx, c, p)
  if ctx.row.mode == "floor" then return math.floor(ctx.row.impressions / 3) end
  return ctx.row.impressions * c.per_imp
end }

category "text" { compute = function(ctx, c, p)
  if ctx.row.mode == "text" then return #tostring(ctx.row.impressions) end
  return 0
end }

category "mod" { compute = function(ctx, c, p)
  if ctx.row.mode == "mod" then return ctx.row.impressions % 7 end
  if ctx.row.mode == "pcall" then
    local ok = pcall(string.format, "%d", ctx.row.impressions)
    return ok and 1 or 2
  end
  return 0
end }
