"""Cards of the AlexNet-era classifiers and their released weights (metadata only, no Keras).

Builders: `zoo.models.alexnet.alexnet` (BVLC AlexNet, CaffeNet, ZFNet) and
`zoo.models.alexnet.overfeat` (OverFeat fast and accurate).
"""

from zoo.registry import CAFFE_BGR_MEAN, InputContract, WeightsSpec, register

BVLC_CONTRACT = InputContract(
    shape=(227, 227, 3), note="Caffe: 227x227 crop of the 256x256 image, ILSVRC-2012 mean subtracted"
)


def _bvlc_weights(model, sha1, top1, top5, trainer, preprocessing=BVLC_CONTRACT):
    """The BVLC release `model`.caffemodel (BVLC/caffe models/<model>/readme.md: caffemodel_url, sha1, numbers)."""
    return WeightsSpec(
        tag="bvlc", url=f"http://dl.caffe.berkeleyvision.org/{model}.caffemodel", file_hash=sha1,
        hash_algorithm="sha1", format="caffemodel", num_classes=1000,
        source=f"BVLC (trained by {trainer}); BVLC/caffe models/{model}/readme.md",
        license="unrestricted use (readme); the ImageNet terms of access apply to the training data",
        # Trained on the mean image (ilsvrc_2012_mean.binaryproto); its per-channel average is subtracted here.
        preprocessing=preprocessing,
        metrics={"ILSVRC-2012 val, single center crop (released: BVLC readme)": {"top1_accuracy_%": top1,
                                                                                 "top5_accuracy_%": top5}},
    )


_ALEXNET_NUMBERS = {
    "ILSVRC-2012 top-5 error %, Krizhevsky et al. 2012 (Laptev slides §A.6)": 16.4,
    "ILSVRC-2012 top-5 error % of the next best, non-convnet entry (slides §A.6)": 26.2,
    "parameters (slides §A.6)": "~60M",
    "released bvlc_alexnet, ILSVRC-2012 val center crop top-1 / top-5 accuracy % (BVLC readme)": "57.1 / 80.2",
}

register(
    "alexnet", builder="zoo.models.alexnet.alexnet:alexnet", family="alexnet", task="classification",
    paper="Krizhevsky, Sutskever, Hinton 2012, ImageNet Classification with Deep Convolutional Neural Networks",
    section="§3 (architecture); BVLC/caffe models/bvlc_alexnet/deploy.prototxt",
    input_contract=BVLC_CONTRACT, paper_numbers=_ALEXNET_NUMBERS, head_layers=("fc8",),
    default_num_classes=1000, parameters={"total": 60_965_224, "trainable": 60_965_224},
    weights=(_bvlc_weights("bvlc_alexnet", "9116a64c0fbe4459d18f4bb6b56d647b63920377", 57.1, 80.2, "Evan Shelhamer"),),
)

register(
    "caffenet", builder="zoo.models.alexnet.alexnet:caffenet", family="alexnet", task="classification",
    paper="Jia et al. 2014 (Caffe) bvlc_reference_caffenet; Donahue et al. 2014 (DeCAF)",
    section="Donahue thesis §0.2/§4.3; BVLC/caffe models/bvlc_reference_caffenet/deploy.prototxt",
    input_contract=BVLC_CONTRACT, head_layers=("fc8",), default_num_classes=1000,
    paper_numbers={
        "released bvlc_reference_caffenet, ILSVRC-2012 val center crop top-1 / top-5 accuracy % (BVLC readme)":
            "57.4 / 80.4",
        "center-crop top-1 accuracy % (Donahue thesis §4.3)": 57.4,
        "pool5 receptive field / stride in pixels (Long thesis Table 2.1; Donahue thesis §3.1.6.1)": "195 / 32",
        "pool5 features (Donahue thesis §3.1.6.1)": "6x6x256 = 9216",
    },
    parameters={"total": 60_965_224, "trainable": 60_965_224},
    weights=(
        _bvlc_weights("bvlc_reference_caffenet", "4c8d77deb20ea792f84eb5e6d0a11ca0a8660a46", 57.4, 80.4,
                      "Jeff Donahue"),
    ),
)

