"""The poselets keypoint annotations of PASCAL 2011, read from a tiny fixture in the release's format."""

import io
import tarfile

import numpy as np
import pytest

from zoo.data.keypoints import voc_keypoints as vk
from zoo.errors import CorruptRecordError, DatasetNotFoundError

XML = """<?xml version="1.0" encoding="utf-8"?>
<annotation>
\t<image>2008_000001</image>
\t<voc_id>2</voc_id>
\t<category>cat</category>
\t<subcategory></subcategory>
\t<visible_bounds height="50.00" width="40.00" xmin="10.00" ymin="20.00"/>
\t<keypoints>
\t\t<keypoint name="L_Eye" visible="1" x="20.50" y="30.25" z="0.00"/>
\t\t<keypoint name="Nose" visible="0" x="25.00" y="40.00" z="0.00"/>
\t</keypoints>
</annotation>
"""


def test_reads_the_release_layout_from_a_folder_and_an_archive(tmp_path):
    (tmp_path / "annotations" / "cat").mkdir(parents=True)
    (tmp_path / "annotations" / "cat" / "2008_000001_2.xml").write_text(XML)
    (obj,) = vk.read_annotations(tmp_path / "annotations")
    assert (obj.image, obj.voc_id, obj.category) == ("2008_000001", 2, "cat")
    assert obj.bounds == (10.0, 20.0, 50.0, 70.0)
    np.testing.assert_array_equal(obj.array(["L_Eye", "Nose", "R_Eye"]), [[20.5, 30.25], [np.nan] * 2, [np.nan] * 2])
    assert vk.keypoint_names([obj], "cat") == ["L_Eye", "Nose"]
    archive = tmp_path / "annotations.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        data = XML.encode()
        info = tarfile.TarInfo("annotations/cat/2008_000001_2.xml")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    (again,) = vk.read_annotations(archive)
    assert again == obj


def test_bad_inputs_say_what_to_do(tmp_path):
    with pytest.raises(DatasetNotFoundError):
        vk.read_annotations(tmp_path / "missing")
    with pytest.raises(CorruptRecordError):
        vk.parse_annotation("<annotation><image>x</image></annotation>")
