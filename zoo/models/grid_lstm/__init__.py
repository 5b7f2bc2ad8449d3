"""Grid LSTM (Kalchbrenner, Danihelka, Graves 2015) networks and their baselines."""

from zoo.models.grid_lstm import grid_lstm  # noqa: F401  (registers the builders)
