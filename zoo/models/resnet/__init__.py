"""Residual networks (He et al. 2016) and their plain twins: cards in `cards.py`, builders in `resnet.py`."""
