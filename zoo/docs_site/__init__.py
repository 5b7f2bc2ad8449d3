"""The documentation site, generated from the registry.

    zoo docs [--out site]                     # or: python -m zoo.docs_site build --out site
    python -m zoo.docs_site build --out site --no-notebooks

Markdown pages are written from metadata only: the model cards (zoo.registry, which never imports
Keras), the recipe files, the dataset infos, results/*.json and results/benchmark-*.csv, and the
notebooks with their committed outputs; then MkDocs turns them into a static site. A page per family
and per model (card, paper numbers, parameters, receptive field, input contract, weights with size
and hash, recipes with the number each targets, measured results with their commands, export
formats), the dataset catalogue, the rendered notebooks and the performance tables.

MkDocs rather than Sphinx: the pages are card metadata turned into Markdown by this package, with no
extension code; Sphinx's strength, autodoc over docstrings, is not what these pages show. The built-in
readthedocs theme gives the side navigation 100-odd pages need. Links are plain files
(`use_directory_urls: false`), so the site opens from disk (the search box needs it served over HTTP:
`python -m http.server -d site`). Needs the docs extra: `pip install 'zoo[docs]'`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# the readthedocs theme caps the text at 800 px: the cards' tables need the width of the window
WIDE_CSS = ".wy-nav-content { max-width: none; }\n.wy-table-responsive table td { white-space: normal; }\n"


@dataclasses.dataclass
class BuildReport:
    out: Path
    pages: int  # HTML pages MkDocs wrote
    seconds: float
    warnings: list


def write_sources(src, site_dir, *, root=ROOT, notebooks=True) -> dict:
    """Write the Markdown pages under SRC/docs and SRC/mkdocs.yml; return the nav."""
    from zoo import data, recipe_files, registry
    from zoo.docs_site import catalogue, models, results

    src, root = Path(src), Path(root)
    docs = src / "docs"
    if docs.exists():
        shutil.rmtree(docs)
    for sub in ("models", "families"):
        (docs / sub).mkdir(parents=True)
    families = {}
    for card in sorted(registry.all_cards(), key=lambda c: (c.family, c.name)):
        families.setdefault(card.family, []).append(card)
    measured = results.Measured(root / "results")
    recipes = recipe_files.all_fields()
    used = catalogue.notebooks_by_model(root / "notebooks", registry.list_models()) if notebooks else {}
    for cards in families.values():
        for card in cards:
            page = models.model_page(card, measured, recipes, used.get(card.name))
            (docs / "models" / f"{card.name}.md").write_text(page, encoding="utf-8")
    for family, cards in families.items():
        (docs / "families" / f"{family}.md").write_text(models.family_page(family, cards), encoding="utf-8")
    dataset_names = data.list_datasets()
    model_names = {c.name for cards in families.values() for c in cards}
    (docs / "datasets.md").write_text(catalogue.datasets_page(dataset_names, model_names, recipes), encoding="utf-8")
    (docs / "performance.md").write_text(results.performance_page(measured), encoding="utf-8")
    pages = catalogue.render_notebooks(root / "notebooks", docs / "notebooks") if notebooks else None
    (docs / "index.md").write_text(models.index_page(families, dataset_names, pages), encoding="utf-8")
    nav = [{"Home": "index.md"},
           {"Models": [{f: [{"Overview": f"families/{f}.md"}, *({c.name: f"models/{c.name}.md"} for c in cards)]}
                       for f, cards in families.items()]},
           {"Datasets": "datasets.md"}]
    if notebooks:
        nav.append({"Notebooks": [{"About the notebooks": "notebooks/index.md"}, *({t: p} for t, p in pages)]})
    nav.append({"Performance": "performance.md"})
    config = {"site_name": "zoo", "site_description": "Reference Keras 3 implementations of landmark papers",
              "docs_dir": "docs", "site_dir": str(Path(site_dir).resolve()), "use_directory_urls": False,
              "theme": {"name": "readthedocs", "navigation_depth": 3}, "nav": nav,
              "markdown_extensions": ["tables", "toc", "fenced_code"], "extra_css": ["extra.css"]}
    (docs / "extra.css").write_text(WIDE_CSS, encoding="utf-8")
    (src / "mkdocs.yml").write_text(json.dumps(config, indent=1), encoding="utf-8")  # JSON is YAML
    return nav


class _Warnings(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def _check_out(out, root):
    """MkDocs empties the site folder before writing: refuse one that holds anything but an earlier build."""
    from zoo.errors import ConfigError

    out, root = out.resolve(), root.resolve()
    if out == root or out in root.parents:
        raise ConfigError(f"--out {out} holds the zoo checkout, which building would delete; name a new folder")
    if out.is_dir() and any(out.iterdir()) and not (out / "sitemap.xml").is_file():
        raise ConfigError(f"--out {out} is not empty and not a site built before (building empties it); "
                          "name a new or empty folder")


def build(out, *, src=None, root=ROOT, notebooks=True) -> BuildReport:
    """Generate the pages and build the site into OUT (MkDocs), returning what was built and how long it took."""
    try:
        from mkdocs.commands.build import build as mkdocs_build
        from mkdocs.config import load_config
    except ImportError:
        from zoo.errors import ConfigError

        raise ConfigError("building the docs needs MkDocs: pip install 'zoo[docs]'") from None
    _check_out(Path(out), Path(root))
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="zoo-docs-") as tmp:
        src = Path(src) if src is not None else Path(tmp)
        write_sources(src, out, root=root, notebooks=notebooks)
        handler = _Warnings()
        logger = logging.getLogger("mkdocs")
        logger.addHandler(handler)
        try:
            mkdocs_build(load_config(str(src / "mkdocs.yml")))
        finally:
            logger.removeHandler(handler)
    pages = sum(1 for p in Path(out).rglob("*.html") if p.name not in ("404.html", "search.html"))
    return BuildReport(Path(out), pages, time.perf_counter() - start, handler.messages)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m zoo.docs_site", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("build", help="generate the pages and build the static site")
    add_arguments(s)
    args = p.parse_args(argv)
    return run(args)


def add_arguments(parser) -> None:
    parser.add_argument("--out", default="site", help="where the HTML goes (default: site)")
    parser.add_argument("--src", help="keep the generated Markdown and mkdocs.yml in this folder (default: a temporary one)")
    parser.add_argument("--no-notebooks", dest="notebooks", action="store_false", help="skip rendering the notebooks")


def run(args) -> int:
    report = build(args.out, src=args.src, notebooks=args.notebooks)
    for message in report.warnings:
        print(f"warning: {message}", file=sys.stderr)
    print(f"{report.pages} pages in {report.out.resolve()}/index.html ({report.seconds:.1f} s); the search box "
          f"works when served: python -m http.server -d {args.out}")
    return 0
