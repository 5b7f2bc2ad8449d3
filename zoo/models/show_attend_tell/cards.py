"""Cards of Show, Attend and Tell (Xu et al. 2015), soft and hard attention."""

from zoo.registry import InputContract, register

PAPER = ("Xu, Ba, Kiros, Cho, Courville, Salakhutdinov, Zemel, Bengio, Show, Attend and Tell: Neural Image Caption "
         "Generation with Visual Attention (ICML 2015)")
_IMAGE = InputContract(shape=(224, 224, 3), name="image", note="VGG19: BGR minus the ImageNet mean")
_WORDS = InputContract(shape=(20,), dtype="int32", kind="tokens", channel_order=None, mean=None, name="words",
                       sources=("caption",), note="[<eos>, w1 .. wn] padded with 0 to max_words (20, the zoo captioning datasets' length)")
CONTRACT = InputContract(shape=(224, 224, 3), streams=(_IMAGE, _WORDS),
                         note="second input `words` (T,) int32; annotations: VGG19 conv5_4, 14x14x512")


def _numbers(kind, table):
    return {f"{dataset} BLEU-1/2/3/4, METEOR ({kind} attention, Table 1)": scores for dataset, scores in table.items()}


# Xu et al. 2015 Table 1 (as H. Heuer's talk "Image Captioning & Attention" shows it)
SOFT = {"Flickr8k": "67 / 44.8 / 29.9 / 19.5 / 18.93", "Flickr30k": "66.7 / 43.4 / 28.8 / 19.1 / 18.49",
        "COCO": "70.7 / 49.2 / 34.4 / 24.3 / 23.90"}
HARD = {"Flickr8k": "67 / 45.7 / 31.4 / 21.3 / 20.30", "Flickr30k": "66.9 / 43.9 / 29.6 / 19.9 / 18.46",
        "COCO": "71.8 / 50.4 / 35.7 / 25.0 / 23.04"}

# VGG19 conv1_1 .. conv5_4 (frozen) 20,024,384; decoder (sizes assumed, see show_attend_tell.py) 20,926,826:
# embedding 5,120,000, init_h/init_c 1,026,000, attention 775,170, β 1,001, LSTM 8,100,000, deep output 774,656,
# predict 5,130,000. The hard model adds the non-trainable reward baseline (1).
PARAMETERS = {"trainable": 20_926_826, "non_trainable": 20_024_384, "total": 40_951_210}

register(
    "show_attend_tell_soft", builder="zoo.models.show_attend_tell.show_attend_tell:show_attend_tell_soft",
    family="show_attend_tell", paper=PAPER, section="§3 (eqs. 1-7), §4.2 (soft attention, eqs. 13-14), Table 1",
    task="captioning", input_contract=CONTRACT,
    paper_numbers={**_numbers("soft", SOFT), "annotation vectors (L x D)": "196 x 512 (14x14 conv5_4)"},
    parameters=PARAMETERS,
)

register(
    "show_attend_tell_hard", builder="zoo.models.show_attend_tell.show_attend_tell:show_attend_tell_hard",
    family="show_attend_tell", paper=PAPER, section="§4.1 (stochastic hard attention, eqs. 8-12), Table 1",
    task="hard_attention_captioning", input_contract=CONTRACT,
    paper_numbers={**_numbers("hard", HARD), "annotation vectors (L x D)": "196 x 512 (14x14 conv5_4)"},
    parameters={**PARAMETERS, "non_trainable": PARAMETERS["non_trainable"] + 1, "total": PARAMETERS["total"] + 1},
)
