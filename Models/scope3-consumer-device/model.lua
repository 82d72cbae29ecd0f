-- Scope3 framework "scope3-consumer-device": the scope3 equations with both consumer-device categories
-- reported (spec scope3-gmsf.md section 5: the superset of scope3 and gmsf).
model {
  id = "scope3-consumer-device", extends = "scope3",
  title = "Scope3 methodology (framework scope3-consumer-device)",
  framework = "Scope3 (with consumer devices)",
  packs = { "gmsf-1.3", "gmsf-1.2", "may-2024" },
  categories = {
    "adSelection.adPlatform", "adSelection.dataTransfer",
    "mediaDistribution.dataTransfer", "mediaDistribution.consumerDevice", "mediaDistribution.corporate",
    "creativeDelivery.adPlatform", "creativeDelivery.dataTransfer", "creativeDelivery.consumerDevice",
    "techManipulation.creativeStorage",
  },
}
