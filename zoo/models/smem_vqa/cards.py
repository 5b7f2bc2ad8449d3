"""Cards of the spatial memory networks for VQA (Xu & Saenko 2016)."""

from zoo.registry import InputContract, register

PAPER = ("Xu, Saenko, Ask, Attend and Answer: Exploring Question-Guided Spatial Attention for Visual Question "
         "Answering (ECCV 2016)")
_IMAGE = InputContract(shape=(224, 224, 3), name="image", note="GoogLeNet: BGR minus the ImageNet mean")
_QUESTION = InputContract(shape=(20,), dtype="int32", kind="tokens", channel_order=None, mean=None, name="question",
                          sources=("question",), note="word ids padded with 0")
CONTRACT = InputContract(shape=(224, 224, 3), streams=(_IMAGE, _QUESTION), note="image and question word ids")

# Measured from the builders at default arguments (the paper states no count): a frozen GoogLeNet trunk
# to inception_5b (5,973,552) and the memory network's trainable weights.
_PARAMETERS = {1: {"total": 13_682_152, "trainable": 7_708_600}, 2: {"total": 14_206_952, "trainable": 8_233_400}}

for hops in (1, 2):
    register(
        f"smem_vqa_{hops}hop", builder=f"zoo.models.smem_vqa.smem_vqa:smem_vqa_{hops}hop", family="smem_vqa",
        paper=PAPER, section=f"§3.{hops} ({'one' if hops == 1 else 'two'}-hop spatial memory network)", task="vqa",
        input_contract=CONTRACT, paper_numbers={"hops": hops}, head_layers=("memory",),
        parameters=_PARAMETERS[hops],
    )
