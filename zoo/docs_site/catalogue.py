"""The dataset catalogue and the rendered notebooks of the docs site."""

from __future__ import annotations

import json
import re
from pathlib import Path

from zoo import data
from zoo.docs_site.markdown import block, cell, code, link, table


def _recipes_by_dataset(recipes) -> dict:
    out = {}
    for name, f in recipes.items():
        out.setdefault(f["dataset"], []).append((name, f["model"]))
    return out


def _standin(info) -> str:
    if not info.is_standin:
        return "no"
    return f"for {info.stands_in_for}" if info.stands_in_for else "yes, its own (not a paper's)"


def _splits(info) -> str:
    return ", ".join(f"{s} ({n if n is not None else '?'})" for s, n in info.splits.items())


def datasets_page(names, model_names, recipes) -> str:
    """One table of every registered dataset, then each dataset's info as `zoo.data.info(NAME)` prints it."""
    infos = [data.info(n) for n in names]
    by_dataset = _recipes_by_dataset(recipes)
    rows = [(link(i.name, f"#{i.name}"), code(i.task), _standin(i), i.num_classes, _splits(i), i.summary)
            for i in infos]
    parts = ["# Datasets\n",
             f"{len(infos)} registered datasets (`zoo.data.list_datasets()`). Stand-ins are generated offline and "
             "named as such: their numbers are never the paper dataset's.\n",
             table(["dataset", "task", "stand-in", "classes", "splits (examples)", "summary"], rows)]
    for i in infos:
        parts.append(f"## {i.name}\n")
        used = by_dataset.get(i.name, [])
        if used:
            parts.append("Recipes: " + ", ".join(
                f"`{r}` ([{m}](models/{m}.md))" if m in model_names else f"`{r}` ({cell(m)})" for r, m in used) + "\n")
        parts.append(block(str(i)))
    return "\n".join(parts)


def render_notebooks(notebooks_dir, out_dir) -> list[tuple[str, str]]:
    """Each notebooks/*.ipynb as Markdown with its committed outputs (figures as PNG files beside it), and
    notebooks/README.md as the section's index; returns [(title, page path relative to the docs root)]."""
    import nbformat
    from nbconvert import MarkdownExporter

    notebooks_dir, out_dir = Path(notebooks_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    exporter = MarkdownExporter()
    pages = []
    for path in sorted(notebooks_dir.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        files = f"{path.stem}_files"
        body, resources = exporter.from_notebook_node(nb, resources={"output_files_dir": files})
        for name, content in resources.get("outputs", {}).items():
            target = out_dir / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        source = f"*Rendered from [`notebooks/{path.name}`]({path.name}) with the outputs of its committed run.*\n\n"
        (out_dir / f"{path.stem}.md").write_text(source + body, encoding="utf-8")
        (out_dir / path.name).write_bytes(path.read_bytes())  # the notebook itself, to download
        pages.append((_title(nb, path.stem), f"notebooks/{path.stem}.md"))
    readme = notebooks_dir / "README.md"
    intro = readme.read_text(encoding="utf-8") if readme.is_file() else "# Notebooks\n"
    listing = "\n".join(f"- [{cell(title)}]({Path(page).name})" for title, page in pages)
    (out_dir / "index.md").write_text(f"{intro}\n\n## Rendered notebooks\n\n{listing}\n", encoding="utf-8")
    return pages


def _title(nb, default) -> str:
    for c in nb.cells:
        if c.cell_type == "markdown":
            for line in c.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return default


def notebooks_by_model(notebooks_dir, names) -> dict:
    """{model name: [notebook stems]} of the notebooks whose code names the model in quotes (zoo.get("fcn8s"))."""
    out = {}
    for path in sorted(Path(notebooks_dir).glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
        source = "\n".join("".join(c.get("source", "")) for c in cells if c.get("cell_type") == "code")
        for name in names:
            if re.search(rf"[\"']{re.escape(name)}[\"'.]", source):
                out.setdefault(name, []).append(path.stem)
    return out
