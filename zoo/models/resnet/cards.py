"""Cards of the residual networks, their plain twins and keras.applications' weights (metadata only).

Builders: `zoo.models.resnet.resnet`. Trainable counts with 1000 classes equal torchvision's (no conv
biases); the totals add BatchNormalization's moving mean and variance.
"""

from zoo.registry import InputContract, WeightsSpec, register

# keras.applications.imagenet_utils.preprocess_input(mode="caffe").
KERAS_CAFFE_BGR_MEAN = (103.939, 116.779, 123.68)
CONTRACT = InputContract(
    shape=(224, 224, 3), mean=KERAS_CAFFE_BGR_MEAN,
    note="keras.applications 'caffe' mode: BGR, mean subtracted, not scaled",
)
_PAPER = "He, Zhang, Ren, Sun 2016, Deep Residual Learning for Image Recognition (CVPR)"
_KERAS_RESNET = "https://storage.googleapis.com/tensorflow/keras-applications/resnet"


def _keras_weights(name, tag, md5, suffix, metrics):
    """keras.applications' ImageNet weights (resnet.py: BASE_WEIGHTS_PATH and WEIGHTS_HASHES, md5)."""
    return WeightsSpec(
        tag=tag, aliases=("imagenet",) if tag == "keras_imagenet" else (),
        url=f"{_KERAS_RESNET}/{name}_weights_tf_dim_ordering_tf_kernels{suffix}.h5", file_hash=md5,
        hash_algorithm="md5", format="keras_applications_h5", num_classes=1000 if not suffix else None,
        source=("keras.applications (resnet.py: BASE_WEIGHTS_PATH, WEIGHTS_HASHES), ported from Kaiming He's Caffe "
                "release; with conv biases, folded into BatchNormalization unless built with conv_bias=True"),
        license=("MIT: 'The ResNet50 weights are ported from the ones released by Kaiming He under the MIT license' "
                 "(fchollet/deep-learning-models README)"),
        preprocessing=CONTRACT, metrics=metrics,
    )


def _card(name, trainable, total, *, plain=False, paper_numbers=None, weights=()):
    register(
        name, builder=f"zoo.models.resnet.resnet:{name}", family="resnet", task="classification", paper=_PAPER,
        section="§3.3–§4.1, Table 1, Fig. 3" + (" (plain networks)" if plain else ""), input_contract=CONTRACT,
        paper_numbers=paper_numbers or {}, head_layers=("predictions",), default_num_classes=1000,
        parameters={"total": total, "trainable": trainable}, weights=weights,
    )


_card("resnet18", 11_689_512, 11_699_112)
_card("resnet34", 21_797_672, 21_814_696)
_card(
    "resnet50", 25_557_032, 25_610_152,
    weights=(
        # keras.io/api/applications table: 224x224 single center crop on ILSVRC-2012 val.
        _keras_weights("resnet50", "keras_imagenet", "2cb95161c43110f7111970584f804107", "", {
            "ILSVRC-2012 val, 224x224 single center crop (released: keras.io/api/applications table)":
                {"top1_accuracy_%": 74.9, "top5_accuracy_%": 92.1},
        }),
        # No classifier: build with include_top=False.
        _keras_weights("resnet50", "keras_imagenet_notop", "4d473c1dd8becc155b73f8504c6f6626", "_notop", {}),
    ),
)
_card("resnet101", 44_549_160, 44_654_504)
_card(
    "resnet152", 60_192_808, 60_344_232,
    paper_numbers={
        "ILSVRC top-5 error %, '152 layers' (Oquab thesis §2 overview)": 4,
        "ILSVRC-2015 test top-5 error % of an ensemble of residual nets (He et al. 2016, abstract)": 3.57,
    },
)
_card("plainnet18", 11_515_688, 11_523_496, plain=True)
_card("plainnet34", 21_623_848, 21_639_080, plain=True)
