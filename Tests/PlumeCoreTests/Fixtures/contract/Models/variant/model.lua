-- Contract fixture: extends base and replaces category "b" only, wrapping the parent's compute.
model {
  id = "variant", extends = "base", version = "1",
  title = "Variant fixture",
}

category "b" { compute = function(ctx, c, p)
  return p.trace("variant.parent_b", parent.categories["b"].compute(ctx, c, p)) * 2
end }
