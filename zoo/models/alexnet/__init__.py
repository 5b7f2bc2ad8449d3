"""AlexNet-era ImageNet classifiers: BVLC AlexNet and CaffeNet, ZFNet, OverFeat fast/accurate.

Cards in `cards.py`; builders in `alexnet.py` (AlexNet, CaffeNet, ZFNet) and `overfeat.py`.
"""
