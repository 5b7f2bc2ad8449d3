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
