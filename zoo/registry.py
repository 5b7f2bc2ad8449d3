"""The model registry: one `ModelCard` per registered builder.

A family's `cards.py` registers each model with `register(name, builder="module:function", ...)`,
stating the paper, the section, the input contract, the numbers the paper gives and the model's
parameter counts; the builder module (and Keras) is imported only when the model is built.
`zoo.get`, `zoo.info`, `zoo list` and the registry-parametrized tests all read from here, so a
model registered once gets the API, the CLI and the test suite for free.

Names follow timm's `arch.tag` convention: `zoo.get("fcn8s")` builds the architecture,
`zoo.get("fcn8s.voc_caffe")` also loads the weights registered under tag `voc_caffe`.
"""

from __future__ import annotations

import ast
import dataclasses
import fnmatch
import importlib
import importlib.util
import os
import pkgutil
import re
from typing import Any, Callable

from zoo.errors import DuplicateNameError, unknown_name

# Caffe's ILSVRC-2012 mean, BGR: the per-channel average of ilsvrc_2012_mean.npy, as used by
# the FCN reference code (voc_layers.py) and the VGG/AlexNet/GoogLeNet Caffe releases.
CAFFE_BGR_MEAN = (104.00698793, 116.66876762, 122.67891434)

# Models outside the package: comma-separated modules that call `register(...)` when imported
# (tests use it for their tiny models). Read on first registry access.
PLUGINS_ENV = "ZOO_PLUGINS"


@dataclasses.dataclass(frozen=True)
class InputContract:
    """What the network itself takes (the exported `serve` signature).

    `shape` is (H, W, C) for images with None for free sizes, (T, H, W, C) for clips,
    (T,) for token sequences. For images, `channel_order`, `mean` and `std` say how a uint8
    RGB picture becomes the network input: reorder channels, subtract `mean`, divide by `std`.
    `min_size` is the smallest spatial size the network accepts.

    `sources` names the dataset features the input is made from (docs/ARCHITECTURE.md, Data): "image" for
    pictures; kind "rgbd" is an image plus a "depth" map in millimetres, the network input being
    the image's channels as above and then log(depth) minus `mean[-1]` (FCN RGBD, thesis §3.4.2).
    A model with several inputs lists one contract per input in `streams`, each with the model
    input's `name`; the outer contract then only describes the whole.
    """

    shape: tuple
    dtype: str = "float32"
    kind: str = "image"  # image | rgbd | clip | tokens | vector
    channel_order: str | None = "BGR"
    mean: tuple | None = CAFFE_BGR_MEAN
    std: tuple | None = None
    min_size: int | None = None
    note: str = ""
    name: str | None = None
    sources: tuple = ("image",)
    streams: tuple = ()

    def __post_init__(self):
        if self.kind == "rgbd" and tuple(self.sources) != ("image", "depth"):
            raise ValueError(f"an rgbd input is made from ('image', 'depth'); got sources {self.sources}")
        if self.streams and any(s.name is None for s in self.streams):
            raise ValueError("every stream of a multi-input contract needs the model input's name")

    def describe(self) -> str:
        if self.streams:
            return "; ".join(f"{s.name}: {s.describe()}" for s in self.streams)
        text = f"{self.kind} {self.shape} {self.dtype}"
        if self.kind in ("image", "rgbd", "clip") and self.channel_order:
            text += f", {self.channel_order}"
            if self.mean is not None:
                text += f", minus mean {tuple(round(m, 3) for m in self.mean)}"
            if self.std is not None:
                text += f", divided by {tuple(round(s, 3) for s in self.std)}"
        if self.min_size:
            text += f", at least {self.min_size}x{self.min_size}"
        if self.note:
            text += f" ({self.note})"
        return text


# Digest algorithms a WeightsSpec may name, with their hex lengths: Caffe's model zoo readmes
# publish sha1, keras.applications md5, and new releases should publish sha256.
HASH_ALGORITHMS = {"sha256": 64, "md5": 32, "sha1": 40}


