"""Write an SBD benchmark.tgz of synthetic VOC-sized photos, to measure the FCN input pipeline offline.

    python scripts/input_pipeline_fixture.py /tmp/sbd_bench --images 400
    zoo bench-input fcn8s_voc --set data.manual_dir=/tmp/sbd_bench --set data.data_dir=/tmp/sbd_bench/tfds

The real SBD (benchmark.tgz, 1.4 GB) cannot be downloaded here. This archive has its layout and
file formats (JPEG images, MATLAB GTcls/GTinst .mat label files; tests/data/fcn_archives.py) at
VOC's sizes (at most 500 px a side, mostly 500 x 375 or 375 x 500) and with smooth picture content,
so JPEG decoding costs about what it costs on the photographs (about 80 KB a file here; VOC2012 averages
about 110 KB).
It is a timing stand-in only: its pictures are not SBD's.
"""

import argparse
import pathlib
import sys

import numpy as np
from PIL import Image, ImageFilter

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests" / "data"))
from fcn_archives import SBD_ROOT, sbd_cls_mat, sbd_inst_mat, write_tar  # noqa: E402
from voc_archives import jpeg_bytes  # noqa: E402


def picture(rng, h, w):
    """Smooth colour noise with a few sharp-edged blobs: JPEG sizes like photographs."""
    small = rng.integers(0, 256, (h // 16 + 1, w // 16 + 1, 3), dtype=np.uint8)
    base = Image.fromarray(small).resize((w, h), Image.BICUBIC).filter(ImageFilter.GaussianBlur(1))
    image = np.asarray(base).astype(np.int16) + rng.normal(0, 12, (h, w, 3)).astype(np.int16)
    labels = np.zeros((h, w), np.uint8)
    for _ in range(rng.integers(1, 4)):
        y0, x0 = rng.integers(0, h - h // 3), rng.integers(0, w - w // 3)
        y1, x1 = y0 + rng.integers(h // 6, h // 3), x0 + rng.integers(w // 6, w // 3)
        labels[y0:y1, x0:x1] = rng.integers(1, 21)
        image[y0:y1, x0:x1] += rng.integers(-60, 60, 3).astype(np.int16)
    return np.clip(image, 0, 255).astype(np.uint8), labels


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=pathlib.Path, help="folder for benchmark.tgz (the recipe's data.manual_dir)")
    parser.add_argument("--images", type=int, default=400, help="training images (SBD train has 8,498)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    ids = [f"2008_{i:06d}" for i in range(args.images + 10)]
    train, val = ids[: args.images], ids[args.images:]
    members, total = {}, 0
    for image_id in ids:
        h, w = (375, 500) if rng.random() < 0.7 else (500, 375)
        image, labels = picture(rng, h, w)
        members[f"img/{image_id}.jpg"] = data = jpeg_bytes(image, quality=90)
        members[f"cls/{image_id}.mat"] = sbd_cls_mat(labels)
        members[f"inst/{image_id}.mat"] = sbd_inst_mat(labels)
        total += len(data)
    members["train.txt"] = "".join(f"{i}\n" for i in train).encode()
    members["val.txt"] = "".join(f"{i}\n" for i in val).encode()
    members = {SBD_ROOT + name: data for name, data in members.items()}
    args.out.mkdir(parents=True, exist_ok=True)
    write_tar(args.out / "benchmark.tgz", members, "w:gz")
    print(f"{args.out / 'benchmark.tgz'}: {len(train)} train / {len(val)} val images, "
          f"JPEGs {total / len(ids) / 1e3:.0f} KB on average")


if __name__ == "__main__":
    main()
