"""`zoo bench`'s results: one row per measured configuration, appended to the CSV of its
environment (`results_path`; the columns in `COLUMNS`), and printed as a table.

Where the CSVs go: `--out DIR`, by default `default_out()` (the user's cache, outside the
repository); `--record` also appends the rows to the repository's committed `results/`
(`RECORD_DIR`, what scripts/perf_table.py turns into the README's Performance section)."""

from __future__ import annotations

import csv
import datetime
import os
import sys
from pathlib import Path

from zoo.bench.plan import _error

# The repository's committed results (this file is zoo/bench/results.py in a source checkout).
RECORD_DIR = Path(__file__).resolve().parents[2] / "results"
COLUMNS = [
    "model", "mode", "runtime", "batch", "input_shape", "dtype", "xla", "backend", "device", "threads",
    "params", "trainable_params", "gmacs", "gflops",
    "latency_ms_min", "latency_ms_median", "latency_ms_max", "items_per_s", "first_call_s",
    "peak_rss_mb", "base_rss_mb",
    "torch_latency_ms_median", "torch_items_per_s", "torch_peak_rss_mb", "zoo_torch_ratio",
    "warmup", "repeats", "options", "notes", "versions", "date",
]


def _row(job, result):
    macs = result.get("gmacs")
    return {
        "model": job["model"], "mode": job["mode"], "runtime": job["runtime"], "batch": job["batch"],
        "input_shape": "x".join(map(str, job["input_shape"])), "dtype": job["dtype"],
        "xla": job["xla"] or job["backend"] == "jax", "backend": job["backend"], "device": result["device"],
        "threads": job["threads"], "params": result["params"], "trainable_params": result["trainable_params"],
        "gmacs": macs, "gflops": None if macs is None else 2 * macs,
        **{k: result[k] for k in ("latency_ms_min", "latency_ms_median", "latency_ms_max", "items_per_s",
                                  "first_call_s", "peak_rss_mb", "base_rss_mb", "versions")},
        "warmup": job["warmup"], "repeats": job["repeats"],
        "options": ";".join(f"{k}={v}" for k, v in sorted({**job["options"], **_detect_option(job)}.items())),
        "notes": result.get("notes", ""),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _detect_option(job):
    """A detector's proposal count is part of its configuration (a row per count)."""
    return {"proposals": job["proposals"]} if job["mode"] == "detect" else {}


def results_path(results_dir, row):
    return Path(results_dir) / f"benchmark-{row['mode']}-{row['backend']}-{row['dtype']}-{row['device']}.csv"


def append_csv(path, rows, columns) -> None:
    """Append rows (dicts) to a CSV of `columns`, writing the header for a new file; refuse a file
    whose header differs (another format)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists() or not path.stat().st_size
    if not new:
        with open(path, newline="") as f:
            header = next(csv.reader(f), [])
        if header != list(columns):
            raise _error("ConfigError", f"{path} has other columns than this zoo bench writes "
                         "(an older format?); move it away or name another --out")
    with open(path, "a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(columns))
        if new:
            w.writeheader()
        for r in rows:
            w.writerow({k: _fmt(r.get(k)) for k in columns})


def default_out() -> Path:
    """The user's cache for benchmark CSVs: $ZOO_BENCH_DIR, else <platform cache>/zoo/bench
    ($XDG_CACHE_HOME or ~/.cache on Linux, ~/Library/Caches on macOS, %LOCALAPPDATA% on Windows)."""
    if os.environ.get("ZOO_BENCH_DIR"):
        return Path(os.environ["ZOO_BENCH_DIR"]).expanduser()
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        cache = Path(os.environ["LOCALAPPDATA"])
    elif sys.platform == "darwin":
        cache = Path.home() / "Library" / "Caches"
    else:
        cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "zoo" / "bench"


def record_dir() -> Path:
    """`--record`'s folder: the source checkout's results/ (refused for an installed package)."""
    if not RECORD_DIR.is_dir():
        raise _error("ConfigError", f"--record appends to the repository's results/, and {RECORD_DIR} does not exist "
                     "(zoo is installed, not a source checkout); drop --record and keep the CSVs of --out")
    return RECORD_DIR


def destinations(out=None, record=False):
    """The folders a run writes to: `out` (default: `default_out()`), and results/ with `record`."""
    dirs = [Path(out).expanduser() if out else default_out()]
    if record and record_dir().resolve() != dirs[0].resolve():
        dirs.append(record_dir())
    return dirs


def write_results(rows, results_dir):
    """Append rows to their environment's CSV (header written for a new file); the paths written."""
    by_path = {}
    for r in rows:
        by_path.setdefault(results_path(results_dir, r), []).append(r)
    for path, path_rows in by_path.items():
        append_csv(path, path_rows, COLUMNS)
    return list(by_path)


def _fmt(v):
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.6g}"
    return v


def format_table(rows):
    """The rows as a fixed-width text table (what `zoo bench` prints)."""
    torch_cols = any(r.get("torch_items_per_s") is not None for r in rows)
    head = ["model", "mode", "runtime", "batch", "input", "params", "GMACs", "min ms", "median ms", "max ms",
            "items/s", "peak MB"] + (["torch items/s", "torch MB", "zoo/torch"] if torch_cols else [])
    lines = []
    for r in rows:
        params = f"{r['params'] / 1e6:.2f}M" if r["params"] >= 100_000 else f"{r['params']:,}"
        cells = [r["model"], r["mode"], r["runtime"], r["batch"], r["input_shape"], params,
                 "-" if r["gmacs"] is None else f"{r['gmacs']:.3g}", f"{r['latency_ms_min']:.2f}",
                 f"{r['latency_ms_median']:.2f}", f"{r['latency_ms_max']:.2f}", f"{r['items_per_s']:.2f}",
                 f"{r['peak_rss_mb']:.0f}"]
        if torch_cols:
            t = r.get("torch_items_per_s")
            cells += ["-", "-", "-"] if t is None else [f"{t:.2f}", f"{r['torch_peak_rss_mb']:.0f}",
                                                        f"{r['zoo_torch_ratio']:.2f}"]
        lines.append([str(c) for c in cells])
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(head)]

    def fmt(cells):  # names left, numbers right
        return "  ".join(c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    return "\n".join([fmt(head), *(fmt(line) for line in lines)])
