"""GoogLeNet's card and the BVLC release (metadata only; the builder is `zoo.models.googlenet.googlenet`)."""

from zoo.registry import InputContract, WeightsSpec, register

register(
    "googlenet", builder="zoo.models.googlenet.googlenet:googlenet", family="googlenet", task="classification",
    aliases=("inception_v1",),
    paper="Szegedy et al. 2015, Going Deeper with Convolutions (CVPR)",
    section="§5, Table 1, Fig. 3; BVLC/caffe models/bvlc_googlenet/deploy.prototxt",
    input_contract=InputContract(shape=(224, 224, 3), note="224x224 crop, BGR minus the ILSVRC mean"),
    head_layers=("loss3_classifier", "loss1_classifier", "loss2_classifier"), default_num_classes=1000,
    # bvlc_googlenet.caffemodel carries the auxiliary heads; a model built without them ignores them
    ignorable_layers=("loss1_*", "loss2_*"),
    paper_numbers={
        "parameters (Laptev slides §A.6)": "~5M",
        "volume after the last pooling layer (slides §A.6)": "7x7x1024",
        "ILSVRC top-5 error %, '22 layers' (Oquab thesis §2 overview)": 7,
    },
    # 13,378,280 with the two auxiliary heads (aux_logits=True)
    parameters={"total": 6_998_552, "trainable": 6_998_552},
    weights=(
        WeightsSpec(
            tag="bvlc", url="http://dl.caffe.berkeleyvision.org/bvlc_googlenet.caffemodel",
            file_hash="405fc5acd08a3bb12de8ee5e23a96bec22f08204", hash_algorithm="sha1", format="caffemodel",
            num_classes=1000, source="BVLC (trained by Sergio Guadarrama); BVLC/caffe models/bvlc_googlenet/readme.md",
            license="unrestricted use (readme); the ImageNet terms of access apply to the training data",
            # train_val.prototxt subtracts mean_value 104, 117, 123 (BGR), not the mean image.
            preprocessing=InputContract(shape=(224, 224, 3), mean=(104.0, 117.0, 123.0),
                                        note="bvlc_googlenet train_val.prototxt: BGR minus mean_value 104, 117, 123"),
            metrics={"ILSVRC-2012 val, single center crop (released: BVLC readme; quick_solver, 60 epochs)":
                     {"top1_accuracy_%": 68.7, "top5_accuracy_%": 88.9}},
        ),
    ),
)
