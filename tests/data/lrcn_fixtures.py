"""Small data in the layouts LRCN's datasets come in, written by the tests of tests/data.

- fake TFDS `ucf101` / `coco_captions` datasets (tf.data of the dicts those builders yield), for
  the wrapping functions, which never download anything;
- translating textures with known optical flow;
- a Flickr30k release (flickr30k-images.tar.gz, results_20130124.token) with a Karpathy-format
  split file (dataset_flickr30k.json);
- TACoS Multi-Level files in the layout zoo.data.text.tacos assumes.
"""

import io
import json
import tarfile

import numpy as np
from PIL import Image


def jpeg_bytes(array, **kwargs):
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, "JPEG", **kwargs)
    return buf.getvalue()


# ------------------------------------------------------------------ videos


def counting_video(num_frames, height=24, width=32, offset=10):
    """Frame t: pixel (y, x) = (offset + t, 3x mod 256, 3y mod 256): the frame index survives resizing
    in channel 0, and channels 1-2 show where a crop came from (uniquely up to 85x85)."""
    y, x = np.mgrid[:height, :width]
    video = np.zeros((num_frames, height, width, 3), np.uint8)
    video[..., 0] = (offset + np.arange(num_frames))[:, None, None]
    video[..., 1] = (3 * x) % 256
    video[..., 2] = (3 * y) % 256
    return video


def fake_video_dataset(videos, labels=None):
    """A TFDS-ucf101-like tf.data.Dataset of {"video": uint8 (F, H, W, 3), "label": int64}."""
    import tensorflow as tf

    labels = list(range(len(videos))) if labels is None else labels
    height, width = videos[0].shape[1:3]
    return tf.data.Dataset.from_generator(
        lambda: ({"video": v, "label": np.int64(label)} for v, label in zip(videos, labels)),
        output_signature={"video": tf.TensorSpec((None, height, width, 3), tf.uint8),
                          "label": tf.TensorSpec((), tf.int64)},
    )


def texture(height, width, seed=0):
    """A smooth random grey texture (uint8), rich enough for dense flow everywhere."""
    import cv2

    rng = np.random.default_rng(seed)
    tex = cv2.GaussianBlur(rng.uniform(0, 255, (height, width)).astype(np.float32), (0, 0), 2.0)
    return cv2.normalize(tex, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)


