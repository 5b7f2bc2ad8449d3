"""Label maps stored in MATLAB .mat files (SBD's GTcls, PASCAL-Context's LabelMap), read with scipy.

Datasets of the Caffe era ship their annotations as MATLAB v5 files; the reference data
layers read them with `scipy.io.loadmat`, and so does the zoo. A file that does not parse,
lacks the expected variable or struct field, or holds values that are not class ids raises
`CorruptRecordError` naming the file, so builders can route it through `on_corrupt`.
"""

from __future__ import annotations

import io

import numpy as np

from zoo.errors import CorruptRecordError


def _field(mat: dict, path: str, name: str):
    """`mat["GTcls"]["Segmentation"]` for path "GTcls.Segmentation", unwrapping 1x1 structs."""
    head, *fields = path.split(".")
    if head not in mat:
        found = ", ".join(k for k in mat if not k.startswith("__")) or "none"
        raise CorruptRecordError(f"{name} should hold a variable {head}; its variables are: {found}")
    value = mat[head]
    for i, field in enumerate(fields):
        where = ".".join([head, *fields[:i]])
        names = getattr(value, "dtype", np.dtype(object)).names or ()
        if field not in names or value.size != 1:
            raise CorruptRecordError(
                f"{name}: {where} should be a 1x1 struct with field {field}; found "
                + (f"fields {list(names)} in a {value.shape} struct" if names else f"a {type(value).__name__}")
            )
        value = value[field].flat[0]
    return value


def load(source, name: str) -> dict:
    """`scipy.io.loadmat` of a file path or of .mat bytes; CorruptRecordError naming `name` if it does not parse."""
    import scipy.io

    raw = isinstance(source, (bytes, bytearray, memoryview))
    try:
        return scipy.io.loadmat(io.BytesIO(bytes(source)) if raw else source)
    except Exception as e:  # scipy raises MatReadError, OSError, ValueError, zlib.error, NotImplementedError (v7.3)
        size = f" ({len(source)} bytes)" if raw else ""
        raise CorruptRecordError(
            f"{name} is not a readable MATLAB v5 .mat file{size}: {str(e) or type(e).__name__}"
        ) from e


def integer_vector(mat: dict, key: str, name: str) -> np.ndarray:
    """The variable `key` of a loaded .mat as a flat int64 vector (split indices, class mappings)."""
    if key not in mat:
        found = ", ".join(k for k in mat if not k.startswith("__")) or "none"
        raise CorruptRecordError(f"{name} should hold a variable {key}; its variables are: {found}")
    values = np.asarray(mat[key]).ravel()
    if values.size == 0 or not np.issubdtype(values.dtype, np.number) or np.any(values != np.round(values)):
        raise CorruptRecordError(f"{name}: {key} should be a non-empty vector of integers; found {values.dtype} {values[:5]}")
    return values.astype(np.int64)


def read_label_map(data: bytes, name: str, path: str, num_classes: int, ignore_label: int | None = 255) -> np.ndarray:
    """The 2-D integer label map at `path` ("LabelMap", "GTcls.Segmentation") of .mat bytes, as int64.

    Values must be integers in [0, num_classes) or `ignore_label`; anything else raises
    CorruptRecordError naming `name`.
    """
    mat = load(data, name)
    labels = np.asarray(_field(mat, path, name))
    if labels.ndim != 2 or labels.size == 0 or not np.issubdtype(labels.dtype, np.number):
        raise CorruptRecordError(
            f"{name}: {path} should be a non-empty 2-D numeric array; found {labels.dtype} {labels.shape}"
        )
    values = np.unique(labels)
    if not np.array_equal(values, np.round(values)):
        raise CorruptRecordError(
            f"{name}: {path} holds non-integer values, e.g. {values[values != np.round(values)][0]}"
        )
    values = values.astype(np.int64)
    bad = values[
        ((values < 0) | (values >= num_classes)) & (values != (ignore_label if ignore_label is not None else -1))
    ]
    if bad.size:
        allowed = f"[0, {num_classes})" + (f" or {ignore_label}" if ignore_label is not None else "")
        raise CorruptRecordError(f"{name} has label values {bad[:10].tolist()} outside {allowed} ({path})")
    return labels.astype(np.int64)
