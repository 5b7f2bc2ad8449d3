"""Fully convolutional networks (Long thesis 2016, ch. 3; reference code fcn.berkeleyvision.org).

Cards in `cards.py`; builders in `fcn.py` (FCN-32s/16s/8s on VGG16 and their shared parts) and
`fcn_variants.py` (other backbones, RGB-D, SIFT Flow, PASCAL-Context).
"""
