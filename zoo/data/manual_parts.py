"""Parts of a release the user puts in manual_dir, each under one of several names: a plain file, the
extracted folder, or the archive as downloaded (read in place).

`ManualArchiveBuilder.manual_paths` wants one exact file per part. Some releases are used both ways: COCO's
train2014.zip or its extracted train2014/ folder; VQA's questions JSON or the official zip that holds it;
DAQUAR's nyu_depth_images.tar or the folder it unpacks to. A `ReleasePart` lists the names a part may have;
`locate(parts, manual_dir, ...)` finds every part or raises one DatasetNotFoundError naming each missing
part, where to download it, where to put it and the prepare command. A located part (`PartReader`) reads a
file by its base name (the releases' names are unique: COCO_train2014_000000000009.jpg, image12.png),
whatever folder it sits in inside the archive.

Light at import (no TensorFlow): dataset modules describe their parts with it; the archive reader
(zoo.data.tfds_manual.Archive) is imported only when a part is opened.
"""

from __future__ import annotations

import dataclasses
import os

from zoo.data.manual import ManualFile, manual_instructions, prepare_command
from zoo.errors import CorruptRecordError, DatasetNotFoundError

ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz")


@dataclasses.dataclass(frozen=True)
class ReleasePart:
    """One part of a release: accepted under any of `names` in manual_dir (a folder name ends with "/").

    `member`: for a single file (a JSON, a text file), its base name, given as itself or inside an
    archive among `names`; None for a collection of files (images) read by base name.
    """

    what: str
    names: tuple
    url: str
    note: str = ""
    member: str | None = None

    def manual_file(self) -> ManualFile:
        """The part as a line of the instructions (zoo.data.manual.manual_instructions)."""
        return ManualFile(" or ".join(self.names), self.url, f"{self.what}; {self.note}" if self.note else self.what)


def instructions(name: str, parts, extra: str = "") -> str:
    """The text of zoo.data.info(name).instructions and of the builder's MANUAL_DOWNLOAD_INSTRUCTIONS."""
    return manual_instructions(name, [p.manual_file() for p in parts], extra)


class PartReader:
    """A located part: a plain file, a folder, or an archive (zip / tar, random access)."""

    def __init__(self, part: ReleasePart, path: str):
        self.part, self.path = part, path
        self._archive = self._index = None
        if os.path.isfile(path) and path.endswith(ARCHIVE_SUFFIXES):
            from zoo.data.tfds_manual import open_archive

            self._archive = open_archive(path)
            self._index = {}
            for member in self._archive.names():
                self._index.setdefault(os.path.basename(member), member)

    def where(self, base_name: str) -> str:
        """How an error names `base_name` in this part."""
        if self._archive is not None:
            return f"{self.path}:{self._index.get(base_name, base_name)}"
        return os.path.join(self.path, base_name) if os.path.isdir(self.path) else self.path

    def read(self, base_name: str) -> bytes | None:
        """The bytes of the file named `base_name` in this part, or None when it has none."""
        if self._archive is not None:
            member = self._index.get(base_name)
            return None if member is None else self._archive.read(member)
        path = os.path.join(self.path, base_name) if os.path.isdir(self.path) else self.path
        if not os.path.isfile(path) or os.path.basename(path) != base_name:
            return None
        with open(path, "rb") as f:
            return f.read()

    def read_member(self) -> bytes:
        """The single file of a part with a `member`: the file itself when given as a plain file (under any of
        the part's names), else the member of the archive (CorruptRecordError when the archive lacks it)."""
        if self._archive is None and os.path.isfile(self.path):
            with open(self.path, "rb") as f:
                return f.read()
        data = self.read(self.part.member)
        if data is None:
            raise CorruptRecordError(f"{self.path} has no {self.part.member}: is it the release's file?")
        return data


def locate(parts, manual_dir, dataset: str, data_dir=None) -> dict:
    """{part.what: PartReader} of every part in `manual_dir`; DatasetNotFoundError listing the missing ones."""
    manual_dir = os.fspath(manual_dir)
    found, missing = {}, []
    for part in parts:
        for name in part.names:
            path = os.path.join(manual_dir, name.rstrip("/"))
            if os.path.isdir(path) if name.endswith("/") else os.path.isfile(path):
                found[part.what] = PartReader(part, path)
                break
        else:
            missing.append(part)
    if missing:
        raise DatasetNotFoundError(
            f"{dataset} is not prepared and its manual_dir {manual_dir} lacks "
            + "; ".join(f"{p.what} ({' or '.join(p.names)}: download from {p.url}"
                        + (f"; {p.note}" if p.note else "") + ")" for p in missing)
            + f". Put {'them' if len(missing) > 1 else 'it'} in {manual_dir} and run: "
            + prepare_command(dataset, manual_dir, data_dir)
        )
    return found
