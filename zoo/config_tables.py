"""Typed configuration tables: a TOML table read into a dataclass, every key and type checked.

Used by recipes (zoo.training.recipes) and by the option tables that tasks and training steps
declare ([eval], [step]). An unknown key is an error that names it (with a 'did you mean'), so a
typo never silently falls back to a default. A list field whose `metadata["items"]` is a
dataclass is a list of such tables ([[lr_mult]] in TOML).
"""

from __future__ import annotations

import dataclasses
import tomllib
import typing

from zoo.errors import ConfigError, closest_names


def build_table(cls, data: dict, path: tuple = ()):
    """Dataclass `cls` from the TOML table `data` found at `path` (for messages: ("train",))."""
    if not isinstance(data, dict):
        raise ConfigError(f"{'.'.join(path) or 'recipe'} must be a table, got {data!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for key, value in data.items():
        where = ".".join(path + (key,))
        if key not in fields:
            close = closest_names(key, fields)
            hint = f" (did you mean {'.'.join(path + (close[0],))}?)" if close else ""
            takes = ", ".join(fields) or "no keys"
            raise ConfigError(f"unknown recipe key {where!r}{hint}; {'.'.join(path) or 'the recipe'} takes: {takes}")
        ftype = hints[key]
        items = fields[key].metadata.get("items")
        if dataclasses.is_dataclass(ftype):
            kwargs[key] = build_table(ftype, value, path + (key,))
        elif items is not None:
            if not isinstance(value, list):
                raise ConfigError(f"{where} must be a list of tables ([[{where}]] in TOML)")
            kwargs[key] = [build_table(items, v, path + (f"{key}[{i}]",)) for i, v in enumerate(value)]
        else:
            kwargs[key] = coerce(value, ftype, where)
    return cls(**kwargs)


def coerce(value, ftype, where):
    """`value` as the field type `ftype` (an int where a float is expected becomes a float)."""
    origin = typing.get_origin(ftype) or ftype
    if origin is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if origin in (int, float, str, bool, list, dict) and not (
        isinstance(value, origin) and not (origin is int and isinstance(value, bool))
    ):
        raise ConfigError(f"{where} must be {origin.__name__}, got {value!r}")
    return value


def check_keywords(fn, kwargs: dict, what: str, prefix: str = "") -> None:
    """ConfigError when `fn` takes none of some `kwargs` (a builder's options): names them as `prefix`KEY."""
    import inspect

    params = inspect.signature(fn).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return
    unknown = [f"{prefix}{k}" for k in kwargs if k not in params]
    if unknown:
        close = closest_names(unknown[0].removeprefix(prefix), params)
        hint = f" (did you mean {prefix}{close[0]}?)" if close else ""
        raise ConfigError(f"{what} does not take {', '.join(map(repr, unknown))}{hint}; it takes: {', '.join(params)}")


def parse_override(text: str) -> tuple[list[str], object]:
    """'optimizer.learning_rate=1e-4' -> (['optimizer', 'learning_rate'], 1e-4). Values are TOML literals;
    anything that is not one is taken as a string."""
    if "=" not in text:
        raise ConfigError(f"--set takes key=value, got {text!r}")
    key, raw = text.split("=", 1)
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return key.strip().split("."), value
