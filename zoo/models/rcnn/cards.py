"""R-CNN and Fast R-CNN cards (metadata only; the builders are in rcnn.py and fast_rcnn.py).

Parameter counts are those of the released networks' layer shapes (rbgirshick/rcnn
model-defs/pascal_finetune_deploy.prototxt and rbgirshick/fast-rcnn models/{CaffeNet,VGG16}/
test.prototxt, 21 VOC outputs), summed layer by layer:

- CaffeNet conv1 .. conv5: 2,334,080; fc6 9216x4096 + 4096 = 37,752,832; fc7 16,781,312.
- VGG-16 conv1_1 .. conv5_3: 14,714,688; fc6 25088x4096 + 4096 = 102,764,544; fc7 as above.
- fc8_pascal / cls_score 4096x21 + 21 = 86,037; bbox_pred 4096x84 + 84 = 344,148.
"""

from zoo.registry import InputContract, WeightsSpec, register

_RCNN_PAPER = ("Girshick, Donahue, Darrell, Malik 2014, Rich feature hierarchies for accurate object detection "
               "and semantic segmentation (R-CNN); Donahue thesis 2017, ch. 3")
_FAST_PAPER = "Girshick 2015, Fast R-CNN (ICCV)"
_WINDOW = InputContract(shape=(227, 227, 3), note="a proposal warped to 227x227 with 16 pixels of context "
                        "(zoo.ops.warp), BGR minus the ILSVRC-2012 mean; outside pixels the mean (0)")
# The Caffe zoo's R-CNN ILSVRC2013 net: CaffeNet fine-tuned on ILSVRC13 DET with the 200 SVMs folded into
# `fc-rcnn` (reads fc7). We know only the prefix (bdd8abb8...) of its readme's sha1, so the
# download is unverified rather than checked against a guessed hash.
_ILSVRC13 = WeightsSpec(
    tag="ilsvrc13", url="http://dl.caffe.berkeleyvision.org/bvlc_reference_rcnn_ilsvrc13.caffemodel", file_hash=None,
    hash_algorithm="sha1", format="caffemodel", num_classes=201,
    source=("BVLC Caffe model zoo, models/bvlc_reference_rcnn_ilsvrc13/readme.md (Ross Girshick); its sha1 is not "
            "recorded here in full, so the download is unverified"),
    license="unrestricted use (BVLC readme)", preprocessing=_WINDOW,
    metrics={"ILSVRC2013 DET val2 mAP % (R-CNN, thesis Table 3.4, fc7 SVMs, no box regression; released with the "
             "paper, not measured on this file)": {"mAP_%": 29.7}},
)

# R-CNN's starting point (§3.1.3, stage 1): the ImageNet CaffeNet (conv1 .. fc7 load by name, fc8 is left out).
_CAFFENET_IMAGENET = WeightsSpec(
    tag="bvlc", url="http://dl.caffe.berkeleyvision.org/bvlc_reference_caffenet.caffemodel",
    file_hash="4c8d77deb20ea792f84eb5e6d0a11ca0a8660a46", hash_algorithm="sha1", format="caffemodel", num_classes=1000,
    source="BVLC (trained by Jeff Donahue); BVLC/caffe models/bvlc_reference_caffenet/readme.md (as the caffenet card)",
    license="unrestricted use (readme); the ImageNet terms of access apply to the training data",
    preprocessing=_WINDOW,
)

register(
    "rcnn_caffenet", builder="zoo.models.rcnn.rcnn:rcnn_caffenet", family="rcnn", paper=_RCNN_PAPER,
    section="Donahue thesis §3.1.1-§3.1.3, App. 3.4 (T-Net)", task="detection_windows", input_contract=_WINDOW,
    paper_numbers={
        "VOC 2007 test mAP %, fine-tuned fc7 + SVMs / + box regression (Table 3.2)": "54.2 / 58.5",
        "VOC 2007 test mAP %, no fine-tuning pool5 / fc6 / fc7 (Table 3.2)": "44.2 / 46.2 / 44.7",
        "VOC 2007 mAP %, fine-tuned softmax instead of SVMs (App. 3.4.2)": "50.9 (vs 54.2)",
        "VOC 2010 test mAP %, with box regression (Table 3.1)": 53.7,
        "seconds per image, proposals + features, GPU / CPU (§3.1.2)": "13 / 53",
        "fine-tuning minibatch (§3.1.3)": "32 positives (IoU >= 0.5) + 96 background = 128",
        "pool5 features (§3.1.6.1)": "6x6x256 = 9216",
    },
    parameters={"total": 56_954_261}, head_layers=("fc8_pascal", "fc-rcnn", "bbox_pred"), default_num_classes=21,
    ignorable_layers=("fc8",),
    weights=(_ILSVRC13, _CAFFENET_IMAGENET),
)

register(
    "rcnn_vgg16", builder="zoo.models.rcnn.rcnn:rcnn_vgg16", family="rcnn", paper=_RCNN_PAPER,
    section="Donahue thesis §3.1.6.3, Table 3.3 (O-Net)", task="detection_windows",
    input_contract=InputContract(shape=(224, 224, 3), note="a proposal warped to 224x224 with context, BGR minus "
                                 "the mean"),
    paper_numbers={"VOC 2007 test mAP %, O-Net / with box regression (Table 3.3)": "62.2 / 66.0",
                   "fine-tuning minibatch (§3.1.3)": 24},
    parameters={"total": 134_346_581}, head_layers=("fc8_pascal", "fc-rcnn", "bbox_pred"), default_num_classes=21,
)

