"""`tuebingen_pairs`: the Tübingen cause-effect pairs (Mooij et al. 2016), the benchmark of
CGAN-C2ST (Oquab thesis §5.4.2, Table 5.1: "99 Tübingen cause-effect pairs, version August 2016").

Two sources, read as files (nothing is imported from them):

- The CausalDiscoveryToolbox wheel (`cdt` on PyPI) ships `cdt/data/resources/Tuebingen_pairs.csv`
  (columns SampleID, A, B; A and B are the pair's values separated by spaces) and
  `Tuebingen_targets.csv` (SampleID, Target: 1 for A -> B, -1 for B -> A). Its 99 pairs are all
  oriented A -> B and it carries no pair weights. `pip install --no-deps cdt` puts the files on disk
  without the package's heavy dependencies; `source="cdt"` (the default) finds them through the
  installed distribution's file list, without importing `cdt`.
- The official release (`pairmeta.txt` and `pairNNNN.txt`, https://webdav.tuebingen.mpg.de/
  cause-effect/): `source=<that folder>`. pairmeta.txt rows are
  `id cause_first cause_last effect_first effect_last weight` (1-based columns of pairNNNN.txt);
  only pairs with a 1-D cause and a 1-D effect are kept (columns 1 1 2 2 or 2 2 1 1), as the
  authors' tuebingen.lua does, and the weights allow the weighted accuracy of Mooij et al.

Each pair is a `CausePair(pair_id, a, b, direction, weight)`: `direction` is +1 when a causes b
and -1 when b causes a; weight 1.0 where the source has none.
"""

from __future__ import annotations

import csv
import dataclasses
import importlib.metadata
import pathlib

import numpy as np

from zoo.data.registry import DatasetInfo, register_dataset
from zoo.errors import CorruptRecordError, DatasetNotFoundError

NAME = "tuebingen_pairs"
CDT_FILES = ("cdt/data/resources/Tuebingen_pairs.csv", "cdt/data/resources/Tuebingen_targets.csv")
INSTRUCTIONS = ("`pip install --no-deps cdt` (the CausalDiscoveryToolbox wheel ships the 99 pairs as CSV; nothing of "
                "it is imported), or download the official pairs (pairmeta.txt, pairNNNN.txt) from "
                "https://webdav.tuebingen.mpg.de/cause-effect/ and pass source=<that folder>")


@dataclasses.dataclass(frozen=True)
class CausePair:
    pair_id: str
    a: np.ndarray  # (n,) float64
    b: np.ndarray  # (n,) float64
    direction: int  # +1: a -> b; -1: b -> a
    weight: float = 1.0


def cdt_csv_files() -> tuple[pathlib.Path, pathlib.Path]:
    """The installed cdt distribution's pairs and targets CSV files (found without importing cdt)."""
    try:
        dist = importlib.metadata.distribution("cdt")
    except importlib.metadata.PackageNotFoundError as e:
        raise DatasetNotFoundError(f"{NAME}: the cdt wheel is not installed. {INSTRUCTIONS}") from e
    paths = [pathlib.Path(dist.locate_file(f)) for f in CDT_FILES]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise DatasetNotFoundError(f"{NAME}: the installed cdt lacks {', '.join(missing)}. {INSTRUCTIONS}")
    return paths[0], paths[1]


def _values(text: str, where: str) -> np.ndarray:
    try:
        values = np.array(text.split(), np.float64)
    except ValueError as e:
        raise CorruptRecordError(f"{NAME}: {where} holds a value that is not a number: {e}") from e
    if not len(values) or not np.all(np.isfinite(values)):
        raise CorruptRecordError(f"{NAME}: {where} is empty or not finite")
    return values


def read_cdt_csv(pairs_csv, targets_csv) -> list[CausePair]:
    """Pairs from cdt's two CSV files (layout in the module docstring)."""
    csv.field_size_limit(1 << 30)  # one cell holds a whole variable
    with open(targets_csv, newline="") as f:
        targets = {row["SampleID"]: row["Target"] for row in csv.DictReader(f)}
    pairs = []
    with open(pairs_csv, newline="") as f:
        for row in csv.DictReader(f):
            if set(row) != {"SampleID", "A", "B"}:
                raise CorruptRecordError(f"{NAME}: {pairs_csv} has columns {sorted(row)}, not SampleID, A, B")
            pid = row["SampleID"]
            a, b = _values(row["A"], f"{pid} column A"), _values(row["B"], f"{pid} column B")
            if len(a) != len(b):
                raise CorruptRecordError(f"{NAME}: {pid} has {len(a)} values of A and {len(b)} of B")
            if pid not in targets or float(targets[pid]) not in (1.0, -1.0):
                raise CorruptRecordError(f"{NAME}: {targets_csv} has no target of 1 or -1 for {pid}")
            pairs.append(CausePair(pid, a, b, int(float(targets[pid]))))
    if not pairs:
        raise CorruptRecordError(f"{NAME}: {pairs_csv} holds no pairs")
    return pairs


