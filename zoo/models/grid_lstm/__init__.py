"""Grid LSTM (Kalchbrenner, Danihelka, Graves 2015): cards in `cards.py`, networks and baselines in `grid_lstm.py`."""