def translating_video(num_frames, height, width, dx, dy, seed=0):
    """RGB frames of a texture moving by (dx, dy) pixels per frame (sub-pixel shifts by warpAffine)."""
    import cv2

    tex = texture(height, width, seed)
    frames = []
    for t in range(num_frames):
        shift = np.float32([[1, 0, dx * t], [0, 1, dy * t]])
        grey = cv2.warpAffine(tex, shift, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        frames.append(np.repeat(grey[..., None], 3, axis=-1))
    return np.stack(frames)


# ------------------------------------------------------------------ COCO (TFDS coco_captions records)


def fake_coco_dataset(images):
    """TFDS coco_captions-like records: {"image", "image/id", "captions": {"id", "text"}}.

    `images`: list of (image id, (H, W, 3) uint8, [(caption id, text), ...]).
    """
    import tensorflow as tf

    def gen():
        for image_id, image, captions in images:
            yield {"image": image, "image/id": np.int64(image_id),
                   "captions": {"id": np.array([c[0] for c in captions], np.int64),
                                "text": np.array([c[1].encode() for c in captions], object)}}

    return tf.data.Dataset.from_generator(gen, output_signature={
        "image": tf.TensorSpec((None, None, 3), tf.uint8), "image/id": tf.TensorSpec((), tf.int64),
        "captions": {"id": tf.TensorSpec((None,), tf.int64), "text": tf.TensorSpec((None,), tf.string)},
    })


# ------------------------------------------------------------------ Flickr30k

FLICKR_SPLITS = {"train": ["1000092795", "10002456", "1000268201"], "val": ["1000344755"],
                 "test": ["1000366164", "1000523639"]}
FLICKR_UNSPLIT = "1000919630"  # in the archive and the token file, in no split


def flickr_captions(image_id):
    return [f"A person number {k} walks past photo {image_id} ." for k in range(5)]


def write_flickr30k(manual_dir, *, seed=0, overrides=None, split_override=None):
    """flickr30k-images.tar.gz, results_20130124.token and dataset_flickr30k.json in `manual_dir`.

    Returns {image id: (JPEG bytes, [5 captions])}. `overrides` maps an image id to the bytes of
    its JPEG (corrupt files); `split_override` replaces the json's split lists.
    """
    rng = np.random.default_rng(seed)
    splits = split_override or FLICKR_SPLITS
    ids = sorted({i for ids in FLICKR_SPLITS.values() for i in ids} | {FLICKR_UNSPLIT})
    truth, tokens = {}, []
    with tarfile.open(manual_dir / "flickr30k-images.tar.gz", "w:gz") as tar:
        for image_id in ids:
            h, w = int(rng.integers(20, 40)), int(rng.integers(20, 40))
            data = jpeg_bytes(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), quality=95)
            data = (overrides or {}).get(image_id, data)
            info = tarfile.TarInfo(f"flickr30k-images/{image_id}.jpg")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
            captions = flickr_captions(image_id)
            # The release lists captions image by image, #0 .. #4, tab-separated.
            tokens += [f"{image_id}.jpg#{k}\t{c}" for k, c in enumerate(captions)]
            truth[image_id] = (data, captions)
        readme = b"flickr30k-images: 31,783 images (fixture)"
        info = tarfile.TarInfo("flickr30k-images/readme.txt")
        info.size = len(readme)
        tar.addfile(info, io.BytesIO(readme))
    (manual_dir / "results_20130124.token").write_text("\n".join(tokens) + "\n")
    images = []  # Karpathy's format: one entry per image, its split, and tokenized sentences (unused here)
    for split, members in splits.items():
        for image_id in members:
            images.append({"filename": f"{image_id}.jpg", "imgid": len(images), "split": split,
                           "sentences": [{"raw": "a tokenized copy", "tokens": ["a", "tokenized", "copy"]}]})
    (manual_dir / "dataset_flickr30k.json").write_text(json.dumps({"images": images, "dataset": "flickr30k"}))
    return truth


# ------------------------------------------------------------------ TACoS Multi-Level (zoo.data.text.tacos layout)

TACOS_SLOTS = {"activity": ["cut", "wash", "peel"], "tool": ["knife", "hand"],
               "object": ["carrot", "cucumber", "onion", "plate"], "location": ["cutting-board", "sink"]}
TACOS_SPLITS = {"s13-d21": "train", "s14-d26": "train", "s21-d39": "validation", "s22-d48": "test"}


def tacos_segments(seed=0):
    """[(video, start, end, [sentences], [probability vector per slot])] for TACOS_SPLITS' videos."""
    rng = np.random.default_rng(seed)
    segments = []
    for video in TACOS_SPLITS:
        start = int(rng.integers(0, 200))
        for k in range(2):
            end = start + int(rng.integers(50, 300))
            probs = [rng.dirichlet(np.ones(len(labels))) for labels in TACOS_SLOTS.values()]
            sentences = [f"the person {'cuts' if k else 'washes'} the {video} item number {j}" for j in range(k + 1)]
            segments.append((video, start, end, sentences, probs))
            start = end + 1
    return segments


def write_tacos(manual_dir, segments, *, crf_rows=None, splits=None):
    """The four TSV files of zoo.data.text.tacos in `manual_dir`; `crf_rows` overrides the CRF lines."""
    lines = [f"{v}\t{s}\t{e}\t{sentence}" for v, s, e, sentences, _ in segments for sentence in sentences]
    (manual_dir / "tacos_multilevel_sentences.tsv").write_text("\n".join(lines) + "\n")
    if crf_rows is None:
        crf_rows = ["\t".join([v, str(s), str(e)] + [" ".join(f"{p:.6f}" for p in slot) for slot in probs])
                    for v, s, e, _, probs in segments]
    (manual_dir / "tacos_multilevel_crf.tsv").write_text("\n".join(crf_rows) + "\n")
    (manual_dir / "tacos_multilevel_crf_labels.tsv").write_text(
        "".join("\t".join([slot, *labels]) + "\n" for slot, labels in TACOS_SLOTS.items()))
    (manual_dir / "tacos_multilevel_splits.tsv").write_text(
        "".join(f"{v}\t{s}\n" for v, s in (splits or TACOS_SPLITS).items()))
