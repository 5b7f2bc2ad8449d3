"""Cards of the LRCN systems (metadata only, no Keras): activity recognition (`activity.py`),
image captioning (`captioning.py`) and video description (`video_description.py`).

`zoo.models.lrcn.convert` (imported with any LRCN builder) registers the Caffe LSTM and RNN converters.
"""

from zoo.registry import InputContract, register

PAPER = (
    "Donahue, Hendricks, Rohrbach, Venugopalan, Guadarrama, Saenko, Darrell, Long-term Recurrent Convolutional "
    "Networks for Visual Recognition and Description (CVPR 2015, TPAMI 2017); Donahue PhD thesis 2017, ch. 4"
)
CLIP_FRAMES = 16  # training and test clips (thesis §4.3; sequence_input_layer.py)
CRF_SLOTS = (100, 100, 100, 100)  # placeholder label counts of activity, tool, object, location (not in the thesis)

# --- activity recognition (thesis §4.3) ------------------------------------------------------------------
# The release's data layers (LisaAnne/lisa-caffe-public, lstm_video_deploy): the LSTM RGB model was trained by
# sequence_input_layer.py with BGR means (103.939, 116.779, 128.68) (sic: 128.68 for R, not
# ImageNet's 123.68), the single-frame RGB model by an ImageData layer with (103.939, 116.779,
# 123.68). Flow images (x, y flow scaled to [-128, 128] and shifted by 128, magnitude as the
# third channel; thesis §4.3) have 128 subtracted from every channel.
_RGB_LSTM_MEAN = (103.939, 116.779, 128.68)
_RGB_FRAME_MEAN = (103.939, 116.779, 123.68)
_FLOW_MEAN = (128.0, 128.0, 128.0)
_UCF101 = "UCF101 accuracy %, 3-split average (thesis Table 4.1)"


def _activity(name, *, flow, lstm, numbers, trainable):
    mean = _FLOW_MEAN if flow else (_RGB_LSTM_MEAN if lstm else _RGB_FRAME_MEAN)
    kind = "flow images (x, y, magnitude) minus 128" if flow else "RGB frames"
    register(
        name, builder=f"zoo.models.lrcn.activity:{name}", family="lrcn", paper=PAPER, task="video_classification",
        section="§4.3 (activity recognition), Table 4.1; lisa-caffe-public examples/LRCN_activity_recognition",
        input_contract=InputContract(
            shape=(CLIP_FRAMES, 227, 227, 3), kind="clip", channel_order=None if flow else "BGR", mean=mean,
            note=f"{kind}; frames resized to 240x320, 227x227 crops; input_shape=(None, 227, 227, 3) takes any length",
        ),
        paper_numbers=numbers, head_layers=("fc8-final",) if lstm else ("fc8-ucf",), default_num_classes=101,
        parameters={"total": trainable, "trainable": trainable},
    )


_activity("lrcn_activity_rgb", flow=False, lstm=True, trainable=65_421_285, numbers={
    f"{_UCF101}, LRCN-fc6 RGB": 68.20, f"{_UCF101}, single frame RGB": 67.37,
    f"{_UCF101}, LRCN-fc6 RGB+flow 1/2,1/2": 80.90, f"{_UCF101}, LRCN-fc6 RGB+flow 1/3,2/3": 82.34,
    "LSTM hidden units, RGB (thesis §4.3)": 256,
})
_activity("lrcn_activity_flow", flow=True, lstm=True, trainable=82_016_997, numbers={
    f"{_UCF101}, LRCN-fc6 flow": 77.28, f"{_UCF101}, single frame flow": 74.37,
    "LSTM hidden units, flow (thesis §4.3; 1024 vs 256: +1.7%)": 1024,
})
_activity("lrcn_singleframe_rgb", flow=False, lstm=False, trainable=78_132_965,
          numbers={f"{_UCF101}, single frame RGB": 67.37})
_activity("lrcn_singleframe_flow", flow=True, lstm=False, trainable=78_132_965,
          numbers={f"{_UCF101}, single frame flow": 74.37})

# --- image description (thesis §4.4) ---------------------------------------------------------------------
# lrcn.prototxt's data layer and captioner.py subtract the BGR mean values (104, 117, 123).
_IMAGE = InputContract(shape=(227, 227, 3), mean=(104.0, 117.0, 123.0), name="image", note="VGG16 encoder: 224x224")
WORDS_CONTRACT = InputContract(shape=(None,), dtype="int32", kind="tokens", channel_order=None, mean=None, name="words",
                               sources=("caption",), note="[<eos>, w1 .. wn] padded with 0, ids below vocab_size")
