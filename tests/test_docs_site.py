"""The docs site generated from the registry (zoo/docs_site, `zoo docs`; issue 19 point 4).

One build in a fresh process (which must not import TensorFlow or Keras: the pages are metadata), then:
every card, family, notebook has its page; every link of every page resolves to a file; headless Chromium (Debian's `chromium`) renders the index and FCN-8s's page, whose text shows the
card's paper numbers and parameter count; the `zoo bench` command each table row shows parses back to
that row's configuration.
"""

import html
import html.parser
import functools
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

REPO = Path(__file__).resolve().parents[1]
pytest.importorskip("mkdocs", reason="the docs extra is not installed: pip install 'zoo[docs]'")

BUILD = """
import json, sys
from zoo.docs_site import build
report = build(sys.argv[1], src=sys.argv[2])
heavy = sorted(m for m in ("tensorflow", "keras", "jax", "torch") if m in sys.modules)
print(json.dumps({"pages": report.pages, "seconds": report.seconds, "warnings": report.warnings, "heavy": heavy}))
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("docs")
    p = subprocess.run([sys.executable, "-c", BUILD, str(tmp / "site"), str(tmp / "src")], cwd=REPO,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    return tmp / "site", json.loads(p.stdout.strip().splitlines()[-1])


class _Text(html.parser.HTMLParser):
    """The visible text and the link targets of an HTML document."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.text, self.links, self._skip = [], [], 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("script", "style")
        if tag == "a" and dict(attrs).get("href"):
            self.links.append(dict(attrs)["href"])

    def handle_endtag(self, tag):
        self._skip -= tag in ("script", "style") and self._skip > 0

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)


def _parse(text):
    parser = _Text()
    parser.feed(text)
    return " ".join(" ".join(parser.text).split()), parser.links


HREF = re.compile(r"<a\s[^>]*?href=\"([^\"]*)\"")


def _local_targets(page, links=None):
    """The files the page's relative links point to (anchors and query strings dropped); `links` default to the
    page's <a href> (a regular expression: MkDocs writes them double-quoted, and parsing 100 pages is slow)."""
    if links is None:
        links = [html.unescape(h) for h in HREF.findall(page.read_text(encoding="utf-8"))]
    out = []
    for href in links:
        parts = urlsplit(href)
        if parts.scheme or parts.netloc or not parts.path:
            continue
        out.append((href, Path(os.path.normpath(page.parent / unquote(parts.path)))))
    return out


def test_build_is_metadata_only_and_every_card_has_a_page(site):
    from zoo import registry

    out, report = site
    assert report["heavy"] == [], f"building the docs imported {report['heavy']}"
    assert report["warnings"] == [], report["warnings"]
    cards = registry.all_cards()
    missing = [c.name for c in cards if not (out / "models" / f"{c.name}.html").is_file()]
    assert not missing, f"cards without a page: {missing}"
    assert all((out / "families" / f"{c.family}.html").is_file() for c in cards)
    notebooks = sorted(p.stem for p in (REPO / "notebooks").glob("*.ipynb"))
    assert notebooks and all((out / "notebooks" / f"{n}.html").is_file() for n in notebooks)
    assert (out / "datasets.html").is_file() and (out / "performance.html").is_file()
    assert report["pages"] >= len(cards) + len({c.family for c in cards}) + len(notebooks) + 3


@functools.lru_cache(maxsize=None)
def _is_file(path):
    return path.is_file()


def test_every_link_resolves_to_a_file(site):
    """On every page (404.html, served from the site's root, links absolutely by design)."""
    out, _ = site
    broken, checked = {}, 0
    for path in sorted(out.rglob("*.html")):
        if path.name == "404.html":
            continue
        targets = _local_targets(path)
        checked += len(targets)
        missing = [href for href, target in targets if not _is_file(target)]
        if missing:
            broken[str(path.relative_to(out))] = missing[:5]
    assert not broken, f"links to no file: {broken}"
    parsed = _local_targets(out / "index.html", _parse((out / "index.html").read_text(encoding="utf-8"))[1])
    assert len(parsed) > 20 and parsed == _local_targets(out / "index.html") and checked > 1000


