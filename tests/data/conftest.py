"""Fixtures of tests/data."""

import pytest
from voc_archives import VOC_TRAIN, VOC_VAL, write_voc_tar


@pytest.fixture
def voc2012_tar(tmp_path):
    """A manual_dir holding a small VOCtrainval_11-May-2012.tar, and the data written into it."""
    manual_dir = tmp_path / "manual"
    manual_dir.mkdir()
    truth = write_voc_tar(manual_dir / "VOCtrainval_11-May-2012.tar", "VOCdevkit/VOC2012/", VOC_TRAIN, VOC_VAL)
    return manual_dir, truth
