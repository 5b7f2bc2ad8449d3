"""Cards of the weakly supervised networks of Oquab thesis ch. 4 (metadata only, no Keras).

Builders: `zoo.models.weak_sup.weak_sup`. No weights: the thesis ships none (nor code listings), and
the 1512-class ImageNet net of Ch. 3 was never released. Counts at the default arguments: C1-C7
frozen (§4.3), so only fca and fcb are trainable.
"""

from zoo.registry import CAFFE_BGR_MEAN, InputContract, register

PAPER = ("Oquab, Bottou, Laptev & Sivic 2015, Is object localization for free? Weakly-supervised learning "
         "with convolutional neural networks (CVPR); Oquab thesis 2018, ch. 4")
# The window (the input size giving a 1x1 map) and the global stride of each net (§4.2.1).
ALEXNET_WINDOW, ALEXNET_STRIDE = 224, 32
OVERFEAT_WINDOW, OVERFEAT_STRIDE = 221, 36

_TABLE_4_1 = "VOC 2012 test, mAP % (Table 4.1)"
_TABLE_4_2 = "val mAP % (Table 4.2)"

register(
    "weak_sup_alexnet1512", builder="zoo.models.weak_sup.weak_sup:weak_sup_alexnet1512", family="weak_sup",
    paper=PAPER, section="§4.2 (Fig. 4-2), §4.3-4.6, Tables 4.1-4.3", task="weak_sup",
    input_contract=InputContract(
        shape=(None, None, 3), channel_order="BGR", mean=CAFFE_BGR_MEAN, min_size=ALEXNET_WINDOW,
        note="any size >= 224: a score per 224x224 window at stride 32; the thesis' own normalisation is not "
             "stated, the Caffe mean is the zoo's choice"),
    head_layers=("fcb",), default_num_classes=20,
    paper_numbers={
        f"G. WEAK SUP, {_TABLE_4_1}": 86.3,
        f"F. FULL IMAGES, {_TABLE_4_1}": 78.7,
        f"J. WEAK SUP classification / location prediction, VOC 2012 {_TABLE_4_2}": "81.8 / 74.5",
        f"I. MASKED POOL classification / location prediction, VOC 2012 {_TABLE_4_2}": "82.3 / 72.3",
        f"H. FULL IMAGES classification, VOC 2012 {_TABLE_4_2}": 76.0,
        "K. CENTER PRED. location prediction, VOC 2012 val mAP % (Table 4.2; 51.0 in Table 4.3)": 50.9,
        "L. R-CNN* classification / location prediction, VOC 2012 val mAP % (Table 4.2)": "79.2 / 74.8",
        "extent through Selective Search aggregation, VOC 2012 val detection mAP % at IoU 0.5 / 0.3 / 0.1 (§4.6.2)":
            "11.74 / 27.47 / 43.54",
        "score map of a 256x256 input (§4.2.1)": "2x2xK",
        "score map of a 2048x1024 input at stride 32 (§4.2.1)": "58x26",
        "global stride in pixels (§4.2.1)": ALEXNET_STRIDE,
    },
    parameters={"total": 109_344_148, "trainable": 12_625_940},
)

register(
    "weak_sup_overfeat", builder="zoo.models.weak_sup.weak_sup:weak_sup_overfeat", family="weak_sup",
    paper=PAPER, section="§4.2.1 (footnote 1: stride 36), §4.5.1 (OverFeat on COCO), Table 4.2", task="weak_sup",
    input_contract=InputContract(
        shape=(None, None, 3), channel_order="RGB", mean=CAFFE_BGR_MEAN[::-1], min_size=OVERFEAT_WINDOW,
        note="any size >= 221: a score per 221x221 window at stride 36; OverFeat's released normalisation is not "
             "used (no OverFeat weights are registered)"),
    head_layers=("fcb",), default_num_classes=80,
    paper_numbers={
        f"J. WEAK SUP classification / location prediction, COCO {_TABLE_4_2}": "62.8 / 41.2",
        f"I. MASKED POOL classification / location prediction, COCO {_TABLE_4_2}": "62.1 / 42.9",
        f"H. FULL IMAGES classification, COCO {_TABLE_4_2}": 51.0,
        "K. CENTER PRED. location prediction, COCO val mAP % (Table 4.2)": 19.1,
        "multi-scale training vs a single scale s = 1, COCO classification mAP (§4.5.2)": "about +1%",
        "multi-scale testing, COCO classification mAP (§4.5.2)": "an additional +3%",
        "global stride in pixels (§4.2.1, footnote 1)": OVERFEAT_STRIDE,
    },
    parameters={"total": 149_114_064, "trainable": 8_554_576},
)
