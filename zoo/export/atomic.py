"""Atomic placement of export artefacts.

An export is built in a temporary sibling of its target, `<target>.tmp-<pid>-<random>`, verified
there, and only then renamed into place, so the target either holds a verified export or does
not exist. On an exception or KeyboardInterrupt the temporary sibling is removed. A process
killed with SIGKILL cannot clean up: it leaves no target, but may leave a `<target>.tmp-*`
directory, which is safe to delete.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil

from zoo.errors import ExportError


def temp_name(target: str) -> str:
    return f"{target}.tmp-{os.getpid()}-{secrets.token_hex(4)}"


def refuse_existing(target: str, overwrite: bool) -> None:
    if os.path.lexists(target) and not overwrite:
        raise ExportError(
            f"{target} already exists; pass overwrite=True to replace it "
            "(the old export is removed only after the new one is verified)"
        )


@contextlib.contextmanager
def staging_dir(target: str):
    """A fresh temporary sibling directory of `target`, removed on exit whatever happens."""
    parent = os.path.dirname(os.path.abspath(target))
    os.makedirs(parent, exist_ok=True)
    tmp = temp_name(target)
    os.mkdir(tmp)
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    else:
        os.remove(path)


def place(src: str, target: str, *, overwrite: bool) -> None:
    """Rename verified `src` (file or directory) onto `target`.

    A file over a file is one atomic `os.replace`. Otherwise an existing target is first renamed
    aside (to a temporary name), the new one renamed in, and the old one deleted last; if the
    second rename fails, the old target is put back.
    """
    if not os.path.lexists(target):
        os.replace(src, target)
        return
    refuse_existing(target, overwrite)
    if os.path.isfile(src) and os.path.isfile(target) and not os.path.islink(target):
        os.replace(src, target)
        return
    aside = temp_name(target) + ".old"
    os.replace(target, aside)
    try:
        os.replace(src, target)
    except BaseException:
        os.replace(aside, target)
        raise
    _remove(aside)


def write_text(path: str, text: str) -> None:
    """Write a small text file atomically (temporary sibling, then os.replace)."""
    tmp = temp_name(path)
    try:
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    finally:
        if os.path.lexists(tmp):
            os.remove(tmp)


def tree_size(path: str) -> int:
    """Bytes in a file, or in all files under a directory."""
    if os.path.isfile(path):
        return os.path.getsize(path)
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path) for f in files)
