-- Grid fixture: energy of 1 kWh at the row's intensity, else the host lookup (row > hourly > annual > world).
model {
  id = "gridmodel", version = "1",
  title = "Grid fixture", framework = "Fixture", source = "Plume tests",
  packs = { "grid-1" },
  categories = { "energy" },
}

input "kwh" { type = "number", default = 1, min = 0 }
input "carbon_intensity" { type = "number", min = 0 }
input "country" { type = "string" }
input "region" { type = "string" }
input "utc" { type = "string" }

category "energy" { compute = function(ctx, c, p)
  local row = ctx.row
  local ci = row.carbon_intensity
  if ci ~= nil then
    p.trace("grid.source", "row")
  else
    local v, source = p.grid.intensity(row.country, row.region, row.utc)
    ci = v
    p.trace("grid.source", source)
  end
  return p.trace("grid.intensity", ci) * row.kwh
end }
