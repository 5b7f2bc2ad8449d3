"""Cards of the C3D family (Tran, Bourdev, Fergus, Torresani, Paluri, ICCV 2015)."""

from zoo.registry import InputContract, WeightsSpec, register

PAPER = ("Tran, Bourdev, Fergus, Torresani, Paluri, Learning Spatiotemporal Features with 3D Convolutional "
         "Networks (ICCV 2015)")
_NOTE = ("16-frame clips, frames resized to 128x171, 112x112 crops, BGR; the release subtracts its per-voxel mean clip "
         "sport1m_train16_128_mean.binaryproto (zoo.models.c3d.convert.read_mean_clip), not a per-channel mean")
CLIP = InputContract(shape=(16, 112, 112, 3), kind="clip", channel_order="BGR", mean=None, note=_NOTE,
                     sources=("clip",))
# Computed from §3.3's architecture (the paper states no count): convolutions 27,655,936; fc6 (8192 -> 4096)
# 33,558,528; fc7 16,781,312; fc8 (487) 1,995,239.
C3D_PARAMETERS = 79_991_015

SPORTS1M = WeightsSpec(
    tag="sports1m_caffe", url="http://vlg.cs.dartmouth.edu/c3d/", file_hash=None, format="caffemodel", preprocessing=CLIP,
    num_classes=487,
    source=("facebook/C3D v1.0 release conv3d_deepnetA_sport1m_iter_1900000 (C3D's Caffe fork, linked from the C3D "
            "project page; no checksum published, so the file is unverified). Download it by hand and give it the .caffemodel extension: "
            "zoo.convert.caffe reads its C3D dialect (5-D blobs, Convolution3D layers)"),
    license="CC BY-NC 3.0 (facebook/C3D LICENSE)",
    # the paper's Table 2 rows; which of the two the released file is, neither the paper nor the release says
    metrics={"Sports-1M test, C3D from scratch (Tran et al. 2015 Table 2, released with the paper; not measured on this file)": {
        "clip_hit@1": 44.9, "video_hit@1": 60.0, "video_hit@5": 84.4},
        "Sports-1M test, C3D fine-tuned from I380K (Table 2, released with the paper; not measured on this file)": {
        "clip_hit@1": 46.1, "video_hit@1": 61.1, "video_hit@5": 85.2}},
)

register(
    "c3d", builder="zoo.models.c3d.c3d:c3d", family="c3d", paper=PAPER,
    section="§3.3 (Fig. 3), Table 2 (Sports-1M), Table 3 (UCF101)", task="video_classification",
    input_contract=CLIP,
    paper_numbers={
        "convolutions (3x3x3, stride 1)": 8, "poolings (pool1 1x2x2, others 2x2x2)": 5, "fully connected 4096": 2,
        "clip frames": 16, "crop": 112, "Sports-1M classes": 487,
        "Sports-1M clip hit@1 %, from scratch (Table 2)": 44.9, "Sports-1M video hit@1 %, from scratch": 60.0,
        "Sports-1M video hit@5 %, from scratch": 84.4, "Sports-1M clip hit@1 %, fine-tuned from I380K": 46.1,
        "Sports-1M video hit@1 %, fine-tuned from I380K": 61.1, "Sports-1M video hit@5 %, fine-tuned from I380K": 85.2,
    },
    parameters={"total": C3D_PARAMETERS}, head_layers=("fc8-1",), default_num_classes=487, weights=(SPORTS1M,),
)

register(
    "c3d_fc6_svm", builder="zoo.models.c3d.c3d:c3d_fc6_svm", family="c3d", paper=PAPER,
    section="§4.2 (action recognition, C3D + linear SVM), Table 3", task="video_feature_classification",
    input_contract=CLIP,
    paper_numbers={"UCF101 accuracy %, C3D (1 net) + linear SVM (Table 3)": 82.3,
                   "UCF101 accuracy %, C3D (3 nets) + linear SVM": 85.2,
                   "UCF101 accuracy %, C3D (3 nets) + iDT + linear SVM": 90.4},
    head_layers=("svm",), default_num_classes=101, ignorable_layers=("fc7-1", "fc8-1"),
    # convolutions and fc6 as c3d, then the 101-way linear SVM on fc6 (4096 x 101 + 101 = 413,797)
    parameters={"total": 27_655_936 + 33_558_528 + 413_797, "trainable": 61_628_261},
)
