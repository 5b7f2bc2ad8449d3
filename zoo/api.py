"""The Python API: get, info, list_models, preprocessor."""

from __future__ import annotations

import dataclasses

from zoo import registry
from zoo.config_tables import check_keywords
from zoo.errors import ConfigError


def _check_kwargs(card, kwargs):
    check_keywords(card.builder, kwargs, card.name)


def get(name: str, *, weights=None, num_classes: int | None = None, **overrides):
    """Build registered model `name` and optionally load weights.

    - `name` may carry a weights tag: `get("fcn8s.voc_caffe")` is `get("fcn8s", weights="voc_caffe")`.
    - `weights`: a registered tag, or a path to a `.keras`, `.weights.h5`, `.caffemodel` or
      keras.applications `.h5` file. Loading is strict: a file for another architecture raises
      `WeightsMismatchError` listing every mismatched layer, and nothing is loaded.
    - `num_classes`: the size of the classification head. With weights of another head size,
      the body is loaded and the head layers (the card's `head_layers`) are re-initialised.
    - other keyword arguments go to the builder (e.g. `input_shape=(500, 500, 3)`).

    A weights file the runner wrote (`run/final.weights.h5`) has a sidecar recording the builder
    options of its run (num_classes, width, ...): they are the defaults here, as for `zoo eval`.
    """
    card = registry.card(name)
    _, tag = registry.split_name(name)
    if tag is not None:
        if weights is not None:
            raise ConfigError(f"{name!r} names weights {tag!r} and weights={weights!r} was given too; give one",
                              cli=f"{name!r} names weights {tag!r} and --weights {weights} was given too; give one")
        weights = tag
    from zoo import weights as weights_mod

    kwargs = {**weights_mod.recorded_options(name, weights), **overrides}
    if num_classes is not None:
        kwargs["num_classes"] = int(num_classes)
    _check_kwargs(card, kwargs)
    model = card.builder(**kwargs)
    if weights is not None:
        weights_mod.load_into(model, weights, card=card, build_kwargs=kwargs)
    return model


def preprocessor(name: str, weights: str | None = None):
    """The preprocessing layer (uint8 RGB -> network input) for a model, or for one of its weights:
    a `zoo.preprocessing.ImagePreprocessing` (Keras, imported here: describing models does not need it)."""
    from zoo.preprocessing import ImagePreprocessing

    card = registry.card(name)
    _, tag = registry.split_name(name)
    tag = weights or tag
    contract = card.input_contract
    if tag and tag in card.weights and card.weights[tag].preprocessing is not None:
        contract = card.weights[tag].preprocessing
    return ImagePreprocessing.from_contract(contract, name=f"{card.name}_preprocessing")


@dataclasses.dataclass
class ModelInfo:
    name: str
    summary: str
    family: str
    paper: str
    section: str
    task: str
    input_contract: registry.InputContract
    paper_numbers: dict
    parameters: dict
    recipes: list
    weights: dict

    def __str__(self):
        lines = [f"{self.name}: {self.summary}", f"  family:     {self.family}", f"  paper:      {self.paper}, {self.section}"]
        lines += [f"  task:       {self.task}", f"  input:      {self.input_contract.describe()}"]
        p = self.parameters
        trainable = f" ({p['trainable']:,} trainable)" if "trainable" in p else ""
        lines.append(f"  parameters: {p['total']:,}{trainable}")
        if self.paper_numbers:
            lines.append("  paper numbers (as stated in the paper):")
            lines += [f"    {k}: {v}" for k, v in self.paper_numbers.items()]
        lines.append(f"  recipes:    {', '.join(self.recipes) or '(none yet)'}")
        if self.weights:
            lines.append("  weights:")
            for tag, w in self.weights.items():
                if tag != w.tag:
                    continue  # an alias; listed with its spec below
                also = f" (also {', '.join(f'{self.name}.{a}' for a in w.aliases)})" if w.aliases else ""
                check = f"{w.hash_algorithm} checked" if w.file_hash else "no published hash: unverified"
                lines.append(f"    {self.name}.{tag}{also}: {w.format}, {check}; {w.source or w.url}")
        else:
            lines.append("  weights:    (none registered; load your own with weights=PATH)")
        return "\n".join(lines)


def info(name: str, **build_kwargs) -> ModelInfo:
    """The model card of `name`, with its parameter counts.

    Without `build_kwargs` the counts are the card's own (stated for the default arguments, checked
    against the built model by the tests): nothing is built and neither TensorFlow nor Keras is
    imported. With `build_kwargs` (e.g. `num_classes=21`) the model is built and counted.
    """
    card = registry.card(name)
    measure = build_kwargs or not card.parameters
    parameters = card.parameter_count(**build_kwargs) if measure else dict(card.parameters)
    return ModelInfo(
        name=card.name,
        summary=card.summary,
        family=card.family,
        paper=card.paper,
        section=card.section,
        task=card.task,
        input_contract=card.input_contract,
        paper_numbers=card.paper_numbers,
        parameters=parameters,
        recipes=card.recipes(),
        weights=card.weights,
    )
