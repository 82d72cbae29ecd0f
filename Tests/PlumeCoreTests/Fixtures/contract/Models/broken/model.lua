-- Contract fixture for plume check: three static problems.
model {
  id = "broken", version = "1",
  title = "Broken fixture", framework = "Fixture", source = "Plume tests",
  packs = { "broken-1" },
  categories = { "a", "ghost" },
}

input "x" { type = "numbr" }

category "a" { doc = "no compute here" }
