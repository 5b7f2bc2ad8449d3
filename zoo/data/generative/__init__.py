"""Datasets of generative models (binarized images for variational bounds)."""
