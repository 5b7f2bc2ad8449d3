"""What the docs site shows of results/: the `zoo bench` CSVs (as tables with each row's command) and the
notebooks' JSON numbers that belong to one model (any entry keyed by the model's name)."""

from __future__ import annotations

import csv
import dataclasses
import importlib.util
import json
from pathlib import Path

from zoo.docs_site.markdown import cell, code, table

ROOT = Path(__file__).resolve().parents[2]
PEER_SUFFIX = "_latency_ms_median"  # torch_latency_ms_median, and any further peer's column of that form
MAX_JSON_CHARS = 1500


def perf_table_module(root=ROOT):
    """scripts/perf_table.py (the README's performance section), whose row selection the site reuses."""
    path = Path(root) / "scripts" / "perf_table.py"
    if not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location("zoo_perf_table", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _latest_rows(path, perf):
    if perf is not None:
        return perf.latest_rows(path)
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def peers(rows) -> list[str]:
    """The peer runtimes that have numbers in `rows` (torch, ...), from the CSV's column names."""
    names = {k[: -len(PEER_SUFFIX)] for r in rows for k, v in r.items() if k.endswith(PEER_SUFFIX) and v}
    return sorted(names)


def bench_command(row) -> str:
    """The `zoo bench` command line that measures this CSV row's configuration."""
    parts = ["zoo bench", row["model"], "--mode", row["mode"], "--batch", row["batch"]]
    if row.get("input_shape", "").count("x") == 2:  # --input-shape is H,W,C; clips and tokens ran at the card's shape
        parts += ["--input-shape", row["input_shape"].replace("x", ",")]
    if row.get("dtype", "float32") != "float32":
        parts += ["--dtype", row["dtype"]]
    if row.get("backend", "tensorflow") != "tensorflow":
        parts += ["--backend", row["backend"]]
    elif row.get("xla") == "True":
        parts.append("--xla")
    if row.get("runtime", "keras") != "keras":
        parts += ["--runtime", row["runtime"]]
    if row.get("torch" + PEER_SUFFIX):
        parts.append("--compare-torch")
    for option in filter(None, (row.get("options") or "").split(";")):
        key, _, value = option.partition("=")
        parts += ["--proposals", value] if key == "proposals" else ["--set", option]
    for key in ("threads", "repeats", "warmup"):
        if row.get(key):
            parts += [f"--{key}", row[key]]
    return " ".join(parts)


def _ms(text):
    return "–" if text in ("", None) else f"{float(text):.1f}"


def bench_table(rows, *, model_column=True) -> str:
    """model, mode, runtime, batch, input, dtype, median ms, each peer's ms and zoo/peer ratio, command
    (a model's own page leaves out the model column)."""
    names = peers(rows)
    head = ["model", "mode", "runtime", "batch", "input", "dtype", "median ms"]
    for p in names:
        head += [f"{p} ms", f"zoo/{p}"]
    head.append("command")
    out = []
    for r in rows:
        line = [r["model"], r["mode"], r["runtime"], r["batch"], r["input_shape"], r["dtype"], _ms(r["latency_ms_median"])]
        for p in names:
            ratio = r.get(f"zoo_{p}_ratio")
            line += [_ms(r.get(p + PEER_SUFFIX)), "–" if not ratio else f"{float(ratio):.2f}"]
        out.append((*line, code(bench_command(r))))
    if not model_column:
        head, out = head[1:], [row[1:] for row in out]
    right = {"batch", "median ms", *(f"{p} ms" for p in names), *(f"zoo/{p}" for p in names)}
    return table(head, out, right=right)


@dataclasses.dataclass(frozen=True)
class Entry:
    file: str  # results/NAME.json
    path: str  # the keys down to the entry
    value: str  # the entry as JSON (shortened)
    command: str
    data: object = None  # the entry itself


class Measured:
    """The committed results/ of a checkout: benchmark rows and notebook JSON entries, read once."""

    def __init__(self, results_dir):
        self.dir = Path(results_dir)
        self.perf = perf_table_module(self.dir.parent)
        self.csvs = {p: _latest_rows(p, self.perf) for p in sorted(self.dir.glob("benchmark-*.csv"))
                     if not p.name.startswith("benchmark-input-")}
        self.jsons = {}
        for p in sorted(self.dir.glob("*.json")):
            try:
                self.jsons[p] = json.loads(p.read_text())
            except (OSError, ValueError):
                continue

    def bench_rows(self, model) -> list[dict]:
        return [r for rows in self.csvs.values() for r in rows if r.get("model") == model]

    def entries(self, model) -> list[Entry]:
        out = []
        for path, data in self.jsons.items():
            top = data.get("command") if isinstance(data, dict) else None
            default = top or f"notebooks/{path.stem}.ipynb in full mode (this JSON records no command)"
            for keys, value, command in _find(data, model, (), default):
                text = json.dumps(value, ensure_ascii=False)
                if len(text) > MAX_JSON_CHARS:
                    text = text[:MAX_JSON_CHARS] + " ... (shortened; the whole entry is in the file)"
                out.append(Entry(f"results/{path.name}", ".".join(keys), text, command, value))
        return out


def _find(data, key, keys, command):
    """(keys, value, command) of every entry named `key` in nested dicts; an entry's own "command" wins."""
    if not isinstance(data, dict):
        return
    command = data.get("command") if isinstance(data.get("command"), str) else command
    for k, v in data.items():
        if k == key:
            yield (*keys, k), v, (v.get("command") if isinstance(v, dict) and "command" in v else command)
        elif isinstance(v, dict):
            yield from _find(v, key, (*keys, k), command)


def performance_page(measured) -> str:
    perf = measured.perf
    intro = ("Measured with `zoo bench` on synthetic inputs, each configuration in a fresh process; the latest row "
             "of each configuration, from `results/benchmark-*.csv`. A peer column (torch: the PyTorch twin of "
             "zoo/bench/torch_twins.py) is the same work in that runtime; zoo/peer > 1 means zoo is faster. "
             "The README's performance section (scripts/perf_table.py) adds GMACs, throughput and peak memory.\n")
    parts = ["# Performance\n", intro]
    for path, rows in measured.csvs.items():
        if not rows:
            continue
        r = rows[0]
        versions = ", ".join(dict.fromkeys(v for row in rows for v in row.get("versions", "").split(";") if v))
        dates = sorted(row["date"][:10] for row in rows)
        parts.append(f"## {r['mode']} · {r['backend']} · {r['dtype']} · {r['device']}\n")
        when = dates[0] if dates[0] == dates[-1] else f"{dates[0]} to {dates[-1]}"
        parts.append(f"`{path.name}`; {cell(versions)}; measured {when}.\n")
        parts.append(bench_table(rows))
        notes = [f"- {row['model']}, batch {row['batch']}: {cell(row['notes'])}" for row in rows if row.get("notes")]
        parts += ["\n".join(notes) + "\n"] if notes else []
    inputs = sorted(measured.dir.glob("benchmark-input-*.csv"))
    if perf is not None and inputs:
        parts += ["## Input pipelines\n", *(perf.input_table(p) for p in inputs)]
    if len(parts) == 2:
        parts.append("No measurements are committed under `results/` yet.\n")
    return "\n".join(parts)
