"""Archive helpers of the TFDS manual_dir machinery: tar, tar.gz and zip read in place."""

import io
import tarfile
import zipfile

import pytest

from zoo.data.tfds_manual import Archive, ManualArchiveBuilder, iter_archive
from zoo.errors import CorruptRecordError

FILES = {"root/a.txt": b"alpha", "root/sub/b.bin": bytes(range(256)) * 40, "root/c.txt": b""}


def write(path, fmt):
    if fmt == "zip":
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("root/", b"")  # a directory entry, not a file
            for name, data in FILES.items():
                z.writestr(name, data)
        return
    with tarfile.open(path, "w:gz" if fmt == "tgz" else "w") as tar:
        directory = tarfile.TarInfo("root")
        directory.type = tarfile.DIRTYPE
        tar.addfile(directory)
        for name, data in FILES.items():
            info = tarfile.TarInfo("./" + name)  # tar members often carry a ./ prefix
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


@pytest.mark.parametrize("fmt", ["tar", "tgz", "zip"])
def test_archives_read_in_place(tmp_path, fmt):
    path = tmp_path / f"x.{fmt}"
    write(path, fmt)
    with Archive(path) as archive:
        assert archive.names() == list(FILES)
        assert archive.find(".txt") == ["root/a.txt", "root/c.txt"]
        for name, data in FILES.items():
            assert archive.read(name) == data
        assert "root/a.txt" in archive and "root/zzz" not in archive
        with pytest.raises(CorruptRecordError, match=f"x.{fmt} has no member root/zzz"):
            archive.read("root/zzz")
    assert dict(iter_archive(path)) == FILES
    assert [n for n, _ in iter_archive(path, select=lambda n: n.endswith(".bin"))] == ["root/sub/b.bin"]


@pytest.mark.parametrize("fmt", ["tar", "tgz", "zip"])
def test_truncated_archive_raises_naming_it(tmp_path, fmt):
    path = tmp_path / f"cut.{fmt}"
    write(path, fmt)
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    with pytest.raises(CorruptRecordError, match=f"cut.{fmt}"):
        with Archive(path) as archive:
            [archive.read(n) for n in archive.names()]
    with pytest.raises(CorruptRecordError, match=f"cut.{fmt}"):
        list(iter_archive(path))


def test_manual_instructions_generated_from_the_files():
    from zoo.data.segmentation.voc_builder import Voc2011Segmentation, Voc2012Segmentation

    assert (
        "VOCtrainval_11-May-2012.tar: http://host.robots.ox.ac.uk" in Voc2012Segmentation.MANUAL_DOWNLOAD_INSTRUCTIONS
    )
    text = Voc2011Segmentation.MANUAL_DOWNLOAD_INSTRUCTIONS
    assert "VOCtrainval_25-May-2011.tar" in text and "seg11valid.txt" in text
    assert "prepare voc2011_segmentation" in text
    assert issubclass(Voc2012Segmentation, ManualArchiveBuilder)


def test_tfds_catalogue_dataset_with_empty_manual_dir(tmp_path):
    from zoo.data.tfds_manual import load_tfds
    from zoo.errors import DatasetNotFoundError

    with pytest.raises(DatasetNotFoundError, match=r"imagenet2012 is not prepared .*downloads/manual .*Get it here"):
        load_tfds("imagenet2012", "validation", data_dir=tmp_path, zoo_builder=False, instructions="Get it here.")
