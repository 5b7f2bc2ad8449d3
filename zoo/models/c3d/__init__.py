"""C3D: 3-D convolutional networks for spatiotemporal features (Tran, Bourdev, Fergus, Torresani,
Paluri, ICCV 2015): the `c3d` classifier (`c3d.py`), its cards (`cards.py`) and the reader of
the release's mean clip (`convert.py`)."""
