"""Image classification datasets: ImageNet (ILSVRC 2012)."""
