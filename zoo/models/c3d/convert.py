"""The C3D release's files besides the weights (which `zoo.convert.caffe` reads in its C3D dialect).

`read_mean_clip`: the Sports-1M mean clip `sport1m_train16_128_mean.binaryproto` (facebook/C3D,
examples/c3d_feature_extraction; a C3D-dialect BlobProto (1, 3, 16, 128, 171), BGR) as the
(16, H, W, 3) array that is subtracted from a clip before the network (its centre 112x112 crop for
the test crops; Tran et al. 2015 §3.1).
"""

from __future__ import annotations

import numpy as np

from zoo.convert.caffe_proto import read_blobproto
from zoo.errors import InputError


def read_mean_clip(path, crop: int | None = 112) -> np.ndarray:
    """The release's mean clip as (T, H, W, 3) BGR, centre-cropped to `crop` (None: the full 128x171)."""
    blob = read_blobproto(path, dialect="c3d")
    if blob.ndim != 5 or blob.shape[0] != 1 or blob.shape[1] != 3:
        raise InputError(f"{path} is not a C3D mean clip: its blob has shape {blob.shape}, expected (1, 3, T, H, W)")
    mean = blob[0].transpose(1, 2, 3, 0)
    if crop is None:
        return mean
    h, w = mean.shape[1:3]
    if crop > min(h, w):
        raise InputError(f"cannot crop {crop}x{crop} from a {h}x{w} mean clip")
    top, left = (h - crop) // 2, (w - crop) // 2
    return mean[:, top : top + crop, left : left + crop]
