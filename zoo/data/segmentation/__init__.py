"""Semantic segmentation datasets: PASCAL VOC, SBD, PASCAL-Context, NYUDv2 (with HHA), SIFT Flow."""
