"""HTTP edge: app factory, problem details, middleware."""
