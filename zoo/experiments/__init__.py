"""Experiment drivers that train and measure models at a small scale (the notebooks and their command lines)."""
