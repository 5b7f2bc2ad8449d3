"""`zoo bench`: inference latency and training throughput of registered models on synthetic inputs.

Results are printed as a table and appended to results/benchmark-<mode>-<backend>-<dtype>-<device>.csv
(the environment in the file name, as timm does), one row per model and run.
"""

from __future__ import annotations

import csv
import platform
import resource
import statistics
import time
from pathlib import Path

import numpy as np

RESULTS_DIR = Path("results")


def _device():
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            return tf.config.experimental.get_device_details(gpus[0]).get("device_name", "gpu").replace(" ", "_")
    return f"cpu{__import__('os').cpu_count()}-{platform.machine()}"


def _timeit(fn, warmup, repeats):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def bench_model(name, *, mode, batch, input_shape, warmup, repeats, options):
    import keras
    import tensorflow as tf

    import zoo
    from zoo.registry import card as get_card

    card = get_card(name)
    model = zoo.get(name, **options)
    shape = input_shape or tuple(card.input_contract.shape)
    if len(shape) == 2:
        shape = (*shape, card.input_contract.shape[-1])
    if any(s is None for s in shape):
        shape = tuple(224 if s is None else s for s in shape)
    x = tf.random.uniform((batch, *shape), -1.0, 1.0)
    params = int(sum(np.prod(w.shape) for w in model.weights))
    rows = []
    if mode in ("infer", "both"):
        forward = tf.function(lambda x: model(x, training=False), jit_compile=False)
        times = _timeit(lambda: tf.nest.map_structure(lambda t: t.numpy(), forward(x)), warmup, repeats)
        rows.append({"mode": "infer", "latency_ms_min": 1e3 * min(times), "latency_ms_median": 1e3 * statistics.median(times),
                     "latency_ms_max": 1e3 * max(times), "items_per_s": batch / statistics.median(times)})
    if mode in ("train", "both"):
        out = model.outputs[0]
        y = tf.zeros((batch, *out.shape[1:-1]), tf.int32)
        opt = keras.optimizers.SGD(1e-3, momentum=0.9)

        @tf.function
        def step():
            with tf.GradientTape() as tape:
                logits = model(x, training=True)
                logits = logits[0] if isinstance(logits, (list, tuple)) else logits
                loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
            grads = tape.gradient(loss, model.trainable_variables)
            opt.apply_gradients(zip(grads, model.trainable_variables))
            return loss

        times = _timeit(lambda: step().numpy(), warmup, repeats)
        rows.append({"mode": "train", "latency_ms_min": 1e3 * min(times), "latency_ms_median": 1e3 * statistics.median(times),
                     "latency_ms_max": 1e3 * max(times), "items_per_s": batch / statistics.median(times)})
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for r in rows:
        r.update({"model": name, "batch": batch, "input_shape": "x".join(map(str, shape)), "params": params,
                  "peak_rss_mb": round(peak_mb, 1), "options": ";".join(f"{k}={v}" for k, v in options.items())})
    return rows


def run_bench(args):
    import keras

    from zoo.training.recipes import parse_override

    options = {}
    for text in args.options:
        keys, value = parse_override(text)
        options[".".join(keys)] = value
    rows = []
    for name in args.names:
        rows += bench_model(name, mode=args.mode, batch=args.batch, input_shape=args.input_shape,
                            warmup=args.warmup, repeats=args.repeats, options=options)
    backend = keras.backend.backend()
    dtype = keras.config.dtype_policy().name
    RESULTS_DIR.mkdir(exist_ok=True)
    fields = ["model", "mode", "batch", "input_shape", "params", "latency_ms_min", "latency_ms_median",
              "latency_ms_max", "items_per_s", "peak_rss_mb", "options"]
    print(f"{'model':<20} {'mode':<6} {'batch':>5} {'input':>12} {'median ms':>10} {'items/s':>9} {'peak MB':>8}")
    for r in rows:
        print(f"{r['model']:<20} {r['mode']:<6} {r['batch']:>5} {r['input_shape']:>12} {r['latency_ms_median']:>10.2f} "
              f"{r['items_per_s']:>9.2f} {r['peak_rss_mb']:>8.0f}")
    by_mode = {}
    for r in rows:
        by_mode.setdefault(r["mode"], []).append(r)
    for mode, mode_rows in by_mode.items():
        path = RESULTS_DIR / f"benchmark-{mode}-{backend}-{dtype}-{_device()}.csv"
        new = not path.exists()
        with open(path, "a", newline="") as f:
            w = csv.DictWriter(f, fieldnames=fields)
            if new:
                w.writeheader()
            for r in mode_rows:
                w.writerow({k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items() if k in fields})
        print(f"appended to {path}")
    return 0
