"""Model families, one folder each: `cards.py` registers the family's models (metadata only), builder
modules beside it build them (docs/ARCHITECTURE.md). Discovered by `zoo.registry` from the folders."""
