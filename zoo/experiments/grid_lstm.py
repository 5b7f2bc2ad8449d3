"""The Grid LSTM paper's synthetic experiments at a scale a 2-core CPU runs in minutes.

    python -m zoo.experiments.grid_lstm parity     [--quick] [--out results/grid_lstm.json]
    python -m zoo.experiments.grid_lstm addition   [--quick]
    python -m zoo.experiments.grid_lstm memorization [--quick]
    python -m zoo.experiments.grid_lstm charlm     [--quick]
    python -m zoo.experiments.grid_lstm digits     [--quick]

Each writes its measured numbers, the configuration and the command under its own key of the
JSON file (other keys are kept). The paper's numbers (as Bastings' talk on it shows them) are stored beside ours under
"paper", labelled; ours are never the paper's. Training draws fresh examples for every step from
zoo.data.sequence.tasks (as the paper's "samples"), with Adam, and scores held-out test splits.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import numpy as np

from zoo.data.sequence import tasks as sequence_tasks

RESULTS = os.path.join("results", "grid_lstm.json")


def _keras():
    import keras

    return keras


def _compile(model, lr, clipnorm=1.0):
    keras = _keras()
    model.compile(
        optimizer=keras.optimizers.Adam(lr, clipnorm=clipnorm),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        # XLA on CPU made the unrolled LSTM grids' gradient steps several times slower here
        jit_compile=keras.backend.backend() != "tensorflow",
    )
    return model


def _sequence_accuracy(model, data, batch=500):
    """Fraction of sequences whose every masked position is predicted right, and per-position accuracy."""
    logits = model.predict(data["tokens"], batch_size=batch, verbose=0)
    right = (logits.argmax(-1) == data["targets"]) | (data["mask"] == 0)
    per_position = float(((logits.argmax(-1) == data["targets"]) * data["mask"]).sum() / data["mask"].sum())
    return float(right.all(axis=1).mean()), per_position


# ------------------------------------------------------------------------------------- parity


def train_parity(cell, num_bits, *, units, num_layers, max_samples, batch=32, lr=3e-3, eval_every=200, seed=0,
                 num_test=1000):
    """Train `grid_lstm_parity` (cell "lstm", "tanh" or "relu") on fresh k-bit strings until it
    classifies every one of `num_test` held-out strings right ("solved", the paper's dots:
    100% accuracy) or `max_samples` strings were seen. Returns the samples used and the test accuracy."""
    keras = _keras()
    from zoo.models.grid_lstm.grid_lstm import grid_lstm_parity

    keras.utils.set_random_seed(seed)
    model = _compile(grid_lstm_parity(input_shape=(num_bits,), units=units, num_layers=num_layers, cell=cell), lr)
    steps = max_samples // batch
    train = sequence_tasks.parity("train", num_examples=steps * batch, seed=seed, num_bits=num_bits)
    test = sequence_tasks.parity("test", num_examples=num_test, seed=seed, num_bits=num_bits)
    accuracy, step = 0.0, 0
    for step in range(1, steps + 1):
        sl = slice((step - 1) * batch, step * batch)
        model.train_on_batch(train["bits"][sl], train["label"][sl])
        if step % eval_every == 0 or step == steps:
            pred = model.predict(test["bits"], batch_size=500, verbose=0).argmax(-1)
            accuracy = float((pred == test["label"]).mean())
            if accuracy == 1.0:
                break
    return {"solved": accuracy == 1.0, "test_accuracy": accuracy, "samples": step * batch}


def parity_sweep(configs, ks, *, max_samples, seed=0, log=print):
    """Largest k solved per configuration. For each model, k goes up the list until a k is not
    solved within `max_samples` (larger k are then not tried: parity does not get easier)."""
    out = {}
    for name, cfg in configs.items():
        runs, largest = [], 0
        for k in ks:
            t = time.time()
            r = train_parity(cfg["cell"], k, units=cfg["units"], num_layers=cfg["num_layers"],
                             max_samples=max_samples, seed=seed)
            r.update(k=k, seconds=round(time.time() - t, 1))
            runs.append(r)
            log(f"parity {name} k={k}: {r}")
            if not r["solved"]:
                break
            largest = k
        out[name] = {**cfg, "largest_k_solved": largest, "runs": runs}
    return out


PARITY_PAPER = {
    "Tied tanh FFN (5 layers, 1500 hidden)": 30,
    "Tied ReLU FFN (4 layers, 1500 hidden)": 30,
    "Tied 1-LSTM (72 layers, 1500 hidden)": 220,
    "Tied 1-LSTM (148 layers, 500 hidden)": 250,
}


def run_parity(quick):
    units = 64
    configs = {
        "tied_1lstm": {"cell": "lstm", "units": units, "num_layers": 16},
        "tied_tanh_ffn": {"cell": "tanh", "units": units, "num_layers": 5},
        "tied_relu_ffn": {"cell": "relu", "units": units, "num_layers": 4},
    }
    ks = [10, 12, 14] if quick else [4, 6, 8, 10, 12, 14, 16, 20]
    max_samples = 300_000 if quick else 400_000
    result = parity_sweep(configs, ks, max_samples=max_samples)
    return {
        "what": "largest k (from the list) at 100% accuracy on 1000 held-out k-bit strings, trained on fresh strings",
        "k_tried": ks, "max_samples_per_k": max_samples, "optimizer": "Adam 3e-3, clipnorm 1, batch 32",
        "initialisation": "he_normal kernels (projections, block, ffn)",
        "input": "bits as 0.0/1.0, mapped to -1/+1 in the model (signed_bits)",
        "models": result, "paper_largest_k": PARITY_PAPER,
    }


# ----------------------------------------------------------------------------------- addition


ADDITION_PAPER = {
    "Stacked LSTM (1 layer), 5M samples": "51%",
    "Untied 2-LSTM (5 layers), 5M samples": "67%",
    "Tied 2-LSTM (18 layers), 0.55M samples": ">99%",
}


def train_sequence_task(builder, task, task_options, *, model_options, samples, batch=32, lr=1e-3, seed=0,
                        num_test=500, eval_every=None, threshold=None):
    """Train on `samples` fresh examples of `task` (loss on the masked positions), then return the
    test sequence accuracy; with `threshold`, stop once the per-position test accuracy reaches it and
    report the samples it took (evaluated every `eval_every` steps)."""
    keras = _keras()
    keras.utils.set_random_seed(seed)
    train = sequence_tasks.generate(task, "train", samples, seed=seed, **task_options)
    test = sequence_tasks.generate(task, "test", num_test, seed=seed, **task_options)
    length = train["tokens"].shape[1]
    model = _compile(builder(input_shape=(length,), **model_options), lr)
    steps, reached = samples // batch, None
    for step in range(1, steps + 1):
        sl = slice((step - 1) * batch, step * batch)
        model.train_on_batch(train["tokens"][sl], train["targets"][sl], sample_weight=train["mask"][sl])
        if threshold is not None and step % eval_every == 0:
            if _sequence_accuracy(model, test)[1] >= threshold:
                reached = step * batch
                break
    seq_acc, pos_acc = _sequence_accuracy(model, test)
    return {"sequence_accuracy": seq_acc, "digit_accuracy": pos_acc, "samples": step * batch,
            "samples_to_threshold": reached, "parameters": int(model.count_params())}


def run_addition(quick):
    """2-digit addition, 64 units, 60k samples for every model (the same with --quick: about 3 minutes).

    Depths follow the slides' pattern (tied deeper than untied, stacked 1 layer): tied 8, untied 4.
    Measured here (results/grid_lstm.json): both 2-LSTMs beat the stacked LSTM, as in the paper,
    but the untied 2-LSTM beat the tied one (the paper's tied > untied is not reproduced at this
    scale; 2 digits leave little of the repetition the slides credit for the tied model's lead).
    """
    from zoo.models.grid_lstm.grid_lstm import grid_lstm_addition

    num_digits, samples, units = 2, 60_000, 64
    variants = {
        "tied_2lstm": {"variant": "tied", "num_layers": 8},
        "untied_2lstm": {"variant": "untied", "num_layers": 4},
        "stacked_lstm": {"variant": "stacked", "num_layers": 1},
    }
    out = {}
    for name, options in variants.items():
        t = time.time()
        r = train_sequence_task(grid_lstm_addition, "addition", {"num_digits": num_digits},
                                model_options={"units": units, **options}, samples=samples, batch=64, lr=3e-3)
        out[name] = {**options, "units": units, **r, "seconds": round(time.time() - t, 1)}
        print(f"addition {name}: {out[name]}")
    return {
        "what": f"{num_digits}-digit addition: test sequence accuracy (all {num_digits + 1} sum digits right, "
                "500 held-out sums) after the same number of training samples",
        "num_digits": num_digits, "samples": samples, "optimizer": "Adam 3e-3, clipnorm 1, batch 64",
        "models": out, "paper": ADDITION_PAPER,
    }


# ------------------------------------------------------------------------------- memorization


# Our thresholds for "memorised" (the slides chart samples to a threshold without giving one): for the 20 symbols of
# the full run (and notebooks/grid_lstm.ipynb), half the echoed symbols right (chance: 1/10; 0.9 was out of reach
# within 60k samples); for the 5 symbols of --quick (the slow test tier), 0.9.
MEMORIZATION_THRESHOLD = 0.5
MEMORIZATION_THRESHOLD_QUICK = 0.9


def run_memorization(quick):
    from zoo.models.grid_lstm.grid_lstm import grid_lstm_memorization

    num_symbols = 5 if quick else 20
    threshold = MEMORIZATION_THRESHOLD_QUICK if quick else MEMORIZATION_THRESHOLD
    samples = 20_000 if quick else 40_000
    variants = {
        "tied_2lstm": {"variant": "tied", "num_layers": 2},
        "stacked_lstm": {"variant": "stacked", "num_layers": 1},
    }
    out = {}
    for name, options in variants.items():
        t = time.time()
        r = train_sequence_task(grid_lstm_memorization, "memorization", {"num_symbols": num_symbols},
                                model_options={"units": 100, **options}, samples=samples, threshold=threshold,
                                eval_every=50, batch=64, lr=3e-3)
        out[name] = {**options, "units": 100, **r, "seconds": round(time.time() - t, 1)}
        print(f"memorization {name}: {out[name]}")
    return {
        "what": f"samples until the per-symbol echo accuracy on 500 test sequences reaches {threshold} "
                f"(our threshold; the slides give none), {num_symbols} symbols, alphabet 10, 100 hidden units",
        "num_symbols": num_symbols, "threshold": threshold, "max_samples": samples, "models": out,
        "paper": "chart only (samples to a threshold, 100 hidden units): no number in the slides",
    }


# ------------------------------------------------------------------------------------ char-LM


def run_charlm(quick):
    keras = _keras()
    from zoo.models.grid_lstm.grid_lstm import grid_lstm_charlm

    length, units, layers = 50, 64, 2
    epochs = 1 if quick else 3
    train = sequence_tasks.pydoc_text("train", sequence_length=length)
    test = sequence_tasks.pydoc_text("test", sequence_length=length)
    if quick:
        train = {k: v[:1000] for k, v in train.items()}
    keras.utils.set_random_seed(0)
    model = _compile(grid_lstm_charlm(num_classes=256, input_shape=(length,), units=units, num_layers=layers), 3e-3)
    t = time.time()
    model.fit(train["tokens"], train["targets"], batch_size=32, epochs=epochs, verbose=0, shuffle=True)
    nats = model.evaluate(test["tokens"], test["targets"], batch_size=256, verbose=0)
    bpc = float(nats / np.log(2))
    print(f"charlm: {bpc:.3f} bits per byte")
    return {
        "what": "bits per character (byte) on the last 5% of the pydoc_text stand-in, windows of 50 bytes "
                "without carried state; NOT comparable to the paper's enwik8 number",
        "dataset": "pydoc_text (stand-in for enwik8)", "bits_per_character": bpc, "units": units,
        "num_layers": layers, "epochs": epochs, "train_windows": int(len(train["tokens"])),
        "parameters": int(model.count_params()), "seconds": round(time.time() - t, 1),
        "paper": {"Tied 2-LSTM, enwik8 last 5MB, 16.8M parameters": 1.47},
    }


# --------------------------------------------------------------------------------------- digits


def run_digits(quick):
    keras = _keras()
    from sklearn.datasets import load_digits

    from zoo.models.grid_lstm.grid_lstm import grid_lstm_mnist

    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[..., None]  # 8x8, values 0..16
    y = digits.target.astype(np.int32)
    order = np.random.default_rng(0).permutation(len(x))
    test, train = order[:360], order[360:]
    keras.utils.set_random_seed(0)
    out = {}
    for transfer in ("lstm", "relu"):
        model = _compile(grid_lstm_mnist(input_shape=(8, 8, 1), patch_size=2, units=32, num_layers=2,
                                         depth_transfer=transfer, fc_units=64), 3e-3)
        t = time.time()
        model.fit(x[train], y[train], batch_size=32, epochs=5 if quick else 30, verbose=0)
        pred = model.predict(x[test], verbose=0).argmax(-1)
        out[f"untied_3lstm_{transfer}_depth"] = {"test_error_percent": float(100 * (pred != y[test]).mean()),
                                                 "seconds": round(time.time() - t, 1)}
        print(f"digits {transfer}: {out[f'untied_3lstm_{transfer}_depth']}")
    return {
        "what": "scikit-learn digits (8x8; a stand-in for MNIST, not MNIST): 2x2 patches -> 4x4 grid, 2 layers, "
                "32 units; 1437 train / 360 test images; NOT comparable to the paper's MNIST error",
        "models": out, "paper": {"Untied 3-LSTM MNIST test error (%)": 0.32, "with ReLU": 0.36},
    }


EXPERIMENTS = {"parity": run_parity, "addition": run_addition, "memorization": run_memorization,
               "charlm": run_charlm, "digits": run_digits}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiment", choices=sorted(EXPERIMENTS))
    parser.add_argument("--quick", action="store_true", help="the smaller configuration of the test tier")
    parser.add_argument("--out", default=RESULTS)
    args = parser.parse_args(argv)
    keras = _keras()
    t = time.time()
    result = EXPERIMENTS[args.experiment](args.quick)
    result["command"] = "python -m zoo.experiments.grid_lstm " + " ".join(argv or sys.argv[1:])
    result["environment"] = {"backend": keras.backend.backend(), "keras": keras.__version__,
                             "python": platform.python_version(), "cpus": os.cpu_count(),
                             "total_seconds": round(time.time() - t, 1)}
    if args.out:
        results = {}
        if os.path.exists(args.out):
            with open(args.out) as f:
                results = json.load(f)
        results[args.experiment + ("_quick" if args.quick else "")] = result
        os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
        tmp = args.out + ".tmp"
        with open(tmp, "w") as f:
            json.dump(results, f, indent=1, sort_keys=True)
        os.replace(tmp, args.out)
    return result


if __name__ == "__main__":
    main()
