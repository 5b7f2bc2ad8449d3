"""LeNet-5 (LeCun et al. 1998): cards in `cards.py`, the builder in `lenet.py`."""
