-- Contract fixture: declares coefficients the pack gives in another unit or lacks.
model {
  id = "unitmismatch", version = "1",
  title = "Unit mismatch fixture", framework = "Fixture", source = "Plume tests",
  packs = { "um-1", "um-2" },
  categories = { "a" },
}

coefficient "device_watts" { unit = "kW", doc = "device power" }

category "a" { compute = function(ctx, c, p) return c.device_watts.tv end }
