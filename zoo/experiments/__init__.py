"""The papers' experiment drivers that are not recipes (run as `python -m zoo.experiments.<name>`).

`grid_lstm`: the Grid LSTM paper's parity, addition, memorization, character-LM and digits
curricula at this machine's scale. Drivers sit at the top layer: they may use models, data,
tasks and training; nothing in the package imports them.
"""
