"""Model families, one folder each. Families register their builders with `zoo.registry.register`."""
