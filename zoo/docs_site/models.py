"""The model pages, the family pages and the index of the docs site, from the registry's cards.

Everything here reads metadata only (cards, recipe files, results/): no model is built, and neither
TensorFlow nor Keras is imported (tests/test_docs_site.py checks it).
"""

from __future__ import annotations

import ast
from pathlib import Path

from zoo import registry
from zoo.docs_site import results
from zoo.docs_site.markdown import Raw, block, cell, code, count, link, size, table

MODELS_DIR = Path(registry.__file__).resolve().parent / "models"
EXPORT_FORMATS = (
    ("savedmodel", "a SavedModel directory with a `serve` signature (the card's input contract)"),
    ("tflite", "a LiteRT flat buffer, fp32, or `--quantize fp16` / `--quantize int8` (int8 calibrates on a dataset)"),
    ("onnx", "through Keras's own ONNX exporter, checked in ONNX Runtime (needs `pip install 'zoo[onnx]'`)"),
)


def family_doc(family: str) -> str:
    """The docstring of zoo/models/FAMILY/__init__.py, read without importing it."""
    path = MODELS_DIR / family / "__init__.py"
    if not path.is_file():
        return ""
    return ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""


# what a family page shows first of a card's paper numbers: the paper's main metric where the card has one
HEADLINE_METRICS = ("mean IU", "mAP", "top-5", "top-1", "error", "accuracy", "acc.")


def headline(card) -> str:
    """The card's main paper number, as 'what: value' (the family pages' headline column)."""
    if not card.paper_numbers:
        return ""
    items = list(card.paper_numbers.items())
    for metric in HEADLINE_METRICS:
        found = [(k, v) for k, v in items if metric.lower() in k.lower()]
        if found:
            return f"{found[0][0]}: {found[0][1]}"
    return f"{items[0][0]}: {items[0][1]}"


def parameters_text(card) -> str:
    p = card.parameters
    if "total" not in p:
        return "not stated on the card"
    trainable = f" ({count(p['trainable'])} trainable)" if "trainable" in p else ""
    return f"{count(p['total'])}{trainable}"


def receptive_field(card, measured) -> str:
    """What the card states about the receptive field (its paper numbers) and what results/ measured (an entry
    of the model with an "rf" in pixels), else where to measure it."""
    found = [f"{v} ({k}, paper)" for k, v in card.paper_numbers.items() if "receptive field" in k.lower()]
    for e in measured.entries(card.name):
        if isinstance(e.data, dict) and "rf" in e.data:
            at = f" at {e.data['last_map']}" if "last_map" in e.data else ""
            found.append(f"{e.data['rf']} px{at} (measured: {e.file}, `{e.command}`)")
    if found:
        return Raw(cell("; ".join(found)))
    if card.input_contract.kind in ("image", "rgbd"):
        return Raw(f"not stated on the card; `zoo visualize fields {card.name}` measures it layer by layer")
    return "not stated on the card"


def model_page(card, measured, recipes, notebooks=None) -> str:
    """The page of one model: card, paper numbers, parameters, receptive field, input contract, weights,
    recipes and their targets, measured results with their commands, export formats. `notebooks`: the stems
    of the rendered notebooks that use the model (None: the notebooks were not rendered)."""
    aliases = ", ".join(f"`{a}`" for a in card.aliases)
    rows = [("family", link(card.family, f"../families/{card.family}.md")),
            ("paper", card.paper), ("section", card.section), ("task", code(card.task)),
            ("builder", code(card.builder_path)), ("aliases", Raw(aliases) if aliases else None),
            ("default classes", card.default_num_classes), ("parameters", parameters_text(card)),
            ("receptive field", receptive_field(card, measured))]
    parts = [f"# {card.name}\n", f"{cell(card.summary)}\n", table(["card", ""], rows),
             "## Input contract\n", _contract(card.input_contract),
             "## Paper numbers\n", _paper_numbers(card), "## Weights\n", _weights(card),
             "## Recipes\n", _recipes(card, recipes), "## Measured results\n", _measured(card, measured, notebooks),
             "## Export formats\n", _export(card), "## Use\n", _use(card)]
    return "\n".join(parts)


def _contract(contract) -> str:
    streams = contract.streams or (contract,)
    rows = [(s.name or "input", code(s.shape), s.dtype, s.kind, s.channel_order,
             None if s.mean is None else tuple(round(m, 3) for m in s.mean),
             None if s.std is None else tuple(round(v, 3) for v in s.std), s.min_size, ", ".join(s.sources), s.note)
            for s in streams]
    head = ["input", "shape", "dtype", "kind", "channels", "mean", "std", "min size", "made from", "note"]
    return f"{cell(contract.describe())}\n\n" + table(head, rows)


def _paper_numbers(card) -> str:
    if not card.paper_numbers:
        return "The card states no numbers from the paper.\n"
    note = f"As stated in the paper ({cell(card.paper)}, {cell(card.section)}); not measured here.\n\n"
    return note + table(["what", "value"], card.paper_numbers.items(), right=("value",))


