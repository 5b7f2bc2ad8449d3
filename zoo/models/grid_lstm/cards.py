"""Grid LSTM cards (metadata only, no Keras; the builders are `zoo.models.grid_lstm.grid_lstm`).

Inputs are made by `zoo.data.sequence.tasks` (parity, addition, memorization, character text) and
the digits / MNIST loaders; the paper's experiment drivers are `zoo.experiments.grid_lstm`.
"""

from zoo.registry import InputContract, register

# The numbers as J. Bastings' talk on the paper (ILLC Amsterdam, 2016) tables them; the sections are named by
# their titles (the parity experiment is a section of arXiv v1 and an appendix of the ICLR 2016 version).
PAPER = "Kalchbrenner, Danihelka, Graves, Grid Long Short-Term Memory (ICLR 2016, arXiv:1507.01526)"

register(
    "grid_lstm_parity", builder="zoo.models.grid_lstm.grid_lstm:grid_lstm_parity",
    family="grid_lstm", task="classification", paper=PAPER,
    section="parity experiment (k-bit strings): tied 1-LSTM over depth; tied tanh/ReLU FFN baselines",
    input_contract=InputContract(
        shape=(250,), dtype="float32", kind="vector", channel_order=None, mean=None, sources=("bits",),
        note="k bits as 0.0/1.0, all given at once to the first layer",
    ),
    paper_numbers={
        "Tied 1-LSTM, 1500 hidden, 72 layers: largest k at 100% accuracy": 220,
        "Tied 1-LSTM, 500 hidden, 148 layers: largest k at 100% accuracy": 250,
        "Tied tanh FFN, 1500 hidden, 5 layers: largest k": 30,
        "Tied ReLU FFN, 1500 hidden, 4 layers: largest k": 30,
    },
    head_layers=("output",), default_num_classes=2,
    parameters={"total": 1_254_002, "trainable": 1_254_002},
)


register(
    "grid_lstm_addition", builder="zoo.models.grid_lstm.grid_lstm:grid_lstm_addition",
    family="grid_lstm", task="sequence_prediction", paper=PAPER,
    section="addition experiment (15-digit integers): tied 2-LSTM over time x depth; untied and stacked baselines",
    input_contract=InputContract(
        shape=(49,), dtype="int32", kind="tokens", channel_order=None, mean=None, sources=("tokens",),
        note="digits 0-9, 10 = blank; zoo.data.sequence.tasks 'addition' layout, 3n+4 tokens for n digits",
    ),
    paper_numbers={
        "Tied 2-LSTM, 18 layers: accuracy after 0.55M samples": ">99%",
        "Untied 2-LSTM, 5 layers: accuracy after 5M samples": "67%",
        "Stacked LSTM, 1 layer: accuracy after 5M samples": "51%",
    },
    head_layers=("output",), default_num_classes=11,
    parameters={"total": 268_811, "trainable": 268_811},
)


register(
    "grid_lstm_memorization", builder="zoo.models.grid_lstm.grid_lstm:grid_lstm_memorization",
    family="grid_lstm", task="sequence_prediction", paper=PAPER,
    section="memorization experiment (20 symbols): 2-LSTM, 100 hidden units",
    input_contract=InputContract(
        shape=(42,), dtype="int32", kind="tokens", channel_order=None, mean=None, sources=("tokens",),
        note="symbols 0..S-1, S = blank; zoo.data.sequence.tasks 'memorization' layout, 2n+2 tokens for n symbols",
    ),
    paper_numbers={"hidden units of every network": 100, "symbols to memorise": 20},
    head_layers=("output",), default_num_classes=11,
    parameters={"total": 165_211, "trainable": 165_211},
)


register(
    "grid_lstm_charlm", builder="zoo.models.grid_lstm.grid_lstm:grid_lstm_charlm",
    family="grid_lstm", task="sequence_prediction", paper=PAPER,
    section="character-level language modelling experiment (Hutter's Wikipedia): tied 2-LSTM",
    input_contract=InputContract(
        shape=(50,), dtype="int32", kind="tokens", channel_order=None, mean=None, sources=("tokens",),
        note="character ids; 50-step windows (the slides' truncated back-propagation length)",
    ),
    paper_numbers={"Tied 2-LSTM bits per character (Hutter, test: last 5MB)": 1.47,
                   "Tied 2-LSTM parameters": "16.8M", "alphabet": 205},
    head_layers=("output",), default_num_classes=205,
    parameters={"total": 16_828_205, "trainable": 16_828_205},
)


register(
    "grid_lstm_mnist", builder="zoo.models.grid_lstm.grid_lstm:grid_lstm_mnist",
    family="grid_lstm", task="classification", paper=PAPER,
    section="MNIST digit recognition experiment (arXiv v1): untied 3-LSTM over a 2-D grid of patches and depth",
    input_contract=InputContract(
        shape=(28, 28, 1), channel_order=None, mean=None, std=(255.0,), note="grayscale scaled to [0, 1]"
    ),
    paper_numbers={"Untied 3-LSTM test error (%)": 0.32, "Untied 3-LSTM with ReLU test error (%)": 0.36},
    head_layers=("output",), default_num_classes=10,
    parameters={"total": 779_626, "trainable": 779_626},
)


register(
    "grid_lstm_translation", builder="zoo.models.grid_lstm.grid_lstm:grid_lstm_translation",
    family="grid_lstm", task="sequence_prediction", paper=PAPER,
    section="translation experiment (the Reencoder): a 3-LSTM over source x target x depth",
    input_contract=InputContract(
        shape=(24,), dtype="int32", kind="tokens", channel_order=None, mean=None, sources=("tokens",),
        note="source_length source tokens, then the target tokens shifted right (a start token first)",
    ),
    paper_numbers={"3-LSTM BLEU Valid-1 / Test-1 / Valid-15 / Test-15 (IWSLT BTEC zh-en)": "30.3 / 42.4 / 51.8 / 60.2"},
    head_layers=("output",), default_num_classes=1000,
    parameters={"total": 1_133_800, "trainable": 1_133_800},
)