register(
    "rcnn_caffenet_svm", builder="zoo.models.rcnn.rcnn:rcnn_caffenet_svm", family="rcnn", paper=_RCNN_PAPER,
    section="Donahue thesis §3.1.3 (per-class linear SVMs), Table 3.2", task="detection_svm", input_contract=_WINDOW,
    paper_numbers={
        "VOC 2007 test mAP %, no fine-tuning, SVMs on pool5 / fc6 / fc7 (Table 3.2)": "44.2 / 46.2 / 44.7",
        "VOC 2007 test mAP %, fine-tuned, SVMs on pool5 / fc6 / fc7 (Table 3.2)": "47.3 / 53.1 / 54.2",
        "SVM examples (§3.1.3)": "positives = ground truth, negatives IoU < 0.3, hard negatives, one pass",
    },
    # conv1 .. fc7 as rcnn_caffenet, fc-rcnn 4096 x 21 + 21 in place of fc8_pascal: the same total
    parameters={"total": 56_954_261}, head_layers=("fc-rcnn",), default_num_classes=21,
    ignorable_layers=("fc8", "fc8_pascal"), weights=(_CAFFENET_IMAGENET,),
)

register(
    "rcnn_vgg16_svm", builder="zoo.models.rcnn.rcnn:rcnn_vgg16_svm", family="rcnn", paper=_RCNN_PAPER,
    section="Donahue thesis §3.1.6.3, Table 3.3 (O-Net SVMs)", task="detection_svm",
    input_contract=InputContract(shape=(224, 224, 3), note="a proposal warped to 224x224 with context, BGR minus "
                                 "the mean"),
    paper_numbers={"VOC 2007 test mAP %, O-Net fine-tuned fc7 SVMs / with box regression (Table 3.3)": "62.2 / 66.0"},
    parameters={"total": 134_346_581}, head_layers=("fc-rcnn",), default_num_classes=21,
    ignorable_layers=("fc8", "fc8_pascal"),
)

# The box regressors (§3.1.6.5): conv1 .. pool5 and bbox_pred 9216 x 84 + 84 = 774,228 (CaffeNet), 25088 x 84 + 84 =
# 2,107,476 (VGG-16); fc6 / fc7 are not on the path, so the model holds none.
register(
    "rcnn_caffenet_bbox", builder="zoo.models.rcnn.rcnn:rcnn_caffenet_bbox", family="rcnn", paper=_RCNN_PAPER,
    section="Donahue thesis §3.1.6.5, App. 3.4.3 (class-specific ridge box regression on pool5)",
    task="detection_bbox", input_contract=_WINDOW,
    paper_numbers={"VOC 2007 test mAP %, fine-tuned fc7 SVMs / with box regression (Table 3.2)": "54.2 / 58.5",
                   "ridge regression (App. 3.4.3)": "lambda = 1000 on pool5, pairs with IoU > 0.6, applied once"},
    parameters={"total": 3_108_308}, head_layers=("bbox_pred",), default_num_classes=21,
    ignorable_layers=("fc6", "fc7", "fc8", "fc8_pascal", "fc-rcnn"), weights=(_CAFFENET_IMAGENET,),
)

register(
    "rcnn_vgg16_bbox", builder="zoo.models.rcnn.rcnn:rcnn_vgg16_bbox", family="rcnn", paper=_RCNN_PAPER,
    section="Donahue thesis §3.1.6.3, Table 3.3 (O-Net box regression)", task="detection_bbox",
    input_contract=InputContract(shape=(224, 224, 3), note="a proposal warped to 224x224 with context, BGR minus "
                                 "the mean"),
    paper_numbers={"VOC 2007 test mAP %, O-Net fine-tuned fc7 SVMs / with box regression (Table 3.3)": "62.2 / 66.0"},
    parameters={"total": 16_822_164}, head_layers=("bbox_pred",), default_num_classes=21,
    ignorable_layers=("fc6", "fc7", "fc8", "fc8_pascal", "fc-rcnn"),
)

_IMAGE = InputContract(shape=(None, None, 3), name="data", min_size=32,
                       note="the whole image, shorter side scaled to 600 (at most 1000 long), BGR minus the mean")
_ROIS = InputContract(shape=(None, 4), kind="vector", channel_order=None, mean=None, name="rois",
                      sources=("proposals",), note="proposals [x1, y1, x2, y2] in the image's pixels")
_FAST_CONTRACT = InputContract(shape=(None, None, 3), streams=(_IMAGE, _ROIS), sources=("image", "proposals"))

register(
    "fast_rcnn_caffenet", builder="zoo.models.rcnn.fast_rcnn:fast_rcnn_caffenet", family="rcnn", paper=_FAST_PAPER,
    section="§2 (architecture), §2.3 (training); Donahue thesis Table 5.3 (BiGAN transfer)", task="detection_rois",
    input_contract=_FAST_CONTRACT,
    paper_numbers={"minibatch (§2.3)": "2 images x 64 RoIs, 25% foreground (IoU >= 0.5), background IoU in [0.1, 0.5)",
                   "roi_pool5 (CaffeNet)": "6x6 at spatial scale 1/16",
                   "multi-task loss (§2.3)": "log loss + lambda [u >= 1] smooth L1, lambda = 1"},
    parameters={"total": 57_298_409}, head_layers=("cls_score", "bbox_pred"), default_num_classes=21,
)

register(
    "fast_rcnn_vgg16", builder="zoo.models.rcnn.fast_rcnn:fast_rcnn_vgg16", family="rcnn", paper=_FAST_PAPER,
    section="§2 (architecture), §2.3 (training)", task="detection_rois", input_contract=_FAST_CONTRACT,
    paper_numbers={"roi_pool5 (VGG16)": "7x7 at spatial scale 1/16"},
    parameters={"total": 134_690_729}, head_layers=("cls_score", "bbox_pred"), default_num_classes=21,
)