def _weights(card) -> str:
    specs = [w for tag, w in card.weights.items() if tag == w.tag]  # each file once, not its aliases
    if not specs:
        return f"None registered; load your own with `zoo.get(\"{card.name}\", weights=PATH)`.\n"
    rows = []
    for w in specs:
        digest = code(f"{w.hash_algorithm}:{w.file_hash}") if w.file_hash else "no published hash: unverified"
        names = ", ".join(f"{card.name}.{t}" for t in (w.tag, *w.aliases))
        rows.append((names, w.format, size(w.size_bytes), digest, w.num_classes, link(w.url.rsplit("/", 1)[-1], w.url), w.source,
                     w.license))
    text = table(["name", "format", "size", "hash", "classes", "url", "source", "license"], rows)
    for w in specs:
        if w.metrics:
            items = [(what, metric, value) for what, numbers in w.metrics.items() for metric, value in numbers.items()]
            text += f"\nNumbers the releaser reports for `{card.name}.{w.tag}` (not measured here):\n\n"
            text += table(["measured (source)", "metric", "value"], items, right=("value",))
    return text


def _recipes(card, recipes) -> str:
    """`recipes`: {name: recipe_files fields} of every recipe (read once for the whole site)."""
    rows = [(code(name), f["dataset"], f["target"], code(f"zoo train {name}"))
            for name, f in recipes.items() if f["model"] == card.name]
    if not rows:
        return "No recipe trains this model yet.\n"
    return table(["recipe", "dataset", "the number it targets", "command"], rows)


def _measured(card, measured, notebooks) -> str:
    bench = measured.bench_rows(card.name)
    entries = measured.entries(card.name)
    text = ""
    if notebooks:
        text += "Used in the notebooks " + ", ".join(f"[{n}](../notebooks/{n}.md)" for n in notebooks) + ".\n\n"
    if not bench and not entries:
        return text + "No entry under `results/` is keyed by this model's name.\n"
    if bench:
        text += "Speed (`zoo bench`, see the [performance tables](../performance.md)):\n\n" + results.bench_table(bench, model_column=False)
    for e in entries:
        text += f"\n`{e.file}` → `{e.path}`, measured by `{e.command}`:\n\n" + block(e.value, "json")
    return text


def _export(card) -> str:
    free = any(s is None for s in card.input_contract.shape)
    free = free and card.input_contract.kind != "tokens"
    shape = " --input-shape H,W" if free else ""
    hint = " The input size is free: `--input-shape H,W` fixes it (TFLite needs a fixed size)." if free else ""
    rows = [(code(f), what, code(f"zoo export {card.name} --format {f} --out OUT{shape}")) for f, what in EXPORT_FORMATS]
    note = ("Every registered model's small test configuration is exported to each format and compared with "
            "Keras by tests/test_models_registry.py (for some models in the slow tier, `--run-slow`).")
    return table(["format", "what it writes", "command"], rows) + f"\n{note}{hint}\n"


def _use(card) -> str:
    tags = [t for t, w in card.weights.items() if t == w.tag]
    lines = ["import zoo", f'model = zoo.get("{card.name}")']
    if tags:
        lines.append(f'model = zoo.get("{card.name}.{tags[0]}")  # with the released weights')
    return block("\n".join(lines), "python") + "\n" + block(f"zoo info {card.name}", "sh")


def family_page(family, cards) -> str:
    doc = family_doc(family)
    papers = {c.paper for c in cards}
    shared = len(papers) == 1
    rows = [(link(c.name, f"../models/{c.name}.md"), code(c.task), c.section if shared else f"{c.paper}, {c.section}",
             parameters_text(c), headline(c)) for c in cards]
    head = ["model", "task", "section" if shared else "paper, section", "parameters", "headline paper number"]
    text = f"# {family}\n\n" + (f"{doc}\n\n" if doc else "")
    text += f"Paper: {cell(papers.pop())}.\n\n" if shared else ""
    return text + table(head, rows)


def index_page(families, datasets, notebooks) -> str:
    """`notebooks`: [(title, page)] of the rendered notebooks, None where they were not rendered."""
    n_models = sum(len(c) for c in families.values())
    rows = [(link(f, f"families/{f}.md"), ", ".join(c.name for c in cards), family_doc(f).split("\n\n")[0])
            for f, cards in families.items()]
    intro = (f"Reference Keras 3 implementations of landmark vision and sequence papers: {n_models} models in "
             f"{len(families)} families, {len(datasets)} datasets. Every page is "
             "generated from the registry's model cards, the recipe files and the committed `results/` by "
             "`zoo docs` (`python -m zoo.docs_site build`); numbers labelled *paper* are the papers', the others "
             "were measured here, each with its command.\n")
    more = "- [Datasets](datasets.md): the dataset catalogue\n"
    if notebooks is not None:
        more += f"- [Notebooks](notebooks/index.md): {len(notebooks)}, one per paper result, rendered with their outputs\n"
    more += "- [Performance](performance.md): `zoo bench` tables, each row with its command\n"
    return "# zoo\n\n" + intro + "\n" + more + "\n## Families\n\n" + table(["family", "models", "about"], rows)
