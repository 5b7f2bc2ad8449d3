"""Transfer of a self-supervised network's conv layers into a supervised one, with their inference batch
norm folded in (zoo.export.fold_bn), loaded by name: a context-prediction tower into a detector (Doersch
et al. ICCV 2015, the R-CNN pre-training experiment); a BiGAN's AlexNet encoder into the release's
AlexNet (Donahue thesis §5.3.3)."""

from __future__ import annotations

from pathlib import Path

from zoo.export.fold_bn import folded_weights
from zoo.models.context_prediction.pair import CONVS
from zoo.weights import assign_named


def tower_weights(pair_model, layers=tuple(c[0] for c in CONVS)) -> dict:
    """{conv name: [kernel, bias]} of the pair model's shared tower, each conv's BN folded in."""
    tower = pair_model.get_layer("tower")
    return {name: list(folded_weights(tower.get_layer(name), tower.get_layer(f"{name}_bn"))) for name in layers}


def load_tower(pair_model, detector) -> dict:
    """Load the folded tower convs into `detector` (e.g. zoo.models.context_prediction.detection.
    fast_rcnn_context); its other layers keep their initialisation. Mis-shaped layers (CaffeNet's
    256-filter conv2) raise WeightsMismatchError. Returns assign_named's report."""
    return assign_named(detector, tower_weights(pair_model), partial=True, source="context-prediction tower")


def write_detector_init(pair_weights, out_path, *, width=1.0, num_classes=21, fc_divisor=1, pair_options=None,
                        overwrite=False) -> dict:
    """The file `zoo/recipes/context_prediction/fast_rcnn_context_voc2007.toml` starts from: a trained pair
    network's weights (`pair_weights`, e.g. the runner's final.weights.h5 of
    context_prediction_textures_standin or an ImageNet run) with its tower's convs folded into a
    `fast_rcnn_context` of the same `width`, saved as that detector's `out_path` (.weights.h5); fc6, fc7 and
    the heads keep their fresh initialisation (the talk: "Pre-train on relative-position task, w/o labels",
    then the R-CNN pipeline). `pair_options`: the pair network's build options (patch_size, fc). Returns
    load_tower's report."""
    import os

    from zoo.errors import ConfigError
    from zoo.models.context_prediction.detection import fast_rcnn_context
    from zoo.models.context_prediction.pair import context_prediction_alexnet

    if not str(out_path).endswith(".weights.h5"):
        raise ConfigError(f"write the detector's initialisation to a .weights.h5 file, not {out_path!r}")
    if os.path.exists(out_path) and not overwrite:
        raise ConfigError(f"{out_path} exists; pass overwrite=True to replace it")
    pair = context_prediction_alexnet(width=width, **(pair_options or {}))
    pair.load_weights(pair_weights)
    detector = fast_rcnn_context(num_classes=num_classes, width=width, fc_divisor=fc_divisor)
    report = load_tower(pair, detector)
    tmp = f"{str(out_path)[:-len('.weights.h5')]}.tmp{os.getpid()}.weights.h5"
    detector.save_weights(tmp)
    os.replace(tmp, out_path)
    return report


def bigan_encoder_weights(bigan_model) -> dict:
    """{conv1..conv5: [kernel, bias]} of a bigan_alexnet (or bigan_alexnet_release) model's encoder, each conv's BN
    folded in; a conv without BN (the release's conv1) gets a zero bias, as the release's export_params.py."""
    import numpy as np

    encoder = bigan_model.get_layer("encoder")
    names = {layer.name for layer in encoder.layers}
    out = {}
    for i in range(1, 6):
        conv = encoder.get_layer(f"conv{i}")
        if f"conv{i}_bn" in names:
            out[f"conv{i}"] = list(folded_weights(conv, encoder.get_layer(f"conv{i}_bn")))
        else:
            kernel = np.asarray(conv.kernel)
            bias = np.asarray(conv.bias) if conv.use_bias else np.zeros(kernel.shape[-1], kernel.dtype)
            out[f"conv{i}"] = [kernel, bias]
    return out


def load_bigan_encoder(bigan_model, classifier) -> dict:
    """Load the folded encoder convs into `classifier` (zoo.models.bigan.transfer.bigan_alexnet_transfer, or
    any net with conv1..conv5 of those shapes); its other layers keep their initialisation."""
    return assign_named(classifier, bigan_encoder_weights(bigan_model), partial=True, source="BiGAN encoder")


def export_bigan_encoder(bigan_weights, out, bigan_model: str = "bigan_alexnet", **transfer_options) -> Path:
    """A bigan_alexnet run's weights file -> a bigan_alexnet_transfer weights file (conv1-conv5 from the folded
    encoder, fc6-fc8 at their fresh initialisation) with its sidecar, for a transfer recipe's model.weights.
    `transfer_options` are bigan_alexnet_transfer's (num_classes, input_shape, fc_units; train_from does not
    change the weights). `bigan_model` is the card the weights belong to: bigan_alexnet, or bigan_alexnet_release
    (a file `zoo convert bigan_alexnet_release` wrote from the release's .jl weights)."""
    import json

    from zoo import registry
    from zoo.weights import load_into, recorded_options, sidecar_path

    bigan_card, net_card = registry.card(bigan_model), registry.card("bigan_alexnet_transfer")
    options = recorded_options(bigan_model, bigan_weights)
    bigan = bigan_card.builder(**options)
    load_into(bigan, bigan_weights, card=bigan_card, build_kwargs=options)
    net = net_card.builder(**transfer_options)
    load_bigan_encoder(bigan, net)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name.replace(".weights.h5", ".tmp.weights.h5"))
    net.save_weights(tmp)
    tmp.replace(out)
    sidecar_path(out).write_text(json.dumps({"model": "bigan_alexnet_transfer", "options": transfer_options,
                                             "source": str(bigan_weights), "bigan_model": bigan_model,
                                             "bigan_options": options}, indent=2))
    return out


def main(argv=None):
    import argparse

    parser = argparse.ArgumentParser(description="A BiGAN run's encoder as the transfer AlexNet's initial weights "
                                                 "(Donahue thesis §5.3.3), BN folded into the convs")
    parser.add_argument("bigan_weights", help="a bigan_alexnet weights file (e.g. runs/bigan_alexnet_imagenet/"
                                              "final.weights.h5)")
    parser.add_argument("out", help="the bigan_alexnet_transfer weights file to write (*.weights.h5)")
    parser.add_argument("--bigan-model", default="bigan_alexnet", choices=("bigan_alexnet", "bigan_alexnet_release"),
                        help="the card of bigan_weights (bigan_alexnet_release: the release's weights after "
                             "zoo convert)")
    args = parser.parse_args(argv)
    if not args.out.endswith(".weights.h5"):
        parser.error(f"out must end in .weights.h5, got {args.out!r}")
    print(f"wrote {export_bigan_encoder(args.bigan_weights, args.out, bigan_model=args.bigan_model)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
