"""Detection datasets (examples: image, boxes, labels, difficult, proposals; see zoo.tasks.detection)
and the region proposals they carry (selective search, the released precomputed boxes)."""
