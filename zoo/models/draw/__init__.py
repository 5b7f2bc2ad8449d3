"""DRAW (Gregor, Danihelka, Graves, Rezende, Wierstra, ICML 2015): the sequential variational
auto-encoder with Gaussian read/write attention (`draw.py`) and its cards (`cards.py`)."""
