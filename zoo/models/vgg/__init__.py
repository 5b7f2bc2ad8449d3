"""VGG (Simonyan & Zisserman, ICLR 2015): configurations A, A-LRN, B, C, D, E."""

from zoo.models.vgg.vgg import CONFIGS, vgg_a, vgg_a_lrn, vgg_b, vgg_c, vgg_d, vgg_e, vgg_trunk

__all__ = ["CONFIGS", "vgg_a", "vgg_a_lrn", "vgg_b", "vgg_c", "vgg_d", "vgg_e", "vgg_trunk"]