register(
    "zfnet", builder="zoo.models.alexnet.alexnet:zfnet", family="alexnet", task="classification",
    paper="Zeiler & Fergus 2014, Visualizing and Understanding Convolutional Networks",
    section="§3, Fig. 3 (quoted in Laptev slides §A.6)",
    input_contract=InputContract(shape=(224, 224, 3), note="224x224 crop, BGR minus the ILSVRC mean"),
    head_layers=("fc8",), default_num_classes=1000,
    paper_numbers={
        "layer 1: filters, size / stride (Fig. 3)": "96, 7x7 / 2",
        "layer 1 output after pooling (Fig. 3)": "55x55x96",
        "fc6 input (Fig. 3)": "6*6*256 = 9216",
    },
    parameters={"total": 62_357_608, "trainable": 62_357_608},
)

_OVERFEAT = (
    "Sermanet, Eigen, Zhang, Mathieu, Fergus, LeCun 2014, OverFeat: Integrated Recognition, Localization and "
    "Detection using Convolutional Networks (ICLR)"
)


def _overfeat_contract(size):
    # No OverFeat weights are registered: this is the zoo's choice for training from scratch.
    return InputContract(
        shape=(size, size, 3), channel_order="RGB", mean=CAFFE_BGR_MEAN[::-1],
        note="zoo choice for training from scratch; OverFeat's released normalisation is not used",
    )


register(
    "overfeat_fast", builder="zoo.models.alexnet.overfeat:overfeat_fast", family="alexnet", task="classification",
    paper=_OVERFEAT, section="§3.1, Table 1 (fast model)",
    input_contract=_overfeat_contract(231), head_layers=("fc8",), default_num_classes=1000,
    paper_numbers={"layer sizes (Table 1)": "conv 96/256/512/1024/1024, fc 3072/4096/1000, input 231x231"},
    parameters={"total": 145_920_872, "trainable": 145_920_872},
)

register(
    "overfeat_accurate", builder="zoo.models.alexnet.overfeat:overfeat_accurate", family="alexnet",
    task="classification", paper=_OVERFEAT, section="§3.1, Table 3 (accurate model)",
    input_contract=_overfeat_contract(221), head_layers=("fc9",), default_num_classes=1000,
    paper_numbers={
        "layer sizes (Table 3)": "conv 96/256/512/512/1024/1024, fc 4096/4096/1000, input 221x221",
        "ILSVRC top-5 error %, '9 layers' (Oquab thesis §2 overview)": 13,
        "global stride in pixels (Oquab thesis §4.2)": 36,
    },
    parameters={"total": 144_656_488, "trainable": 144_656_488},
)

_DECAF_NUMBERS = {
    "Caltech-101 mean per-class accuracy %, 30 train/class, SVM on DeCAF6 + dropout (Fig. 2.3 left)": "86.91 ± 0.7",
    "Caltech-101 %, LogReg DeCAF5 / DeCAF6 / DeCAF7 (Fig. 2.3)": "63.29 / 84.30 / 84.87",
    "Caltech-101 %, LogReg + dropout DeCAF6 / DeCAF7": "86.08 / 85.68",
    "Caltech-101 %, SVM DeCAF5 / DeCAF6 / DeCAF7": "77.12 / 84.77 / 83.24",
    "Caltech-101 %, SVM + dropout DeCAF6 / DeCAF7": "86.91 / 85.51",
    "Caltech-101 one-shot %, SVM (§2.3.1)": 33.0,
    "Office A->W accuracy %, Daume III on DeCAF6 (Table 2.1)": "82.14 ± 1.9",
    "Office A->W %, SVM S / T / ST on DeCAF6": "52.22 / 78.26 / 80.66",
    "Office D->W %, SVM S / T / ST on DeCAF6": "91.48 / 78.26 / 94.79",
    "CUB-200 accuracy %, DeCAF6 + LogReg (Table 2.2)": 58.75,
    "SUN-397 mean per-class accuracy %, best by cross-validation (§2.3.4)": 40.94,
    "input": "center 224x224 crop of the 256x256 resized image (§2.3)",
}