def _chromium():
    for name in ("chromium", "chromium-browser"):
        if shutil.which(name):
            return shutil.which(name)
    pytest.skip("Debian's chromium is not installed (apt-get install chromium; scripts/setup.sh tries as root)")


def _dom(url):
    p = subprocess.run([_chromium(), "--headless=new", "--no-sandbox", "--disable-gpu", "--dump-dom", url],
                       capture_output=True, text=True, timeout=90)
    assert p.returncode == 0, p.stderr[-2000:]
    return _parse(p.stdout)[0]


def test_chromium_renders_the_index_and_a_model_page_with_its_numbers(site):
    from zoo import registry
    from zoo.docs_site.markdown import count

    out, _ = site
    index = _dom((out / "index.html").as_uri())
    for family in {c.family for c in registry.all_cards()}:
        assert family in index
    assert f"{len(registry.all_cards())} models" in index

    card = registry.card("fcn8s")
    text = _dom((out / "models" / "fcn8s.html").as_uri())
    assert card.paper_numbers, "fcn8s's card states Table 3.2's numbers"
    for what, value in card.paper_numbers.items():
        assert f"{what} {value}" in text, (what, value)  # the row: what, then the paper's value
    assert count(card.parameters["total"]) in text and count(card.parameters["trainable"]) in text
    assert "134,489,759" in text  # the count as zoo info prints it (Table 3.1 rounds to 134M)
    assert card.input_contract.describe() in text
    for recipe in card.recipes():
        assert recipe in text
    assert "Used in the notebooks fcn" in text  # notebooks/fcn.ipynb builds zoo.get("fcn8s")


def test_a_model_page_shows_its_weights_with_size_and_hash(site):
    from zoo import registry
    from zoo.docs_site.markdown import size

    out, _ = site
    text, _ = _parse((out / "models" / "vgg16.html").read_text(encoding="utf-8"))
    specs = {w.tag: w for w in registry.card("vgg16").weights.values()}
    assert specs
    for tag, w in specs.items():
        assert f"vgg16.{tag}" in text
        assert (w.file_hash or "no published hash") in text
        assert html.unescape(size(w.size_bytes)) in text


def test_bench_rows_show_a_command_that_parses_back_to_the_row():
    from zoo.cli import _parser
    from zoo.docs_site import results

    measured = results.Measured(REPO / "results")
    rows = [r for rows in measured.csvs.values() for r in rows]
    if not rows:
        pytest.skip("no benchmark CSVs committed under results/")
    for row in rows:
        command = results.bench_command(row)
        args = _parser().parse_args(command.split()[1:])
        assert args.names == [row["model"]] and args.mode == row["mode"] and args.batch == int(row["batch"])
        shape = tuple(int(v) for v in row["input_shape"].split("x"))
        assert args.input_shape == (shape if len(shape) == 3 else None)  # others: the card's own shape
        assert (args.dtype, args.backend, args.runtime) == (row["dtype"], row["backend"], row["runtime"])
        assert bool(args.compare_torch) == bool(row.get("torch_latency_ms_median"))
        assert args.threads == int(row["threads"])


def test_a_checkout_without_results_still_builds_its_pages(tmp_path):
    from zoo.docs_site import results

    measured = results.Measured(tmp_path / "results")
    assert measured.bench_rows("fcn8s") == [] and measured.entries("fcn8s") == []
    assert "No measurements are committed" in results.performance_page(measured)


def test_building_refuses_a_folder_it_would_empty(tmp_path):
    from zoo.docs_site import build
    from zoo.errors import ConfigError

    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not empty"):
        build(tmp_path)
    with pytest.raises(ConfigError, match="checkout"):
        build(REPO)
    assert (tmp_path / "notes.txt").read_text() == "mine"
