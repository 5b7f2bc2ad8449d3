"""GoogLeNet (Inception v1) as released by BVLC: the card in `cards.py`, the builder in `googlenet.py`."""
