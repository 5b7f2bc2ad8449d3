"""Sequence tasks: the Grid LSTM paper's generated tasks and enwik8 character modelling."""
