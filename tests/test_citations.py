"""Docstrings, comments, error messages, recipe comments, README, docs and notebook cells cite papers,
theses, public talks and released code, never the project's internal notes (issue 19 point 8; the cards
and `zoo recipes` are checked by tests/test_registry.py with the same pattern)."""

import json
from pathlib import Path

from tests.citations import INTERNAL, internal_mentions, mentions_in_text

ROOT = Path(__file__).resolve().parents[1]


def _scanned_files():
    yield from sorted((ROOT / "zoo").rglob("*.py"))
    yield from sorted((ROOT / "zoo").rglob("*.toml"))
    yield ROOT / "README.md"
    yield from sorted((ROOT / "docs").glob("*.md"))
    yield from sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_no_internal_notes_in_code_docs_and_notebooks():
    files = list(_scanned_files())
    assert len(files) > 100 and any(f.suffix == ".ipynb" for f in files)  # the scan reaches what it should
    found = [hit for path in files for hit in internal_mentions(path, ROOT)]
    assert not found, "cite the paper, thesis, talk or release instead of:\n" + "\n".join(found)


def test_the_scan_flags_internal_notes_and_spares_ordinary_words(tmp_path):
    flagged = ["Doersch's talk, digest §B.4(b)", "talk in the Grid LSTM seed", "seed 003", "the seed's talk",
               "§3.1 (EXTERNAL, verify)", "[external: Saenko et al. 2010]", "timed in the closing note",
               "as asked in issue 13", "shared/papers/long_thesis_2016.md", "reference_code §2.2", "seeds/x.txt"]
    for text in flagged:
        assert mentions_in_text(text), text
        assert INTERNAL.search(text), text  # the cards' test (tests/test_registry.py) flags them too
    spared = ["drawn with the train seed", "the outcomes that held on every seed", "the cell prints each seed's",
              "The hex digest of a file (sha256, md5 or sha1)", "a {self.hash_algorithm} digest is 40 hex digits",
              "An ONNX Runtime CPU inference session", "sklearn.externals.joblib.", "load_external_data=False",
              "see https://github.com/BVLC/caffe/issues/3498", "random_seed 1701", "without any external data"]
    for text in spared:
        assert not mentions_in_text(text), text

    module = tmp_path / "zoo" / "m.py"
    module.parent.mkdir()
    module.write_text('"""Patches (Doersch\'s talk,\ndigest §B.4(b))."""\n\n'
                      'session = ort.InferenceSession(path)\ndigest = sha1(data)\n'
                      'raise ValueError("see the closing note")  # issue 13\n', encoding="utf-8")
    assert internal_mentions(module, tmp_path) == ["zoo/m.py:2: 'digest'", "zoo/m.py:2: '§B.4'",
                                                   "zoo/m.py:6: 'closing note'", "zoo/m.py:6: 'issue 13'"]
    notebook = tmp_path / "n.ipynb"
    notebook.write_text(json.dumps({"cells": [
        {"cell_type": "markdown", "source": ["# Title\n", "From the thesis digests.\n"]},
        {"cell_type": "code", "source": ["print(1)\n"], "outputs": [{"text": "the digest §B.2 in an output"}]},
    ]}), encoding="utf-8")
    assert internal_mentions(notebook, tmp_path) == ["n.ipynb (cell 0):2: 'digests'"]
    recipe = tmp_path / "r.toml"
    recipe.write_text('# Addition (digest §B.2 item 2)\nname = "digest"\n', encoding="utf-8")
    assert internal_mentions(recipe, tmp_path) == ["r.toml:1: 'digest'", "r.toml:1: '§B.2'"]
