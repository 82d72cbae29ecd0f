-- A methodologist's variant in a client folder: GMSF, but the creative's consumer device counts only the
-- seconds the ad was actually in view on out-stream placements (ACME's viewability policy), everything
-- else inherited. Run it with the shipped models on the search path:
--   plume run --models Examples/Models:Models --model gmsf-acme --input Examples/campaign.csv
model {
  id = "gmsf-acme", version = "1.3-acme.1", extends = "gmsf",
  title = "GMSF with ACME's in-view device time",
  source = "ACME methodology note 2026-02 on top of Ad Net Zero GMSF (see Models/gmsf)",
}

local inherited = parent.categories["creativeDelivery.consumerDevice"].compute

-- A viewability factor below 1 scales the device part; the rest of the framework is untouched.
input "acme_viewable_share" { type = "number", min = 0, max = 1, default = 1, unit = "fraction",
  doc = "share of the creative's time in view that ACME counts (measured per placement)" }

category "creativeDelivery.consumerDevice" { split = true, doc = "GMSF consumer device x ACME viewable share",
  compute = function(ctx, c, p)
    local usage, embodied = inherited(ctx, c, p)
    local share = p.trace("acme_viewable_share", ctx.row.acme_viewable_share + 0.0)
    return usage * share, embodied * share
  end }
