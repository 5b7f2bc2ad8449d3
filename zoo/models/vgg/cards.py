"""Cards of the VGG configurations and their released weights (metadata only, no Keras).

`vgg11`, `vgg13`, `vgg16` and `vgg19` are the names users type; the paper's configuration
letters stay as aliases (`vgg_a`, `vgg_b`, `vgg_d`, `vgg_e`). A-LRN and C have no standard
numeric name and keep theirs. Builders: `zoo.models.vgg.vgg`.
"""

from zoo.registry import CAFFE_BGR_MEAN, InputContract, WeightsSpec, register

_PAPER = "Simonyan & Zisserman, Very Deep Convolutional Networks for Large-Scale Image Recognition, ICLR 2015"
_CONTRACT = InputContract(
    shape=(224, 224, 3),
    channel_order="BGR",
    mean=CAFFE_BGR_MEAN,
    note="the VGG Caffe release and keras.applications subtract (103.939, 116.779, 123.68) BGR",
)
_SLIDES = "Laptev CNN slides, VGG Table 1"


def _card(name, config, layers, total, aliases=(), numbers=None, weights=()):
    """Register configuration `config` (its builder is the function `name` of vgg.py)."""
    register(
        name,
        builder=f"zoo.models.vgg.vgg:{name}",
        family="vgg",
        paper=_PAPER,
        section=f"Sec. 2.3, Table 1, configuration {config}",
        task="classification",
        input_contract=_CONTRACT,
        paper_numbers={f"weight layers ({_SLIDES})": layers, **(numbers or {})},
        head_layers=("fc8",),
        default_num_classes=1000,
        aliases=aliases,
        parameters={"total": total, "trainable": total},
        weights=weights,
    )


# The released weights of D and E. keras.applications ported the VGG team's Caffe weights; both expect
# keras.applications' 'caffe' mode, the mean pixel the VGG release states (gist readme: "the following BGR
# values should be subtracted: [103.939, 116.779, 123.68]").
_VGG_MEAN_CONTRACT = InputContract(
    shape=(224, 224, 3), channel_order="BGR", mean=(103.939, 116.779, 123.68),
    note="keras.applications 'caffe' mode: BGR minus the VGG release's mean pixel, not scaled",
)
_KERAS_APPS = "https://storage.googleapis.com/tensorflow/keras-applications"
_KERAS_SOURCE = ("keras.applications ({}.py: WEIGHTS_PATH and the md5 file_hash passed to get_file), "
                 "ported from the VGG release")
_KERAS_LICENSE = ("Creative Commons Attribution: 'The VGG16 and VGG19 weights are ported from the ones released by VGG "
                  "at Oxford under the Creative Commons Attribution License' (fchollet/deep-learning-models README)")
_OXFORD = "https://www.robots.ox.ac.uk/~vgg/software/very_deep/caffe"
_OXFORD_SOURCE = ("VGG, Oxford: gist ksimonyan/{}, caffemodel_url of its readme; the readme publishes no hash, "
                  "so the download is unverified and refused unless allowed (ZOO_ALLOW_UNVERIFIED=1)")
_OXFORD_LICENSE = "see http://www.robots.ox.ac.uk/~vgg/research/very_deep/ (the gist readme's license line)"


def _keras_weights(model, top_md5, metrics):
    """keras.applications' ImageNet weights of `model` ("vgg16" | "vgg19"), tag keras_imagenet (alias imagenet)."""
    return WeightsSpec(
        tag="keras_imagenet", aliases=("imagenet",),
        url=f"{_KERAS_APPS}/{model}/{model}_weights_tf_dim_ordering_tf_kernels.h5",
        file_hash=top_md5, hash_algorithm="md5", format="keras_applications_h5", num_classes=1000,
        source=_KERAS_SOURCE.format(model), license=_KERAS_LICENSE, preprocessing=_VGG_MEAN_CONTRACT,
        metrics={"ILSVRC-2012 val, 224x224 single center crop (released: keras.io/api/applications table)": metrics},
    )


def _oxford_weights(model, gist, metrics):
    """The VGG team's own Caffe release (VGG_ILSVRC_16_layers / _19_layers.caffemodel), tag vgg_caffe."""
    return WeightsSpec(
        tag="vgg_caffe", url=f"{_OXFORD}/{model}.caffemodel", file_hash=None, format="caffemodel", num_classes=1000,
        source=_OXFORD_SOURCE.format(gist), license=_OXFORD_LICENSE, preprocessing=_VGG_MEAN_CONTRACT,
        metrics=metrics,
    )


_card("vgg11", "A", 11, 132_863_336, aliases=("vgg_a",))
_card("vgg_a_lrn", "A-LRN", 11, 132_863_336)  # LRN has no weights
_card("vgg13", "B", 13, 133_047_848, aliases=("vgg_b",))
_card("vgg_c", "C", 16, 133_638_952)
_card(
    "vgg16", "D", 16, 138_357_544, aliases=("vgg_d",),
    numbers={"parameters (Laptev CNN slides, VGG-16 table)": "138M"},
    weights=(
        _keras_weights("vgg16", "64373286793e3c8b2b4e3219cbf3544b", {"top1_accuracy_%": 71.3, "top5_accuracy_%": 90.1}),
        _oxford_weights("VGG_ILSVRC_16_layers", "211839e770f7b538e2d8", {
            "ILSVRC-2012 val, dense single-scale evaluation at Q=384 (released: gist readme, paper Table 3)":
                {"top5_error_%": 8.1},
            "ILSVRC-2012 val / test, dense multi-scale evaluation (released: gist readme, paper Table 4)":
                {"top5_error_%_val": 7.5, "top5_error_%_test": 7.4},
        }),
    ),
)
_card(
    "vgg19", "E", 19, 143_667_240, aliases=("vgg_e",),
    weights=(
        _keras_weights("vgg19", "cbe5617147190e668d6c5d5026f83318", {"top1_accuracy_%": 71.3, "top5_accuracy_%": 90.0}),
        _oxford_weights("VGG_ILSVRC_19_layers", "3785162f95cd2d5fee77", {}),
    ),
)
