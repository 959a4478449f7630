"""REST routes, one module per resource; each route parses, calls ``Memory``, renders."""
