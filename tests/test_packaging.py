"""`pip install .` gives a working zoo: the wheel is built from the tracked files, installed into a fresh
virtual environment, and its `zoo` command lists, describes and trains a recipe from outside the repository.

The fresh environment borrows this venv's third-party packages through a .pth line (installing TensorFlow
anew would take minutes); a .pth line adds a path without running that path's own .pth files, so this
checkout's editable install is not seen, and the test checks that `zoo` is imported from the wheel."""

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


# without the tests' PYTHONPATH (this checkout, whose zoo.egg-info pip would take for an installed zoo)
CLEAN_ENV = {**{k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "ZOO_PLUGINS")}, "TF_CPP_MIN_LOG_LEVEL": "3"}


def _run(*cmd, cwd, env=CLEAN_ENV, timeout=600):
    p = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert p.returncode == 0, f"{cmd}: {p.stdout[-2000:]}\n{p.stderr[-3000:]}"
    return p.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, text=True, check=True)
    for name in filter(None, tracked.stdout.split("\0")):
        if (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", tmp / "dist", source,
         cwd=tmp)
    wheel = next((tmp / "dist").glob("zoo-*.whl"))
    venv = tmp / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp)
    python = venv / "bin" / "python"
    _run(sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", "--no-index", wheel, cwd=tmp)
    site = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp).strip())
    (site / "borrowed_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv, site, CLEAN_ENV, tmp


def test_the_wheel_holds_the_package_and_its_recipes(installed):
    venv, site, env, tmp = installed
    where = _run(venv / "bin" / "python", "-c", "import zoo; print(zoo.__file__)", cwd=tmp, env=env)
    assert Path(where.strip()).is_relative_to(site), where
    modules = sorted(str(p.relative_to(REPO)) for p in (REPO / "zoo").rglob("*.py"))
    assert [m for m in modules if not (site / m).is_file()] == []  # a folder without __init__.py is left out
    shipped = sorted(p.stem for p in (site / "zoo" / "recipes").rglob("*.toml"))
    assert shipped == sorted(p.stem for p in (REPO / "zoo" / "recipes").rglob("*.toml")) and len(shipped) > 100


def test_the_installed_zoo_command_lists_describes_and_trains(installed):
    venv, site, env, tmp = installed
    zoo = venv / "bin" / "zoo"
    assert "fcn8s" in _run(zoo, "list", "fcn*", cwd=tmp, env=env)
    assert "Table 3.2" in _run(zoo, "info", "fcn8s", cwd=tmp, env=env)
    assert "lenet5_digits_standin" in _run(zoo, "recipes", "lenet5*", cwd=tmp, env=env)
    out = _run(zoo, "train", "lenet5_digits_standin", "--max-steps", "2", "--workdir", tmp / "run", cwd=tmp, env=env)
    assert (tmp / "run").is_dir() and "step" in out.lower(), out[-1000:]
