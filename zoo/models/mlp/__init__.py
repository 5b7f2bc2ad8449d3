"""Multi-layer perceptrons: cards in `cards.py`, the builder in `mlp.py`."""
