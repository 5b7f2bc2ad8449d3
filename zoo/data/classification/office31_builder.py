"""TFDS builder of Office-31 (see office31.py): one split per domain, read from
domain_adaptation_images.tar.gz in one sequential pass (a compressed tar has no random access).
Member paths are <domain>/images/<class>/<file>, possibly under one top folder."""

from __future__ import annotations

import re

import tensorflow_datasets as tfds

from zoo.data.classification import office31
from zoo.data.images import storable_image
from zoo.data.tfds_manual import ManualArchiveBuilder, iter_archive
from zoo.errors import CorruptRecordError

_MEMBER = re.compile(r"(?:^|/)(amazon|dslr|webcam)/images/([a-z_]+)/([^/]+\.(?:jpg|jpeg|png))$", re.IGNORECASE)


def parse_member(name: str):
    """(domain, class index, relative id) of an image member, or None for anything else; an unknown class
    folder raises CorruptRecordError (not the Office archive)."""
    match = _MEMBER.search(name)
    if not match:
        return None
    domain, cls, file = match.groups()
    if cls not in office31.CLASSES:
        raise CorruptRecordError(f"{name}: class folder {cls!r} is not one of the 31 Office classes")
    return domain.lower(), office31.CLASSES.index(cls), f"{domain.lower()}/images/{cls}/{file}"


class Office31(ManualArchiveBuilder):
    """Office-31 from domain_adaptation_images.tar.gz."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "One split per domain (amazon, dslr, webcam); 31 alphabetical classes."}
    MANUAL_FILES = (office31.ARCHIVE,)

    def _info(self):
        return self.zoo_dataset_info(
            description="Office-31 domain adaptation images (Saenko et al. 2010).",
            features=tfds.features.FeaturesDict({
                "id": tfds.features.Text(),
                "image": tfds.features.Image(shape=(None, None, 3)),
                "label": tfds.features.ClassLabel(names=office31.CLASSES),
            }),
            supervised_keys=("image", "label"), homepage=office31.HOMEPAGE, citation=office31.CITATION,
        )

    def _split_generators(self, dl_manager):
        archive = str(self.manual_paths(dl_manager)[office31.ARCHIVE.name])
        return {domain: self._generate_examples(archive, domain) for domain in office31.DOMAINS}

    def _generate_examples(self, archive, domain):
        found = 0
        for name, data in iter_archive(archive, lambda n: (parse_member(n) or ("",))[0] == domain):
            _, label, key = parse_member(name)
            try:
                image, _ = storable_image(data, name)
            except CorruptRecordError as e:
                self.corrupt(domain, name, e)
                continue
            found += 1
            yield key, {"id": key, "image": image, "label": label}
        if not found:
            raise CorruptRecordError(f"{archive} holds no {domain}/images/<class>/*.jpg: is it the Office archive?")
