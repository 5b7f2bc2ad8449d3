"""Progress of long work (training, evaluation, export stages, data preparation, benchmarks).

    with Progress(total=1000, desc="train", unit="step") as bar:
        for step in ...:
            bar.update(1, loss=loss)
    for batch in track(dataset, "eval", unit="batch"): ...
    with stage("convert"): converter.convert()

How it shows depends on where it goes (`mode`):
- "bar" (the stream is a terminal): one line redrawn in place, at most 10 times a second:
  `train  45% |#########           | 450/1000 [00:12<00:15, 37.5 step/s] loss 0.123`;
- "log" (a file or pipe): one line each time another `log_every` percent is done (default 10),
  and a last one with the count and the time taken (without a known total, that one only);
- "off": nothing. Chosen when the environment variable CI is set to anything but 0/false (CI
  logs keep only what the commands print themselves).
ZOO_PROGRESS=bar|log|off overrides the choice. One bar at a time: work opened (`with`) inside
other open work (the validation inside a training run) reports nothing of its own. `write(text)` prints a line
without breaking an active bar (the bar is redrawn under it). Standard library only.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import sys
import time

MODES = ("bar", "log", "off")
_ACTIVE: list = []  # the Progress objects now open, outermost first


def mode_for(stream) -> str:
    """The mode for `stream`: ZOO_PROGRESS if set, "off" under CI, "bar" on a terminal, else "log"."""
    forced = os.environ.get("ZOO_PROGRESS", "").strip().lower()
    if forced in MODES:
        return forced
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        return "off"
    isatty = getattr(stream, "isatty", None)
    return "bar" if isatty is not None and isatty() else "log"


def _clock(seconds) -> str:
    seconds = int(max(seconds, 0))
    h, rest = divmod(seconds, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60:02d}:{rest % 60:02d}"


def _rate(rate) -> str:
    return f"{rate:,.0f}" if rate >= 100 else f"{rate:.3g}"


def _metrics(metrics) -> str:
    return " ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in metrics.items())


def _length(iterable):
    """len(), or a tf.data dataset's known cardinality, else None."""
    try:
        return len(iterable)
    except TypeError:
        pass
    cardinality = getattr(iterable, "cardinality", None)
    try:
        n = int(cardinality()) if cardinality is not None else -1
    except Exception:  # noqa: BLE001 - a cardinality that cannot be computed is an unknown length
        return None
    return n if n >= 0 else None


