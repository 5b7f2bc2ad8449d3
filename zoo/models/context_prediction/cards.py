"""Cards of the context-prediction family (metadata only)."""

from zoo.registry import CAFFE_BGR_MEAN, InputContract, register

_PATCH = dict(shape=(96, 96, 3), channel_order="BGR", mean=CAFFE_BGR_MEAN)

register(
    "context_prediction_alexnet",
    builder="zoo.models.context_prediction.pair:context_prediction_alexnet",
    family="context_prediction",
    paper="Doersch, Gupta & Efros 2015, Unsupervised Visual Representation Learning by Context Prediction",
    section="talk in the Grid LSTM seed (digest §B.4(b)); layer sizes from the paper's Fig. 3 (EXTERNAL, verify)",
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
