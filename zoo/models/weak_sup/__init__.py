"""Weakly supervised fully convolutional classifiers with global max pooling (Oquab thesis ch. 4 =
Oquab, Bottou, Laptev & Sivic, CVPR 2015): WEAK SUP on an AlexNet-1512 trunk (VOC) and on OverFeat (COCO).

Cards in `cards.py`; builders in `weak_sup.py`. The FULL IMAGES and MASKED POOL variants differ in
training and testing only (§4.5.2: "Otherwise the network architectures are identical"): they are
options of the `weak_sup` task and step (zoo.tasks.weak_sup, zoo.training.steps.weak_sup).
"""
