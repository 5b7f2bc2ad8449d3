"""What the user downloads by hand: file descriptions, default folders, instruction text.

Kept free of TensorFlow so that `zoo.data.info(...)` can print instructions cheaply; the
TFDS builder machinery that uses these lives in tfds_manual.py.
"""

from __future__ import annotations

import dataclasses
import os


@dataclasses.dataclass(frozen=True)
class ManualFile:
    """A file the user downloads into manual_dir."""

    name: str  # file name expected in manual_dir
    url: str  # where to get it
    note: str = ""  # what it holds, registration needed, ...
    optional: bool = False  # needed only for some splits (e.g. a split list)


def default_data_dir(data_dir=None) -> str:
    """TFDS's data_dir: the argument, else $TFDS_DATA_DIR, else ~/tensorflow_datasets."""
    if data_dir:
        return os.path.expanduser(os.fspath(data_dir))
    return os.environ.get("TFDS_DATA_DIR", os.path.join(os.path.expanduser("~"), "tensorflow_datasets"))


def default_manual_dir(data_dir=None, manual_dir=None) -> str:
    """The manual_dir TFDS looks in: the argument, else <data_dir>/downloads/manual."""
    if manual_dir:
        return os.path.expanduser(os.fspath(manual_dir))
    return os.path.join(default_data_dir(data_dir), "downloads", "manual")


def prepare_command(name: str, manual_dir=None, data_dir=None) -> str:
    cmd = f"python -m zoo.data prepare {name} --manual_dir {manual_dir or 'DIR'}"
    return cmd + (f" --data_dir {data_dir}" if data_dir else "")


def manual_instructions(name: str, files, extra: str = "") -> str:
    """The text of a builder's MANUAL_DOWNLOAD_INSTRUCTIONS and of zoo.data.info(name).instructions."""
    lines = [
        "Download into your manual_dir (default <data_dir>/downloads/manual; data_dir default ~/tensorflow_datasets):"
    ]
    for f in files:
        note = f" ({f.note})" if f.note else ""
        lines.append(f"  {f.name}{' [optional]' if f.optional else ''}: {f.url}{note}")
    if extra:
        lines.append(extra.strip())
    lines.append(f"Then run: {prepare_command(name)} (or the first zoo.data.load(..., manual_dir=DIR) prepares it).")
    return "\n".join(lines)