_CAPTION_CONTRACT = InputContract(
    shape=(227, 227, 3), mean=(104.0, 117.0, 123.0), streams=(_IMAGE, WORDS_CONTRACT),
    note="second input `words` (T,) int32: [<eos>, w1 .. wn] padded with 0; VGG16 encoder: 224x224",
)
_T46 = "COCO 2014 val, greedy (beam 1), CaffeNet not fine-tuned: B4 / CIDEr-D / METEOR / ROUGE-L (thesis Table 4.6)"
_T45 = "COCO 1k-image val subset, CaffeNet not fine-tuned, caption->image R@1 / R@5 / R@10 / Med r (Table 4.5)"


_CAPTION_SECTION = "§4.4 (image description), Fig. 4.4, Tables 4.4-4.7; BVLC/caffe examples/coco_caption/lrcn.prototxt"


def _captioner(name, numbers, trainable, total, section=_CAPTION_SECTION):
    # Counted with the default frozen CaffeNet encoder (non-trainable) and the 8801-word COCO vocabulary.
    register(
        name, builder=f"zoo.models.lrcn.captioning:{name}", family="lrcn", paper=PAPER, task="captioning",
        section=section,
        input_contract=_CAPTION_CONTRACT, paper_numbers=numbers, head_layers=("embedding", "predict"),
        default_num_classes=None, parameters={"total": total, "trainable": trainable},
    )


_captioner("lrcn1u", {_T46: "0.231 / 0.661 / 0.209 / 0.480", _T45: "25.2 / 56.2 / 70.8 / 4"},
           29_614_801, 90_580_025)
_captioner("lrcn2u", {_T46: "0.230 / 0.682 / 0.212 / 0.480", _T45: "23.4 / 54.8 / 69.3 / 5"},
           37_618_801, 98_584_025)
_captioner("lrcn2f", {
    _T46: "0.224 / 0.674 / 0.210 / 0.477", _T45: "25.0 / 56.2 / 70.6 / 4",
    "COCO 2014 val, VGGNet FT, sampling N=100 T=1.5: B4 / CIDEr-D / METEOR / ROUGE-L (Table 4.6)":
        "0.300 / 0.896 / 0.242 / 0.524",
    "COCO 2014 test (challenge server), LRCN (sample): CIDEr-D / METEOR (Table 4.7)": "0.934 / 0.335",
    "Flickr30k image->caption R@1 / R@5 / R@10 / Med r (Table 4.4)": "23.6 / 46.6 / 58.3 / 7",
}, 37_618_801, 98_584_025)
# The RNN rows: CaffeNet not fine-tuned, 2 factored layers of Caffe's vanilla RNN (thesis §4.1, §4.4).
_captioner("lrcn2f_rnn", {
    _T46: "0.220 / 0.660 / 0.209 / 0.473", _T45: "21.3 / 51.7 / 67.2 / 5",
    "COCO 2014 val, CaffeNet not fine-tuned, sampling N=100 T=1.5: B4 / CIDEr-D / METEOR / ROUGE-L (Table 4.6)":
        "0.244 / 0.703 / 0.212 / 0.479",
    "COCO 1k-image val subset, CaffeNet not fine-tuned, image->caption R@1 / R@5 / R@10 / Med r (Table 4.5)":
        "30.2 / 61.0 / 72.6 / 4",
}, 24_614_801, 85_580_025, section="§4.1 (the vanilla RNN), §4.4, Tables 4.5-4.6 (the RNN rows); "
                                   "BVLC/caffe src/caffe/layers/rnn_layer.cpp")

# --- video description (thesis §4.5) ---------------------------------------------------------------------
register(
    "lrcn_video_description", builder="zoo.models.lrcn.video_description:lrcn_video_description", family="lrcn",
    paper=PAPER, task="captioning", section="§4.5 (video description), Fig. 4.5 (a)-(c), Table 4.9",
    input_contract=InputContract(
        shape=(sum(CRF_SLOTS),), kind="vector", channel_order=None, mean=None,
        note="CRF probabilities of each slot, concatenated; second input `words` (T,) int32",
    ),
    head_layers=("embedding", "predict"),
    paper_numbers={
        "TACoS multilevel BLEU-4 %, (a) LSTM encoder-decoder on CRF max (Table 4.9)": 25.3,
        "TACoS multilevel BLEU-4 %, (b) LSTM decoder on CRF max (Table 4.9)": 27.4,
        "TACoS multilevel BLEU-4 %, (c) LSTM decoder on CRF probabilities (Table 4.9)": 28.8,
        "TACoS multilevel BLEU-4 %, SMT on CRF prob, Rohrbach et al. 2014 (Table 4.9)": 26.9,
        "TACoS multilevel video/sentence pairs (§4.5)": 44762,
    },
    parameters={"total": 19_609_000, "trainable": 19_609_000},
)