@dataclasses.dataclass(frozen=True)
class WeightsSpec:
    """A released weights file: where it comes from, how to check it, what it reaches.

    `file_hash` is the digest its releaser published, in `hash_algorithm`; None where none was
    published (the file then loads with a warning that it is unverified: never invent one).
    `preprocessing` is the input the weights were trained on, `metrics` the numbers the
    releaser reports ({"what was measured (source)": {metric: value}}), `aliases` other tags
    that name the same file (e.g. "imagenet", as keras.applications calls its weights).
    """

    tag: str
    url: str
    file_hash: str | None
    format: str  # "caffemodel" | "keras" | "keras_applications_h5"
    hash_algorithm: str = "sha256"  # sha256 | md5 | sha1
    num_classes: int | None = None
    source: str = ""  # who released it, and where the URL and hash were published
    license: str = ""
    preprocessing: InputContract | None = None  # the input the weights expect
    metrics: dict = dataclasses.field(default_factory=dict)  # released numbers, labelled as such
    size_bytes: int | None = None
    aliases: tuple = ()

    def __post_init__(self):
        length = HASH_ALGORITHMS.get(self.hash_algorithm)
        if length is None:
            raise ValueError(f"weights {self.tag!r}: hash_algorithm must be one of {', '.join(HASH_ALGORITHMS)}, "
                             f"got {self.hash_algorithm!r}")
        if self.file_hash is not None and not re.fullmatch(f"[0-9a-f]{{{length}}}", self.file_hash):
            raise ValueError(f"weights {self.tag!r}: a {self.hash_algorithm} digest is {length} lowercase hex digits, "
                             f"got {self.file_hash!r}")


@dataclasses.dataclass
class ModelCard:
    """Everything the zoo knows about one registered model.

    `builder_path` is "module:function"; the module (and Keras) is imported only when the
    builder is asked for, so listing and describing models needs neither TensorFlow nor Keras.
    `parameters` holds the counts the card states for the builder's default arguments
    ({"total": ..., "trainable": ...}), checked against the built model by the registry-parametrized
    tests; `zoo.info` reports them without building anything.
    """

    name: str
    builder_path: str
    family: str
    paper: str
    section: str
    task: str
    input_contract: InputContract
    paper_numbers: dict = dataclasses.field(default_factory=dict)
    head_layers: tuple = ()  # re-initialised when num_classes differs from the weights'
    # fnmatch patterns of layers that released weights files hold and the model may lack
    # (GoogLeNet's auxiliary classifiers loss1_*/loss2_*, used in training only)
    ignorable_layers: tuple = ()
    default_num_classes: int | None = None
    weights: dict = dataclasses.field(default_factory=dict)  # tag (and each alias) -> WeightsSpec
    aliases: tuple = ()
    hidden: bool = False  # not shown by list_models() (the tests' tiny models)
    parameters: dict = dataclasses.field(default_factory=dict)  # {"total": ..., "trainable": ...} at defaults
    description: str = ""  # one line; read from the builder's docstring when empty
    _builder: Callable[..., Any] | None = dataclasses.field(default=None, repr=False, compare=False, init=False)

    @property
    def builder(self) -> Callable[..., Any]:
        """The builder function, imported on first use (with its family's `convert` module)."""
        if self._builder is None:
            module_name, _, function = self.builder_path.partition(":")
            module = importlib.import_module(module_name)
            parts = module_name.split(".")
            if parts[:2] == ["zoo", "models"] and len(parts) > 2:
                converters = f"zoo.models.{parts[2]}.convert"  # registers Caffe layer converters
                if importlib.util.find_spec(converters) is not None:
                    importlib.import_module(converters)
            self._builder = getattr(module, function)
        return self._builder

    @property
    def summary(self) -> str:
        if self.description:
            return self.description
        doc = _docstring(self.builder_path)
        return doc.splitlines()[0] if doc else ""

    def recipes(self) -> list[str]:
        """Names of the recipes under zoo/recipes/ that train this model."""
        from zoo.recipe_files import recipes_for_model

        return recipes_for_model(self.name)

    def parameter_count(self, **kwargs) -> dict:
        """Trainable, non-trainable and total weights of the model built with `kwargs`."""
        import numpy as np

        model = self.builder(**kwargs)

        def count(ws):
            return int(sum(int(np.prod(w.shape)) for w in ws))

        return {
            "trainable": count(model.trainable_weights),
            "non_trainable": count(model.non_trainable_weights),
            "total": count(model.weights),
        }


_REGISTRY: dict[str, ModelCard] = {}
_ALIASES: dict[str, str] = {}
_loaded = False


