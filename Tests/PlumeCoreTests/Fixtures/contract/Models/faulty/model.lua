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
  elseif mode == "string" then
    return "seven"
  end
  return c.intensity
end }

-- declared, not listed: still computed every row, so its lookup can reject the row
category "guard" { compute = function(ctx, c, p)
  if ctx.row.mode == "hidden-reject" then p.lookup(c.watts, "radio") end
  return 0
end }
