"""Cards of the context-prediction family (metadata only)."""

from zoo.registry import CAFFE_BGR_MEAN, InputContract, register

# as the rcnn family's Fast R-CNN contract (zoo/models/rcnn/cards.py)
_IMAGE = InputContract(shape=(None, None, 3), name="data", min_size=32,
                       note="the whole image, shorter side scaled to 600 (at most 1000 long), BGR minus the mean")
_ROIS = InputContract(shape=(None, 4), kind="vector", channel_order=None, mean=None, name="rois",
                      sources=("proposals",), note="proposals [x1, y1, x2, y2] in the image's pixels")
_PATCH = dict(shape=(96, 96, 3), channel_order="BGR", mean=CAFFE_BGR_MEAN)

register(
    "context_prediction_alexnet",
    builder="zoo.models.context_prediction.pair:context_prediction_alexnet",
    family="context_prediction",
    paper="Doersch, Gupta & Efros, Unsupervised Visual Representation Learning by Context Prediction (ICCV 2015)",
    section="Fig. 3 (the pair network and its layer sizes), the relative-position task with 8 positions; the "
            "surface-normal numbers as C. Doersch's talk on the paper shows them",
    task="classification",
    input_contract=InputContract(
        **_PATCH, note="two 96x96 patches (A, and B at one of 8 positions around A); BGR minus the Caffe mean",
        streams=(InputContract(**_PATCH, name="patch_a", sources=("patch_a",)),
                 InputContract(**_PATCH, name="patch_b", sources=("patch_b",))),
    ),
    paper_numbers={
        "relative positions": 8,
        "surface normals, mean / median error (talk's table, dataset unnamed)": (33.2, 21.3),
        "surface normals, % within 11.25 / 22.5 / 30 degrees": (36.0, 51.2, 57.8),
    },
    parameters={"total": 57_542_568, "tower": 7_145_376},  # [derived] from the layers: see tests
    head_layers=("fc9",),
    default_num_classes=8,
    description="Pair network: two AlexNet-style towers with shared weights and batch normalisation, fc7-fc8 "
                "fusion, 8-way relative-position classifier fc9",
)

register(
    "fast_rcnn_context",
    builder="zoo.models.context_prediction.detection:fast_rcnn_context",
    family="context_prediction",
    paper="Doersch, Gupta & Efros, Unsupervised Visual Representation Learning by Context Prediction (ICCV 2015; the "
          "tower) + Girshick, Fast R-CNN (ICCV 2015; the detector)",
    section="Doersch et al.'s object-detection experiment (the tower pre-trained on context prediction, then "
            "fine-tuned for detection); Fast R-CNN §2",
    task="detection_rois",
    input_contract=InputContract(shape=(None, None, 3), streams=(_IMAGE, _ROIS), sources=("image", "proposals"),
                                 note="conv1-conv5 from a context-prediction tower (zoo.export.transfer."
                                      "write_detector_init); fc6, fc7 and the heads fresh"),
    paper_numbers={"VOC 2007 (pretraining for R-CNN)": "a chart in the talk; the text has no numbers",
                   "roi_pool5": "6x6 at spatial scale 1/16 (Fast R-CNN's CaffeNet setting)"},
    parameters={"total": 57_894_505},  # [derived] from the layers at default arguments: see tests
    head_layers=("cls_score", "bbox_pred"),
    default_num_classes=21,
    description="Fast R-CNN on the context-prediction tower's conv1-conv5 (conv2-conv4 384 wide, batch norm "
                "folded into biases), RoI pooling 6x6, fc6-fc7 4096, cls_score and bbox_pred",
)
