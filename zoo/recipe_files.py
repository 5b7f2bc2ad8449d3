"""Where recipes live, and which ones train a model: the TOML files under zoo/recipes/, read as text
(no TensorFlow, no Keras), so listing them and model cards stay instant."""

from __future__ import annotations

import tomllib
from pathlib import Path

from zoo.errors import ConfigError, unknown_name

RECIPES_DIR = Path(__file__).resolve().parent / "recipes"  # package data: installed with zoo


def find(name_or_path: str) -> Path:
    """A recipe file from a path or a registered name (its file stem under zoo/recipes/)."""
    p = Path(name_or_path)
    if p.suffix == ".toml" or p.exists():
        if not p.exists():
            raise ConfigError(f"recipe file {p} does not exist")
        return p
    known = {f.stem: f for f in RECIPES_DIR.rglob("*.toml")}
    if name_or_path not in known:
        raise unknown_name("recipe", name_or_path, list(known))
    return known[name_or_path]


def list_recipes() -> list[str]:
    return sorted(f.stem for f in RECIPES_DIR.rglob("*.toml"))


def recipes_for_model(model_name: str) -> list[str]:
    out = []
    for f in sorted(RECIPES_DIR.rglob("*.toml")):
        try:
            data = tomllib.loads(f.read_text())
        except tomllib.TOMLDecodeError:
            continue
        if data.get("model", {}).get("name") == model_name:
            out.append(f.stem)
    return out


def fields(name: str) -> dict:
    """{"model", "dataset", "target"} of a recipe as written (not validated): the target is its paper_target,
    else its description."""
    return _fields(find(name))


def _fields(path: Path) -> dict:
    data = tomllib.loads(path.read_text())
    info = data.get("recipe", {})
    return {"model": data.get("model", {}).get("name", "?"), "dataset": data.get("data", {}).get("name", "?"),
            "target": info.get("paper_target") or info.get("description", "")}


def all_fields() -> dict:
    """{recipe name: fields} of every recipe file that parses, each file read once."""
    out = {}
    for f in sorted(RECIPES_DIR.rglob("*.toml"), key=lambda f: f.stem):
        try:
            out[f.stem] = _fields(f)
        except tomllib.TOMLDecodeError:
            continue
    return out


def describe(name: str) -> str:
    """'NAME: MODEL on DATASET — paper target' from the recipe file as written (not validated)."""
    try:
        f = fields(name)
    except tomllib.TOMLDecodeError as e:
        return f"{name}: not valid TOML ({e})"
    return f"{name}: {f['model']} on {f['dataset']} — {f['target']}"
