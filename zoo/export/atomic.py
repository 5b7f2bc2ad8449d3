"""Atomic placement of export artefacts.

An export is built in a temporary sibling of its target, `<target>.tmp-<pid>-<random>`, verified
there, and only then renamed into place, so the target either holds a verified export or does
not exist. On an exception or KeyboardInterrupt the temporary sibling is removed. A process
killed with SIGKILL cannot clean up: it leaves no target, but may leave a `<target>.tmp-*`
directory; the next export to the same target deletes those of processes no longer running
(`remove_leftovers`), and puts back an old export that a killed replacement had set aside.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import secrets
import shutil

from zoo.errors import ExportError


def temp_name(target: str) -> str:
    return f"{target}.tmp-{os.getpid()}-{secrets.token_hex(4)}"


def refuse_existing(target: str, overwrite: bool) -> None:
    if os.path.lexists(target) and not overwrite:
        why = "(the old export is removed only after the new one is verified)"
        raise ExportError(f"{target} already exists; pass overwrite=True to replace it {why}",
                          cli=f"{target} already exists; pass --overwrite to replace it {why}")


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_leftovers(target: str) -> list:
    """Delete the `<target>.tmp-PID-*` folders and files of export processes that are no longer running (killed
    with SIGKILL); an old export such a process had set aside (`.old`) goes back to `target` if that is empty.
    Returns the paths removed or restored."""
    done = []
    pattern = re.compile(re.escape(os.path.basename(target)) + r"\.tmp-(\d+)-[0-9a-f]+(\.old)?$")
    for path in sorted(glob.glob(glob.escape(target) + ".tmp-*")):
        match = pattern.match(os.path.basename(path))
        if match is None or _running(int(match.group(1))):
            continue
        if match.group(2) and not os.path.lexists(target):
            os.replace(path, target)
        else:
            _remove(path)
        done.append(path)
    return done


def _unwritable(target: str, error: BaseException, tmp: str | None) -> ExportError:
    """An ExportError naming the path the caller gave (not the temporary sibling) and why it cannot be written."""
    parent = os.path.dirname(os.path.abspath(target))
    blocker = next((p for p in _ancestors(parent) if os.path.exists(p) and not os.path.isdir(p)), None)
    if blocker is not None:
        why = f"{blocker} is a file, not a folder"
    else:
        why = getattr(error, "strerror", None) or str(error)
        why = why.replace(tmp, target) if tmp else why
    return ExportError(f"cannot write the export to {target}: {why}. Choose another output path "
                       "(nothing was written there)")


def _ancestors(path: str):
    while True:
        yield path
        up = os.path.dirname(path)
        if up == path:
            return
        path = up


@contextlib.contextmanager
def staging_dir(target: str):
    """A fresh temporary sibling directory of `target`, removed on exit whatever happens. Leftovers of killed
    exports to the same target are removed first; a target that cannot be written is an ExportError naming it."""
    parent = os.path.dirname(os.path.abspath(target))
    tmp = None
    try:
        os.makedirs(parent, exist_ok=True)
        remove_leftovers(target)
        tmp = temp_name(target)
        os.mkdir(tmp)
    except OSError as e:
        raise _unwritable(target, e, None) from e
    try:
        yield tmp
    except OSError as e:
        raise _unwritable(target, e, tmp) from e
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
