"""Every notebook runs end to end in smoke mode (DESIGN.md, Notebooks): one test per notebooks/*.ipynb.

The kernel is this interpreter (the project's venv), through a kernel spec written for the test, so a
fresh clone needs no `ipykernel install`. A cell error fails the test with the cell's traceback.
"""

import json
import os
import pathlib
import sys

import nbclient
import nbformat
import pytest

NOTEBOOKS = sorted((pathlib.Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))
KERNEL = "zoo-tests-python3"


@pytest.fixture(scope="module")
def jupyter_path(tmp_path_factory):
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": KERNEL, "language": "python"}))
    return root


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_in_smoke_mode(path, jupyter_path, tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_PATH", str(jupyter_path))
    # The kernel starts in notebooks/: this checkout's zoo first, not the installed one (notebooks/_smoke.py checks)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(path.parents[1]),
                                                                    os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("ZOO_NOTEBOOK_MODE", "smoke")
    monkeypatch.setenv("ZOO_NOTEBOOK_RESULTS", str(tmp_path))
    committed = path.parents[1] / "results" / f"{path.stem}.json"
    before = committed.read_bytes() if committed.exists() else None

    notebook = nbformat.read(path, as_version=4)
    nbclient.NotebookClient(notebook, kernel_name=KERNEL, timeout=600,
                            resources={"metadata": {"path": str(path.parent)}}).execute()

    written = tmp_path / f"{path.stem}.json"
    assert written.exists(), f"{path.name} wrote no numbers: end it with _smoke.write_results({path.stem!r}, ...)"
    assert json.loads(written.read_text())["mode"] == "smoke"
    assert (committed.read_bytes() if committed.exists() else None) == before, "a smoke run touched results/"
