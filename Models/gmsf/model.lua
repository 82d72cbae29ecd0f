-- GMSF framework: the scope3 equations reporting only the GMSF categories (spec scope3-gmsf.md section 5:
-- no media distribution, the creative's consumer device included). GMSF packs only: pairing gmsf with
-- may-2024 is a configuration error (D43), raised by the host from this packs list.
model {
  id = "gmsf", version = "1.3", extends = "scope3",
  title = "Global Media Sustainability Framework (Scope3 methodology, framework gmsf)",
  framework = "GMSF",
  packs = { "gmsf-1.3", "gmsf-1.2" },
  categories = {
    "adSelection.adPlatform", "adSelection.dataTransfer",
    "creativeDelivery.adPlatform", "creativeDelivery.dataTransfer", "creativeDelivery.consumerDevice",
    "techManipulation.creativeStorage",
  },
}
