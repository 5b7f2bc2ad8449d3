"""Keypoint datasets (examples: image, box, keypoint names, keypoints (K, 2), visible (K,); read by
zoo.visualize.keypoints / zoo.visualize.flow and scored by zoo.metrics.keypoints' PCK)."""
