-- Contract fixture: the row's mode field selects a failure inside compute.
model {
  id = "faulty", version = "1",
  title = "Faulty fixture", framework = "Fixture", source = "Plume tests",
  packs = { "faulty-1" },
  categories = { "x" },
}

input "mode" { type = "string", default = "ok" }

category "x" { compute = function(ctx, c, p)
  local mode = ctx.row.mode
  if mode == "typo" then
    return c.intensty
  elseif mode == "boom" then
    error("boom in compute")
  elseif mode == "nil" then
    return ctx.row.missing + 1
  elseif mode == "write" then
    c.intensity = 1
  elseif mode == "write-nested" then
    c.watts.tv = 1
  elseif mode == "loop" then
    while true do end
  end
  return c.intensity
end }
