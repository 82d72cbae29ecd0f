-- GMSF 1.2: the same framework before the GMSF 1.3 alignment. The two differ only in their packs (spec
-- scope3-gmsf.md 7.1: 1.3 changed unmodelled keys), so `--model-version 1.2` selects gmsf-1.2 by default.
model {
  id = "gmsf", version = "1.2", extends = "gmsf",
  title = "Global Media Sustainability Framework 1.2 (Scope3 methodology, framework gmsf)",
  packs = { "gmsf-1.2", "gmsf-1.3" },
}
