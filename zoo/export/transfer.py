"""Transfer of a context-prediction tower into a detector (digest §B.4(b)): the tower's conv layers with
their inference batch norm folded in (zoo.export.fold_bn), loaded by name."""

from __future__ import annotations

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
    """The file `recipes/context_prediction/fast_rcnn_context_voc2007.toml` starts from: a trained pair
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