def register(
    name: str,
    *,
    builder: str,
    family: str,
    paper: str,
    section: str,
    task: str,
    input_contract: InputContract,
    paper_numbers: dict | None = None,
    head_layers: tuple = (),
    ignorable_layers: tuple = (),
    default_num_classes: int | None = None,
    weights: tuple = (),
    aliases: tuple = (),
    hidden: bool = False,
    parameters: dict | None = None,
    description: str = "",
) -> ModelCard:
    """Register a model card under `name` (and `aliases`) and return it.

    `builder` is "module:function" (e.g. "zoo.models.vgg.vgg:vgg16"), imported on first use;
    `description` is the one-line summary, read from the builder's docstring when empty.
    """
    if not re.fullmatch(r"[\w.]+:\w+", builder):
        raise ValueError(f"register({name!r}): builder must be 'module:function', got {builder!r}")
    for key in (name, *aliases):
        if key in _REGISTRY or key in _ALIASES:
            raise DuplicateNameError(f"model name {key!r} is registered twice")
    card = ModelCard(
        name=name,
        builder_path=builder,
        family=family,
        paper=paper,
        section=section,
        task=task,
        input_contract=input_contract,
        paper_numbers=dict(paper_numbers or {}),
        head_layers=tuple(head_layers),
        ignorable_layers=tuple(ignorable_layers),
        default_num_classes=default_num_classes,
        weights=_weights_by_tag(name, weights),
        aliases=tuple(aliases),
        hidden=hidden,
        parameters=dict(parameters or {}),
        description=description,
    )
    _REGISTRY[name] = card
    for alias in aliases:
        _ALIASES[alias] = name
    return card


def _docstring(builder_path: str) -> str:
    """The docstring of "module:function", read from the source without importing it."""
    module_name, _, function = builder_path.partition(":")
    try:
        spec = importlib.util.find_spec(module_name)
    except (ImportError, ValueError):
        return ""
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return ""
    with open(spec.origin, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == function:
            return ast.get_docstring(node) or ""
    return ""


def _weights_by_tag(name, specs) -> dict:
    """{tag: spec} with each spec's aliases as further keys; a tag used twice is an error."""
    out = {}
    for spec in specs:
        for tag in (spec.tag, *spec.aliases):
            if tag in out:
                raise DuplicateNameError(f"weights tag {tag!r} of {name!r} is registered twice")
            out[tag] = spec
    return out


def _ensure_loaded():
    global _loaded
    if _loaded:
        return
    _loaded = True
    # Every package under zoo/models/ is a family: its cards.py registers its models (metadata
    # only, no Keras; tests/test_registry.py checks that every family has one).
    models_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "models")
    for info in sorted(pkgutil.iter_modules([models_dir]), key=lambda m: m.name):
        if info.ispkg and os.path.exists(os.path.join(models_dir, info.name, "cards.py")):
            importlib.import_module(f"zoo.models.{info.name}.cards")
    for module in filter(None, (m.strip() for m in os.environ.get(PLUGINS_ENV, "").split(","))):
        try:
            importlib.import_module(module)
        except ImportError as e:
            raise ImportError(f"{PLUGINS_ENV} names module {module!r}, which does not import: {e}") from e


def split_name(name: str) -> tuple[str, str | None]:
    """'fcn8s.voc_caffe' -> ('fcn8s', 'voc_caffe'); 'fcn8s' -> ('fcn8s', None)."""
    arch, _, tag = name.partition(".")
    return arch, (tag or None)


def card(name: str) -> ModelCard:
    """The ModelCard of `name` (an alias or an `arch.tag` name works too)."""
    _ensure_loaded()
    arch, _ = split_name(name)
    arch = _ALIASES.get(arch, arch)
    if arch not in _REGISTRY:
        raise unknown_name("model", arch, list(_REGISTRY) + list(_ALIASES))
    return _REGISTRY[arch]


def list_models(pattern: str = "*", *, include_hidden: bool = False, pretrained: bool = False) -> list[str]:
    """Registered model names matching the fnmatch `pattern` (by name or by alias: "vgg_a" finds vgg11), sorted.

    With `pretrained=True`, `arch.tag` names of the registered weights are listed instead
    (each file once, under its tag, not its aliases).
    """
    _ensure_loaded()
    names = []
    for name, c in _REGISTRY.items():
        if c.hidden and not include_hidden:
            continue
        if pretrained:
            names += [n for n in (f"{name}.{tag}" for tag, w in c.weights.items() if tag == w.tag)
                      if fnmatch.fnmatch(n, pattern)]
        elif any(fnmatch.fnmatch(n, pattern) for n in (name, *c.aliases)):
            names.append(name)
    return sorted(names)


def all_cards(include_hidden: bool = False) -> list[ModelCard]:
    _ensure_loaded()
    return [c for c in _REGISTRY.values() if include_hidden or not c.hidden]
