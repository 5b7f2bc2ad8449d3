"""The `zoo` command (also `python -m zoo`).

    zoo list [PATTERN]            registered models (fnmatch pattern)
    zoo info NAME                 model card: paper, input contract, parameters, recipes, weights
    zoo recipes [PATTERN]         recipes under zoo/recipes/
    zoo train RECIPE              train a recipe (resumes from its backup when rerun)
    zoo eval RECIPE --weights W   evaluate weights on the recipe's evaluation split
    zoo export NAME --format savedmodel|tflite|onnx --out PATH [--input-shape H,W] [--tokens-length T]
    zoo predict NAME IMAGE... --weights W|--random-weights --out FILE.png
    zoo convert NAME --weights ORIGINAL --out FILE.weights.h5 [--num-classes N]
    zoo bench NAME...             speed and memory, beside PyTorch with --compare-torch (`zoo bench --help`)
    zoo visualize COMMAND NAME    occlusion|deconv|patches|invert|maximize|dream|style|fields, writing PNGs
    zoo docs [--out DIR]          the documentation site, generated from the registry (default DIR: site)

Errors are one sentence on stderr (exit status 2); `--debug` shows the traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _shape(text):
    try:
        parts = [int(p) for p in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected H,W or H,W,C integers, got {text!r}") from None
    if len(parts) not in (2, 3) or any(p <= 0 for p in parts):
        raise argparse.ArgumentTypeError(f"expected H,W or H,W,C positive integers, got {text!r}")
    return tuple(parts)


def _positive(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer (at least 1), got {value}")
    return value


def _parser():
    p = argparse.ArgumentParser(prog="zoo", description="Reference Keras 3 implementations of landmark vision papers.")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    p.add_argument("--allow-unverified", action="store_true",
                   help="download registered weights whose releaser published no hash (the VGG Caffe models), unchecked")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("list", help="list registered models")
    s.add_argument("pattern", nargs="?", default="*")
    s.add_argument("--pretrained", action="store_true", help="list NAME.TAG for registered weights instead")

    s = sub.add_parser("info", help="show a model card")
    s.add_argument("name")

    s = sub.add_parser("recipes", help="list recipes")
    s.add_argument("pattern", nargs="?", default="*")

    s = sub.add_parser("train", help="train a recipe")
    s.add_argument("recipe", help="recipe name (file stem under zoo/recipes/) or path to a .toml file")
    s.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a recipe field, e.g. --set optimizer.learning_rate=1e-4 (repeatable)")
    s.add_argument("--strategy", choices=["default", "mirrored", "multi_worker", "parameter_server", "tpu"])
    s.add_argument("--workdir", help="run directory (default runs/RECIPE)")
    s.add_argument("--fresh", action="store_true", help="discard an earlier run in the work directory")
    s.add_argument("--cpu-replicas", type=int, default=2, help="logical CPU devices for 'mirrored' without GPUs")
    s.add_argument("--max-steps", type=_positive, help="stop after this many steps (resumable)")

    s = sub.add_parser("eval", help="evaluate weights on a recipe's evaluation split")
    s.add_argument("recipe")
    s.add_argument("--weights", required=True)
    s.add_argument("--split", help="split to evaluate (default: the recipe's eval_split)")
    s.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    s.add_argument("--out", help="write the metrics as JSON here")

    s = sub.add_parser("export", help="export a model to SavedModel, TFLite or ONNX, checked against Keras")
    s.add_argument("name")
    s.add_argument("--weights")
    s.add_argument("--input-shape", type=_shape, help="H,W (or H,W,C) of the exported input, or of every image "
                   "input of a model with several (FCN RGB-HHA's color and hha); TFLite needs it for free sizes")
    s.add_argument("--tokens-length", type=int, help="length T of the token inputs (a captioner's words) where the "
                   "model leaves it free (built without max_words); TFLite needs it then")
    s.add_argument("--format", required=True, choices=["savedmodel", "tflite", "onnx"],
                   help="onnx needs the onnx extra: pip install 'zoo[onnx]'")
    s.add_argument("--quantize", choices=["fp16", "int8"])
    s.add_argument("--out", required=True, help="SavedModel directory, .tflite or .onnx file (or a directory for it)")
    s.add_argument("--overwrite", action="store_true")
    s.add_argument("--allow-flex", action="store_true", help="allow TensorFlow (Flex) ops in TFLite")
    s.add_argument("--calibration-data", help="dataset for int8: calibrated on its train split, the task metric "
                   "measured on its validation split (default: the weights' dataset)")
    s.add_argument("--calibration-examples", type=_positive, default=32,
                   help="int8: images to calibrate on, and to measure the task metric on")

    s = sub.add_parser("predict", help="run a model on images and write a picture of its predictions")
    s.add_argument("name")
    s.add_argument("images", nargs="+")
    s.add_argument("--weights", help="a registered tag or a weights file (a run's final.weights.h5)")
    s.add_argument("--random-weights", action="store_true",
                   help="predict with the untrained, randomly initialised model (to check the pipeline)")
    s.add_argument("--out", required=True, help="PNG file")

    s = sub.add_parser("convert", help="convert original released weights into a Keras weights file")
    s.add_argument("name")
    s.add_argument("--weights", required=True, help=".caffemodel, keras.applications .h5, ...")
    s.add_argument("--out", required=True, help="FILE.weights.h5")
    s.add_argument("--num-classes", type=_positive, help="head size of the converted model (default: the model's; "
                   "a file with another head size needs it: its own to keep the head, another to re-initialise it)")

    _bench_parsers(sub)
    from zoo.visualize.cli import add_parser as add_visualize  # argparse only at import

    add_visualize(sub)
    from zoo.docs_site import add_arguments as add_docs  # argparse only at import

    add_docs(sub.add_parser("docs", help="build the documentation site from the registry (pip install 'zoo[docs]')"))
    return p


def _bench_parsers(sub):
    """`zoo bench` and `zoo bench-input`."""
    from zoo import bench  # zoo.bench loads only the standard library and NumPy

    s = sub.add_parser("bench", help="measure speed and memory, optionally beside PyTorch",
                       description="Speed and memory on synthetic inputs, each configuration in a fresh process "
                                   "(zoo/bench/__init__.py explains what is measured).")
    s.add_argument("names", nargs="+")
    s.add_argument("--mode", choices=bench.MODES, default="infer",
                   help="infer: latency at batch 1 and throughput at --batch; train: the runner's step at --batch; "
                        "detect: seconds per image of a detector (rcnn_*, fast_rcnn_*) with --proposals boxes")
    s.add_argument("--proposals", type=int, default=2000, help="--mode detect: proposals per image (default 2000)")
    s.add_argument("--batch", type=int, default=1)
    s.add_argument("--input-shape", type=_shape, help="H,W (or H,W,C); default the model's size, 224 if free")
    s.add_argument("--dtype", choices=bench.DTYPES, default="float32", help="Keras dtype policy")
    s.add_argument("--xla", action=argparse.BooleanOptionalAction, default=None,
                   help="jit-compile with XLA (TensorFlow; JAX always does)")
    s.add_argument("--backend", choices=bench.BACKENDS, default="tensorflow")
    s.add_argument("--runtime", choices=bench.RUNTIMES, default="keras",
                   help="time the Keras model or an export of it (inference only)")
    s.add_argument("--compare-torch", nargs="?", const="eager", default=False, choices=bench.TORCH_MODES,
                   help="also time the PyTorch twin (vgg16, resnet50, fcn8s), eager (the default) or through "
                        "torch.compile; needs pip install 'zoo[bench]'")
    s.add_argument("--threads", type=int, help="intra-op threads of TensorFlow, PyTorch and LiteRT (default: CPUs)")
    s.add_argument("--repeats", type=int, default=10)
    s.add_argument("--warmup", type=int, default=2)
    s.add_argument("--set", dest="options", action="append", default=[], metavar="KEY=VALUE",
                   help="builder option, e.g. --set width=16")
    _bench_out(s)

    s = sub.add_parser("bench-input", help="measure a recipe's tf.data training stream alone",
                       description="Batches per second of a recipe's training input pipeline with no model consuming "
                                   "them (zoo/bench/input.py); compare with `zoo bench NAME --mode train`.")
    s.add_argument("recipe")
    s.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a recipe field, e.g. --set data.manual_dir=/data (repeatable)")
    s.add_argument("--batches", type=int, default=200)
    s.add_argument("--warmup", type=int, default=10)
    _bench_out(s)


def _bench_out(s):
    """`--out` and `--record` of `zoo bench` and `zoo bench-input`."""
    s.add_argument("--out", "--results-dir", dest="out", metavar="DIR",
                   help="folder the CSVs are appended to (default: the user's cache, ~/.cache/zoo/bench on Linux, "
                        "or $ZOO_BENCH_DIR; printed at the end)")
    s.add_argument("--record", action="store_true",
                   help="also append the rows to the repository's results/ (the README's Performance section)")


def _model_from_weights(name, weights, **extra):
    """Build NAME with the builder options recorded beside a weights file (the runner's sidecar)."""
    import zoo
    from zoo import weights as weights_mod

    meta = weights_mod.read_sidecar(weights) if weights and Path(weights).is_file() else None
    return zoo.get(name, weights=weights, **extra), meta


def cmd_list(args):
    import zoo

    names = zoo.list_models(args.pattern, pretrained=args.pretrained)
    if not names:
        print(f"no models match {args.pattern!r}", file=sys.stderr)
        return 1
    cards = {n: zoo.registry.card(n) for n in names}
    name_width = max(len(n) for n in names)
    task_width = max(len(c.task) for c in cards.values())  # columns as wide as their longest entry
    for n, c in cards.items():
        aliases = f"  (also {', '.join(c.aliases)})" if c.aliases and not args.pretrained else ""
        print(f"{n:<{name_width}}  {c.task:<{task_width}}  {c.paper}, {c.section}{aliases}")
    return 0


def cmd_info(args):
    import zoo

    print(zoo.info(args.name))
    return 0


def cmd_recipes(args):
    import fnmatch

    from zoo import recipe_files

    for name in recipe_files.list_recipes():
        if fnmatch.fnmatch(name, args.pattern):
            print(recipe_files.describe(name))
    return 0


def cmd_train(args):
    from zoo.training import runner

    recipe = runner.load_recipe(args.recipe, args.overrides, args.strategy)
    workdir = Path(args.workdir or Path("runs") / recipe.name)
    print(f"training {recipe.model.name} on {recipe.data.name} ({recipe.name}, strategy {recipe.train.strategy}) in {workdir}")
    result = runner.train(recipe, workdir, cpu_replicas=args.cpu_replicas, fresh=args.fresh, max_steps=args.max_steps)
    if result.steps == result.resumed_from:  # a finished run, rerun: nothing left to train
        print(f"done: the run had already finished its {result.steps} steps; nothing to train ({result.seconds:.1f}s)")
    else:
        print(f"done: {result.steps} steps in {result.seconds:.1f}s, final loss {result.final_loss:.5g}")
    if result.metrics:
        print("eval: " + ", ".join(f"{k} {v:.4f}" for k, v in result.metrics.items()))
    if result.weights:
        print(f"weights: {result.weights}")
    return 0


def cmd_eval(args):
    from zoo import registry
    from zoo.tasks.base import reraise_data_errors
    from zoo.training import runner

    recipe = runner.load_recipe(args.recipe, args.overrides)
    card = registry.card(recipe.model.name)
    model, _ = _model_from_weights(recipe.model.name, args.weights)
    if args.split:
        recipe.data.eval_split = args.split
    _, eval_ds, _ = runner.make_datasets(recipe, card, start_step=0, model=model)
    t0 = time.time()
    with reraise_data_errors():
        metrics = runner.evaluate(model, eval_ds, card, recipe.loss.ignore_label, eval_cfg=recipe.eval, recipe=recipe)
    print(f"{recipe.model.name} on {recipe.data.name}/{recipe.data.eval_split} ({time.time() - t0:.1f}s):")
    for k, v in metrics.items():
        print(f"  {k:<16} {v:.4f}")
    if args.out:
        Path(args.out).write_text(json.dumps({"split": recipe.data.eval_split, **metrics}, indent=2))
    return 0


def _examples(dataset, split, contract, input_shape, n, task):
    """(network inputs, labels or None) of `n` examples of a dataset split, resized to the export size."""
    import numpy as np
    import tensorflow as tf

    from zoo import data as data_mod
    from zoo.preprocessing import ImagePreprocessing

    pre = ImagePreprocessing.from_contract(contract)
    xs, ys = [], []
    for ex in data_mod.load(dataset, split).take(n):
        img = tf.image.resize(ex["image"], input_shape[:2], method="bilinear")
        xs.append(pre(img[None]).numpy())
        if task == "segmentation":
            seg = tf.image.resize(ex["segmentation"][..., None], input_shape[:2], method="nearest")[..., 0]
            ys.append(seg.numpy())
    return np.concatenate(xs), (np.stack(ys) if ys else None)


def _export_shapes(card, model, args, *, fixed):
    """{input name: shape} for a model with several inputs: --input-shape for every image input,
    --tokens-length for every token input (a stream of kind "tokens", or without streams an
    integer input of free length), the model's own shape for the others."""
    from zoo.errors import ConfigError

    streams = {s.name: s for s in card.input_contract.streams}
    shapes = {}
    for t in model.inputs:
        own = tuple(t.shape[1:])
        stream = streams.get(t.name)
        kind = stream.kind if stream else ("tokens" if "int" in str(t.dtype) and None in own else "other")
        shape = own
        if kind == "image" and args.input_shape:
            shape = args.input_shape if len(args.input_shape) == 3 else (*args.input_shape, own[-1])
        elif kind == "tokens" and args.tokens_length:
            shape = (args.tokens_length,)
        if fixed and None in shape:
            fix = {"image": "pass --input-shape H,W", "tokens": "pass --tokens-length T"}.get(kind, "build it fixed")
            raise ConfigError(f"TFLite needs a fixed size for input {t.name!r} of {card.name} (it takes {own}): {fix}")
        shapes[t.name] = shape
    return shapes


def cmd_export(args):
    import numpy as np

    from zoo import export, registry
    from zoo.errors import ConfigError

    card = registry.card(args.name)
    if args.format != "tflite" and args.quantize:
        raise ConfigError(f"--quantize {args.quantize} applies to --format tflite; --format {args.format} keeps the "
                          "model's float weights. Drop --quantize, or pass --format tflite")
    model, meta = _model_from_weights(args.name, args.weights)
    if len(model.inputs) > 1:
        shape = _export_shapes(card, model, args, fixed=args.format == "tflite")
    else:
        shape = args.input_shape
        if shape is not None and len(shape) == 2:
            shape = (*shape, card.input_contract.shape[-1])
        if card.input_contract.kind == "tokens" and args.tokens_length:
            shape = (args.tokens_length,)
    out, dataset = Path(args.out), None
    if args.format == "savedmodel":
        report = export.export_savedmodel(model, out, input_contract=card.input_contract, input_shape=shape,
                                          overwrite=args.overwrite)
    elif args.format == "onnx":
        if out.suffix != ".onnx":
            out = out / f"{args.name}.onnx"
        report = export.export_onnx(model, out, input_contract=card.input_contract, input_shape=shape,
                                    overwrite=args.overwrite)
    else:
        if isinstance(shape, dict) and args.quantize == "int8":
            raise ConfigError(f"{args.name} has several inputs; int8 calibration from the command line takes "
                              "single-image models: call zoo.export.export_tflite with representative_data dicts")
        if shape is None:
            fixed = card.input_contract.shape
            if any(s is None for s in fixed):
                raise ConfigError(f"TFLite needs a fixed input size: pass --input-shape H,W ({args.name} takes any size)")
            shape = tuple(fixed)
        if out.suffix != ".tflite":
            out = out / f"{args.name}{'-' + args.quantize if args.quantize else ''}.tflite"
        rep, metric_fn = None, None
        dataset = args.calibration_data or (meta or {}).get("dataset")
        if args.quantize == "int8":
            if not dataset:
                raise ConfigError("int8 needs calibration data: pass --calibration-data DATASET (or weights with a sidecar)")
            # calibrate on training images; measure the task metric on held-out validation images
            calib, _ = _examples(dataset, "train", card.input_contract, shape, args.calibration_examples, card.task)
            rep = [calib[i:i + 1] for i in range(len(calib))]
            xs, ys = _examples(dataset, "validation", card.input_contract, shape, args.calibration_examples, card.task)
            if ys is not None:
                from zoo import tasks

                task = tasks.get(card.task)

                def metric_fn(keras_out, tflite_out, ys=ys):
                    """The task's own metrics of each model's outputs on the held-out images."""
                    res = {}
                    for key, out_ in (("keras_fp32", keras_out), ("tflite_int8", tflite_out)):
                        evaluator = task.evaluator(model)
                        evaluator.update(np.asarray(out_), ys)
                        res[key] = evaluator.result()
                    return res

            report = export.export_tflite(model, out, input_shape=shape, quantize="int8", representative_data=rep,
                                          allow_flex=args.allow_flex, overwrite=args.overwrite,
                                          check_inputs=xs, metric_fn=metric_fn, input_contract=card.input_contract)
        else:
            report = export.export_tflite(model, out, input_shape=shape, quantize=args.quantize,
                                          allow_flex=args.allow_flex, overwrite=args.overwrite,
                                          input_contract=card.input_contract)
    _print_export(args.name, report, dataset if args.format == "tflite" and args.quantize == "int8" else None)
    return 0


def _print_export(name, report, int8_dataset=None):
    """What `zoo export` wrote and how well it matched Keras (and, for int8, on how many images)."""
    print(f"exported {name} to {report.path} ({report.size_bytes / 1e6:.2f} MB)")
    if int8_dataset:
        print(f"  int8: calibrated on {report.calibration_examples} {int8_dataset} train images; parity and metrics on "
              f"{report.checked_examples} {int8_dataset} validation images")
    if report.max_abs_diff is not None and report.tolerance is not None:
        print(f"  parity on {report.checked_examples} inputs: max |keras - export| = {report.max_abs_diff:.3g} "
              f"(output scale {report.output_scale:.3g}, tolerance {report.tolerance:.3g})")
    if len(report.outputs) > 1:
        for row in report.outputs:
            print(f"    output {row['name']}: max |keras - export| = {row['max_abs_diff']:.3g} "
                  f"(output scale {row['output_scale']:.3g})")
    for k, v in (report.metrics or {}).items():
        print(f"  {k}: " + (", ".join(f"{m} {x:.4f}" for m, x in v.items()) if isinstance(v, dict) else str(v)))


def cmd_predict(args):
    from zoo import registry
    from zoo.predict import class_names_of, predict_to_png

    card = registry.card(args.name)
    tag = registry.split_name(args.name)[1]
    if not args.weights and not tag and not args.random_weights:
        from zoo.errors import ConfigError

        tags = ", ".join(card.weights) or "none registered"
        raise ConfigError(f"zoo predict needs weights: pass --weights PATH (a run's final.weights.h5) or --weights TAG "
                          f"({card.name}'s: {tags}); --random-weights predicts with the untrained model")
    model, meta = _model_from_weights(args.name, args.weights)
    lines = []
    path = predict_to_png(model, card, args.images, args.out, class_names=class_names_of(card, args.weights or tag, meta),
                          report=lines)
    print("\n".join(lines))
    print(f"wrote {path}")
    return 0


def cmd_convert(args):
    from zoo import registry
    from zoo import weights as weights_mod
    from zoo.errors import ConfigError
    from zoo.training.runner import save_weights_atomic

    out = Path(args.out)
    if not out.name.endswith(".weights.h5"):
        raise ConfigError(f"--out must end in .weights.h5, got {out.name}")
    card = registry.card(args.name)
    options = {**weights_mod.recorded_options(args.name, args.weights)}
    if args.num_classes:
        options["num_classes"] = args.num_classes
    model = card.builder(**options)
    report = weights_mod.load_into(model, args.weights, card=card, build_kwargs=options)
    fresh = [name for name in report["initialised"] if name in card.head_layers]
    if fresh and not args.num_classes:
        raise ConfigError(f"the head of {args.weights} scores another number of classes than {card.name}'s "
                          f"{options.get('num_classes', card.default_num_classes)}: its layers {', '.join(fresh)} would "
                          "be re-initialised. Pass --num-classes N with the file's number of classes to keep its head, "
                          "or with another to re-initialise it")
    if fresh:
        print(f"re-initialised for {args.num_classes} classes (not in the file): {', '.join(fresh)}")
    try:
        save_weights_atomic(model, out)
    except OSError as e:
        raise ConfigError(f"cannot write {out}: {e.strerror}; choose another --out") from e
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")
    return 0


def cmd_bench_input(args):
    from zoo.bench.input import run

    return run(args)


def cmd_visualize(args):
    from zoo.visualize.cli import run

    return run(args, _model_from_weights)


def cmd_bench(args):
    from zoo.bench import run_bench

    return run_bench(args)


def cmd_docs(args):
    from zoo.docs_site import run

    return run(args)


# Commands that run models in this process (bench measures in processes of its own).
TENSORFLOW_COMMANDS = ("train", "eval", "export", "predict", "convert", "bench-input", "visualize")


def _start_tensorflow_quietly(debug):
    """Import TensorFlow and make its first device and op with file descriptor 2 sent to a temporary
    file: its C++ start-up lines (absl's "All log messages before absl::InitializeLog()", the CUDA
    stub probing) are written before TF_CPP_MIN_LOG_LEVEL is read. They are shown if the start
    fails, or always with --debug."""
    if debug or "tensorflow" in sys.modules:
        return
    import tempfile

    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()  # probes the drivers; runs no op, so strategies can still split the CPU
        except ImportError:
            return  # no TensorFlow here: the command says what it needs, if it needs it
        except BaseException:
            os.dup2(saved, 2)
            captured.seek(0)
            sys.stderr.write(captured.read().decode("utf-8", "replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


COMMANDS = {
    "list": cmd_list, "info": cmd_info, "recipes": cmd_recipes, "train": cmd_train, "eval": cmd_eval,
    "export": cmd_export, "predict": cmd_predict, "convert": cmd_convert, "bench": cmd_bench, "bench-input": cmd_bench_input,
    "visualize": cmd_visualize, "docs": cmd_docs,
}


def main(argv=None):
    args = _parser().parse_args(argv)
    from zoo.errors import ZooError

    if args.allow_unverified:
        os.environ["ZOO_ALLOW_UNVERIFIED"] = "1"

    try:
        if args.command in TENSORFLOW_COMMANDS:
            _start_tensorflow_quietly(args.debug)
        return COMMANDS[args.command](args) or 0
    except ZooError as e:
        if args.debug:
            raise
        print(f"zoo {args.command}: {getattr(e, 'cli', None) or e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"zoo {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `zoo list | head`: the reader left; nothing to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as e:  # noqa: BLE001 - a bug of ours: one line, the traceback on request
        if args.debug:
            raise
        first = str(e).strip().splitlines()[0][:400] if str(e).strip() else ""
        print(f"zoo {args.command}: internal error: {type(e).__name__}: {first} (rerun with --debug for the traceback)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
