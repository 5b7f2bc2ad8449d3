"""VGG (Simonyan & Zisserman, ICLR 2015): configurations A, A-LRN, B, C, D, E.

Cards in `cards.py` (vgg11, vgg_a_lrn, vgg13, vgg_c, vgg16, vgg19); builders and the conv trunk
shared with FCN in `vgg.py`.
"""
