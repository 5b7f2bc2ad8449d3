"""Machinery for the TFDS builders the zoo adds: datasets prepared from the user's archives.

Some datasets the papers use cannot be downloaded by a script (registration, licence) or are
not in the TFDS catalogue in the form the papers used (VOC segmentation with 255 boundaries,
SBD, NYUDv2, SIFT Flow, PASCAL-Context, ...). For those the user downloads the original
archives into a manual_dir and the zoo builds a TFDS dataset from them:

    manual_dir (default <data_dir>/downloads/manual, data_dir default ~/tensorflow_datasets)
        VOCtrainval_11-May-2012.tar        <- the user puts the original archive here
    python -m zoo.data prepare voc2012_segmentation --manual_dir DIR [--data_dir DIR]
    (or the first zoo.data.load(..., manual_dir=DIR) prepares it)

A builder subclasses `ManualArchiveBuilder`, lists its archives in MANUAL_FILES, and in
`_split_generators` calls `self.manual_paths(dl_manager)`, which raises DatasetNotFoundError
listing the missing files, where they were looked for, where to download them and the
command to run. Archives are read in place (`open_archive`, `iter_archive`): nothing is
extracted to disk.

Corrupt records: the builder is constructed with on_corrupt="raise" (CorruptRecordError
naming the archive member) or "skip". Skipped records are written into the prepared
dataset's metadata ("skipped_corrupt": {split: [names]}); `load_tfds` adds them to the
caller's CorruptCounter on every load, and refuses to load such a split with
on_corrupt="raise", so a dataset prepared with holes is never used silently.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import tarfile
import zipfile
from typing import Callable, Iterator

import tensorflow_datasets as tfds

from zoo import progress
from zoo.data.images import CorruptCounter, check_on_corrupt
from zoo.data.manual import ManualFile, manual_instructions, prepare_command  # noqa: F401 (re-exported)
from zoo.errors import CorruptRecordError, DatasetNotFoundError

log = logging.getLogger(__name__)

SKIPPED_KEY = "skipped_corrupt"


# --- archives ---------------------------------------------------------------------------------


def _member_name(name: str) -> str:
    return name[2:] if name.startswith("./") else name


class Archive:
    """Random access to the members of a .tar, .tar.gz/.tgz or .zip without extracting it.

    Random access is cheap for .tar and .zip (the originals of VOC, SBD, ...). In a compressed
    tar each access may decompress from the start: read those with `iter_archive` instead.
    """

    def __init__(self, path):
        self.path = os.fspath(path)
        try:
            if zipfile.is_zipfile(self.path):
                self._zip = zipfile.ZipFile(self.path)
                self._tar = None
                self._members = {_member_name(i.filename): i for i in self._zip.infolist() if not i.is_dir()}
            else:
                self._zip = None
                self._tar = tarfile.open(self.path, "r:*")
                self._members = {_member_name(m.name): m for m in self._tar.getmembers() if m.isfile()}
        except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as e:
            raise CorruptRecordError(
                f"{self.path} is not a readable tar or zip archive (truncated download?): {e}"
            ) from e

    def names(self) -> list[str]:
        """File members, in archive order."""
        return list(self._members)

    def __contains__(self, name):
        return name in self._members

    def find(self, suffix: str) -> list[str]:
        """Members whose name ends with `suffix`."""
        return [n for n in self._members if n.endswith(suffix)]

    def read(self, name: str) -> bytes:
        if name not in self._members:
            raise CorruptRecordError(f"{self.path} has no member {name}")
        try:
            if self._zip is not None:
                return self._zip.read(self._members[name])
            return self._tar.extractfile(self._members[name]).read()
        except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as e:
            raise CorruptRecordError(f"{self.path}:{name} cannot be read (truncated archive?): {e}") from e

    def close(self):
        (self._zip or self._tar).close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def open_archive(path) -> Archive:
    return Archive(path)


def iter_archive(path, select: Callable[[str], bool] | None = None) -> Iterator[tuple[str, bytes]]:
    """(member name, bytes) of the file members of an archive, in one sequential pass.

    Works on compressed tars without random access; `select(name)` filters before reading.
    """
    path = os.fspath(path)
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                for info in z.infolist():
                    name = _member_name(info.filename)
                    if not info.is_dir() and (select is None or select(name)):
                        yield name, z.read(info)
            return
        with tarfile.open(path, "r|*") as tar:
            for member in tar:
                name = _member_name(member.name)
                if member.isfile() and (select is None or select(name)):
                    yield name, tar.extractfile(member).read()
    except (tarfile.TarError, zipfile.BadZipFile, EOFError) as e:
        raise CorruptRecordError(f"{path} is not a readable tar or zip archive (truncated download?): {e}") from e


# --- builder base ----------------------------------------------------------------------------


class ManualArchiveBuilder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    """Base of zoo TFDS builders that read archives the user put in manual_dir.

    Subclasses set VERSION, RELEASE_NOTES, MANUAL_FILES (MANUAL_DOWNLOAD_INSTRUCTIONS is
    generated from them unless given), build `_info` with `self.zoo_dataset_info(...)`, call
    `self.manual_paths(dl_manager)` in `_split_generators`, and route every per-record failure
    through `self.corrupt(split, name, error)`.
    """

    MANUAL_FILES: tuple = ()
    MANUAL_EXTRA_INSTRUCTIONS: str = ""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "MANUAL_DOWNLOAD_INSTRUCTIONS" not in cls.__dict__ and cls.MANUAL_FILES:
            cls.MANUAL_DOWNLOAD_INSTRUCTIONS = manual_instructions(
                cls.name, cls.MANUAL_FILES, cls.MANUAL_EXTRA_INSTRUCTIONS
            )

    def __init__(self, *, on_corrupt: str = "raise", **kwargs):
        self.on_corrupt = check_on_corrupt(on_corrupt)
        super().__init__(**kwargs)

    def zoo_dataset_info(self, **kwargs) -> tfds.core.DatasetInfo:
        """tfds.core.DatasetInfo with a metadata dict (where skipped records are recorded)."""
        return tfds.core.DatasetInfo(builder=self, metadata=tfds.core.MetadataDict(), **kwargs)

    def manual_paths(self, dl_manager) -> dict:
        """{file name: path} of MANUAL_FILES present in manual_dir; raises if a required one is missing."""
        # dl_manager.manual_dir asserts when the folder is empty, before we can say what is missing.
        manual_dir = dl_manager._manual_dir  # noqa: SLF001 (the folder TFDS was told to look in)
        found = {f.name: manual_dir / f.name for f in self.MANUAL_FILES if (manual_dir / f.name).is_file()}
        missing = [f for f in self.MANUAL_FILES if not f.optional and f.name not in found]
        if missing:
            raise DatasetNotFoundError(
                f"{self.name} is not prepared and its archive{'s' if len(missing) > 1 else ''} "
                f"{', '.join(f.name for f in missing)} {'are' if len(missing) > 1 else 'is'} not in the manual_dir "
                f"{manual_dir}. "
                + "; ".join(f"Download {f.name} from {f.url}" + (f" ({f.note})" if f.note else "") for f in missing)
                + f", put {'them' if len(missing) > 1 else 'it'} in {manual_dir}, and run: "
                + prepare_command(self.name, manual_dir, self.data_dir_root)
            )
        return found

    def corrupt(self, split: str, name: str, error: CorruptRecordError) -> None:
        """Raise `error`, or (on_corrupt="skip") record `name` as skipped from `split`."""
        if self.on_corrupt == "raise":
            raise error
        log.warning("%s: skipping %s: %s", self.name, name, error)
        self.info.metadata.setdefault(SKIPPED_KEY, {}).setdefault(split, []).append(name)


# --- loading ---------------------------------------------------------------------------------


def _builder(name, data_dir, on_corrupt, zoo_builder):
    kwargs = {"on_corrupt": on_corrupt} if zoo_builder else {}
    return tfds.builder(name, data_dir=os.path.expanduser(os.fspath(data_dir)) if data_dir else None, **kwargs)


def _prepare(builder, manual_dir, instructions, zoo_builder):
    config = tfds.download.DownloadConfig(
        manual_dir=os.path.expanduser(os.fspath(manual_dir)) if manual_dir else None,
        try_download_gcs=False,  # offline machines: never ask GCS for a prepared copy
    )
    if progress.mode_for(sys.stderr) != "bar":
        tfds.disable_progress_bar()  # TFDS's own bars (examples per split, with ETA) only on a terminal
    try:
        with progress.stage(f"prepare {builder.name}"):
            builder.download_and_prepare(download_config=config)
    except (DatasetNotFoundError, CorruptRecordError):
        raise
    except Exception as e:
        if zoo_builder:
            raise  # a bug in a zoo builder, not a missing dataset
        # TFDS's own datasets: a failed download, or a manual_dir it found empty.
        raise DatasetNotFoundError(
            f"{builder.name} is not prepared in {builder.data_dir} and TFDS could not prepare it "
            f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}). {instructions}".strip()
        ) from e


def _base_splits(split: str) -> list[str]:
    return [re.sub(r"\[.*\]$", "", part.strip()) for part in split.split("+")]


def _report_skipped(builder, split, on_corrupt, counter):
    skipped = (builder.info.metadata or {}).get(SKIPPED_KEY, {})
    names = [n for s in _base_splits(split) for n in skipped.get(s, [])]
    if not names:
        return
    if on_corrupt == "raise":
        raise CorruptRecordError(
            f"{builder.name} {split} was prepared with on_corrupt='skip' and lacks {len(names)} corrupt "
            f"record(s), first {names[0]}; load it with on_corrupt='skip' to accept that, or replace the archive "
            f"and prepare again"
        )
    if counter is not None:
        for n in names:
            counter.add(n)


def prepare_tfds(
    name, *, data_dir=None, manual_dir=None, on_corrupt="raise", counter=None, zoo_builder=True, instructions=""
):
    """Build TFDS dataset `name` in data_dir (from the archives in manual_dir for zoo builders)."""
    builder = _builder(name, data_dir, on_corrupt, zoo_builder)
    _prepare(builder, manual_dir, instructions, zoo_builder)
    for split in builder.info.splits:
        _report_skipped(builder, split, "skip", counter)
    return builder


def load_tfds(
    name,
    split,
    *,
    data_dir=None,
    manual_dir=None,
    on_corrupt="raise",
    counter: CorruptCounter | None = None,
    zoo_builder=True,
    instructions="",
):
    """`split` of TFDS dataset `name`, prepared first if needed, files read in order (no shuffling).

    Equivalent to tfds.load(name, split=split, data_dir=data_dir, shuffle_files=False,
    download_and_prepare_kwargs={"download_config": DownloadConfig(manual_dir=manual_dir)}),
    with errors turned into DatasetNotFoundError / CorruptRecordError and skipped records reported.
    """
    builder = _builder(name, data_dir, on_corrupt, zoo_builder)
    _prepare(builder, manual_dir, instructions, zoo_builder)
    _report_skipped(builder, split, on_corrupt, counter)
    return builder.as_dataset(split=split, shuffle_files=False)