def read_official(folder) -> list[CausePair]:
    """The 1-D pairs of the official release in `folder` (pairmeta.txt + pairNNNN.txt), with weights."""
    folder = pathlib.Path(folder)
    meta = folder / "pairmeta.txt"
    if not meta.is_file():
        raise DatasetNotFoundError(f"{NAME}: {folder} has no pairmeta.txt. {INSTRUCTIONS}")
    pairs = []
    for line_no, line in enumerate(meta.read_text().splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 6:
            raise CorruptRecordError(f"{NAME}: {meta} line {line_no} has {len(fields)} fields, not 6")
        pid, columns, weight = fields[0], fields[1:5], float(fields[5])
        if columns not in (["1", "1", "2", "2"], ["2", "2", "1", "1"]):
            continue  # a multivariate cause or effect: not a 1-D pair
        path = folder / f"pair{pid}.txt"
        if not path.is_file():
            raise DatasetNotFoundError(f"{NAME}: pairmeta.txt lists pair {pid} but {path} is missing")
        try:
            data = np.loadtxt(path, dtype=np.float64, ndmin=2)
        except ValueError as e:
            raise CorruptRecordError(f"{NAME}: {path} is not a table of numbers: {e}") from e
        if data.shape[1] != 2:
            raise CorruptRecordError(f"{NAME}: {path} has {data.shape[1]} columns; a 1-D pair has 2")
        pairs.append(CausePair(f"pair{pid}", data[:, 0], data[:, 1], 1 if columns[0] == "1" else -1, weight))
    return pairs


def load_pairs(source="cdt") -> list[CausePair]:
    """The pairs from `source`: "cdt" (the installed wheel's CSV files) or the official release's folder."""
    if source == "cdt":
        return read_cdt_csv(*cdt_csv_files())
    return read_official(source)


def pairs_dataset(make_pairs):
    """tf.data of {"pair_id", "a", "b", "direction", "weight"}, one element per pair of `make_pairs()`."""
    import tensorflow as tf

    spec = {"pair_id": tf.TensorSpec((), tf.string), "a": tf.TensorSpec((None,), tf.float64),
            "b": tf.TensorSpec((None,), tf.float64), "direction": tf.TensorSpec((), tf.int32),
            "weight": tf.TensorSpec((), tf.float32)}
    return tf.data.Dataset.from_generator(
        lambda: ({"pair_id": p.pair_id, "a": p.a, "b": p.b, "direction": p.direction, "weight": p.weight}
                 for p in make_pairs()), output_signature=spec)


def load(split, *, data_dir=None, manual_dir=None, seed=0, on_corrupt="raise", counter=None, source="cdt"):
    """The registered loader: split "all", the pairs of `source` (load_pairs)."""
    if split != "all":
        raise DatasetNotFoundError(f"{NAME} has one split, 'all'; got {split!r}")
    pairs = load_pairs(source)
    return pairs_dataset(lambda: pairs)


register_dataset(NAME, DatasetInfo(
    name=NAME, task="cause_effect",
    summary="Tübingen cause-effect pairs (Mooij et al. 2016): 1-D pairs with the expert's causal direction",
    splits={"all": None},
    features={"pair_id": "string", "a": "float64 (n,)", "b": "float64 (n,)",
              "direction": "int32 () +1: a -> b, -1: b -> a", "weight": "float32 () 1.0 where the source has none"},
    source="https://webdav.tuebingen.mpg.de/cause-effect/",
    citation="Mooij, Peters, Janzing, Zscheischler, Schölkopf, Distinguishing cause from effect using observational "
             "data: methods and benchmarks, JMLR 2016",
    instructions=INSTRUCTIONS, options={"source": "cdt"},
), load)