class Progress:
    """Progress of `total` units of work (None: unknown) on `stream` (default stderr).

    `initial`: units already done before (a resumed run; the rate and ETA count only this run's).
    `log_every`: the percent step of "log" mode's lines; None for none (a caller that logs its
    own lines, as the training runner does every `train.log_every` steps).
    """

    def __init__(self, total=None, desc="", *, unit="it", stream=None, log_every=10, initial=0, mode=None):
        self.total = None if total is None else int(total)
        self.desc, self.unit, self.log_every = desc, unit, log_every
        self.stream = stream if stream is not None else sys.stderr
        self.mode = mode or mode_for(self.stream)
        self.done = self.initial = int(initial)
        self.metrics = {}
        self.start = time.monotonic()
        self._drawn_at = -math.inf  # the first update is drawn at once
        self._next_log = self._next_threshold(self.done)
        self._closed = False

    # --------------------------------------------------------------------------- updates

    def update(self, n=1, **metrics):
        """`n` more units done; `metrics` (e.g. loss=0.12) are shown beside the count."""
        self.update_to(self.done + n, **metrics)

    def update_to(self, done, **metrics):
        """`done` units done in all."""
        self.done = int(done)
        self.metrics.update(metrics)
        if self.mode == "bar":
            now = time.monotonic()
            if now - self._drawn_at >= 0.1 or (self.total is not None and self.done >= self.total):
                self._draw()
                self._drawn_at = now
        elif self.mode == "log" and self._next_log is not None and self.done >= self._next_log:
            self._emit(self.line())
            self._next_log = self._next_threshold(self.done)

    def close(self):
        if self._closed:
            return
        self._closed = True
        if self.mode == "bar":
            self._draw()
            self.stream.write("\n")
            self.stream.flush()
        elif self.mode == "log" and self.log_every is not None:
            self._emit(self.line(final=True))
        if self in _ACTIVE:
            _ACTIVE.remove(self)

    def __enter__(self):
        """Open work: other progress opened inside it (while it is open) reports nothing."""
        if _ACTIVE:
            self.mode = "off"
        _ACTIVE.append(self)
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    # --------------------------------------------------------------------------- text

    def _next_threshold(self, done):
        """The unit count of the next "log" line before the last (None: no more)."""
        if self.total is None or not self.log_every or self.total <= 0:
            return None
        target = (int(100 * done / self.total // self.log_every) + 1) * self.log_every
        count = -(-target * self.total // 100)  # the first count at or past target percent
        return None if target >= 100 or count >= self.total else count

    def line(self, final=False) -> str:
        """The progress as one line of text (what "log" mode writes)."""
        elapsed = time.monotonic() - self.start
        rate = (self.done - self.initial) / elapsed if elapsed > 0 else 0.0
        name = f"{self.desc}: " if self.desc else ""
        if self.total is None or final:
            of = f" of {self.total:,}" if self.total is not None and self.done < self.total else ""
            text = f"{name}{self.done:,}{of} {self.unit} in {_clock(elapsed)} ({_rate(rate)} {self.unit}/s)"
        else:
            eta = (self.total - self.done) / rate if rate > 0 else None
            text = (f"{name}{100 * self.done / max(self.total, 1):.0f}% ({self.done:,}/{self.total:,} {self.unit}), "
                    f"{_clock(elapsed)} elapsed, ETA {_clock(eta) if eta is not None else '?'}")
        return f"{text}  {_metrics(self.metrics)}".rstrip()

    def bar(self, width=None) -> str:
        """The progress as a terminal bar line, cut to `width` columns."""
        width = width or shutil.get_terminal_size((100, 20)).columns
        elapsed = time.monotonic() - self.start
        rate = (self.done - self.initial) / elapsed if elapsed > 0 else 0.0
        tail = f"{_metrics(self.metrics)}"
        if self.total:
            fraction = min(self.done / self.total, 1.0)
            eta = _clock((self.total - self.done) / rate) if rate > 0 else "?"
            filled = int(20 * fraction)
            text = (f"{self.desc} {100 * fraction:3.0f}% |{'#' * filled}{' ' * (20 - filled)}| "
                    f"{self.done}/{self.total} [{_clock(elapsed)}<{eta}, {_rate(rate)} {self.unit}/s] {tail}")
        else:
            text = f"{self.desc} {self.done} {self.unit} [{_clock(elapsed)}, {_rate(rate)} {self.unit}/s] {tail}"
        return text.strip()[: max(width - 1, 10)]

    def _draw(self):
        self.stream.write("\r\033[K" + self.bar())
        self.stream.flush()

    def _emit(self, text):
        print(text, file=self.stream, flush=True)


def track(iterable, desc="", *, total=None, unit="it", **options):
    """Iterate over `iterable`, reporting each item as one unit done (total: its length if known)."""
    with Progress(_length(iterable) if total is None else total, desc, unit=unit, **options) as progress:
        for item in iterable:
            yield item
            progress.update(1)


@contextlib.contextmanager
def stage(desc, stream=None):
    """A step of unknown length (a conversion): "desc ..." while it runs, then "desc: done in 00:03"
    ("bar": on one line; "log": the last line only; "off", or inside other work: nothing). A
    stage is not itself open work: progress inside it (calibration inside a conversion) shows."""
    out = stream if stream is not None else sys.stderr
    mode = "off" if _ACTIVE else mode_for(out)
    start = time.monotonic()
    if mode == "bar":
        out.write(f"\r\033[K{desc} ...")
        out.flush()
    outcome = "stopped after"
    try:
        yield
        outcome = "done in"
    finally:
        if mode != "off":
            clear = "\r\033[K" if mode == "bar" else ""
            out.write(f"{clear}{desc}: {outcome} {_clock(time.monotonic() - start)}\n")
            out.flush()


def write(text, file=None):
    """Print `text` (to stdout by default) without breaking an active bar: the bar's line is
    cleared first and drawn again after."""
    bars = [p for p in _ACTIVE if p.mode == "bar"]
    for p in bars:
        p.stream.write("\r\033[K")
        p.stream.flush()
    print(text, file=file if file is not None else sys.stdout, flush=True)
    for p in bars:
        p._draw()
