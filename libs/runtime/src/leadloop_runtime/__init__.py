"""One service runtime: a service is a declaration, the runtime builds and runs the rest."""