_DECAF_CONTRACT = InputContract(
    shape=(224, 224, 3), note="center 224x224 crop of the 256x256 resized image, BGR minus the ILSVRC mean; "
                              "initialise from bvlc_reference_caffenet.caffemodel (weights_partial: fc8 left out)")

register(
    "decaf", builder="zoo.models.alexnet.decaf:decaf", family="alexnet", task="feature_classification",
    paper="Donahue et al. 2014, DeCAF: A Deep Convolutional Activation Feature for Generic Visual Recognition "
          "(Donahue thesis ch. 2)",
    section="Donahue thesis §2.2-2.3, Fig. 2.3, Tables 2.1-2.3",
    input_contract=_DECAF_CONTRACT,
    paper_numbers=_DECAF_NUMBERS, head_layers=("classifier",), default_num_classes=102, ignorable_layers=("fc7", "fc8"),
    # DeCAF6 (default): conv1-conv5 2,334,080 + fc6 37,752,832 (frozen) + a 4096 x 102 head 417,894
    parameters={"total": 40_504_806, "trainable": 417_894},
    # The BVLC CaffeNet release, loaded by layer name with weights_partial (fc8 is not in the model).
    weights=(_bvlc_weights("bvlc_reference_caffenet", "4c8d77deb20ea792f84eb5e6d0a11ca0a8660a46", 57.4, 80.4,
                           "Jeff Donahue", preprocessing=_DECAF_CONTRACT),),
)

_OQUAB = ("Oquab, Bottou, Laptev, Sivic 2014, Learning and Transferring Mid-Level Image Representations using "
          "Convolutional Neural Networks (CVPR; Oquab thesis ch. 3)")
_OQUAB_CONTRACT = InputContract(shape=(224, 224, 3), note="224x224 (App. B.6.2); square patches rescaled to 224, "
                                                          "BGR minus the ILSVRC mean (zoo choice: no weights released)")

register(
    "oquab_alexnet", builder="zoo.models.alexnet.midlevel:oquab_alexnet", family="alexnet", task="classification",
    paper=_OQUAB, section="Oquab thesis §3.2.1, §3.3, App. B.6.2 (the source networks)",
    input_contract=_OQUAB_CONTRACT, head_layers=("fc8",), default_num_classes=1000,
    paper_numbers={
        "parameters (App. B.6.2)": "60 million", "forward FLOPs per image (App. B.6.2)": "725 million",
        "ILSVRC-2012 top-5 error %, 1000-class net (§3.3)": 18,
        "top-5 error % on the 1,512 classes, FC6/FC7 6144 (§3.3)": 21.8,
        "PRE-1512 source: ILSVRC-2012 + 512 classes, images (§3.3)": "1.6 million",
    },
    # 1000 classes, FC6/FC7 4096 (PRE-1000C/R); the 1512-class net with 6144 has 106,009,448 (tested)
    parameters={"total": 60_965_224, "trainable": 60_965_224},
)

register(
    "midlevel_alexnet", builder="zoo.models.alexnet.midlevel:midlevel_alexnet", family="alexnet",
    task="classification", paper=_OQUAB, section="Oquab thesis §3.2 (Fig. 3-2), Tables 3.1-3.3",
    input_contract=_OQUAB_CONTRACT, head_layers=("fcb",), default_num_classes=21, ignorable_layers=("fc8",),
    paper_numbers={
        "VOC 2007 test mAP %, PRE-1000C (Table 3.1)": 77.7,
        "VOC 2012 test mAP %, NO PRETRAIN / PRE-1000C / PRE-1000R / PRE-1512 (Table 3.2)": "70.9 / 78.7 / 76.3 / 82.8",
        "VOC 2012 action test mAP %, NO PRETRAIN / PRE-1512 / PRE-1512U (Table 3.3)": "49.7 / 68.4 / 70.2",
        "FCa units (§3.2.1)": 2048, "patches per image (§3.2.2)": "about 500",
        "power-mean exponent k (Eq. 3.1)": 5, "background patches kept (§3.2.2)": "10%",
    },
    # C1-C5 2,334,080 + FC6 37,752,832 + FC7 16,781,312 (fixed) + FCa 8,390,656 + FCb 43,029 (21 classes)
    parameters={"total": 65_301_909, "trainable": 8_433_685},
)
