"""Table 5.1 of Donahue thesis §5.3.2: BiGAN and its baselines compared by the 1-nearest-neighbour accuracy
of the test set in each model's learned features, the training set as the labelled reference.

Each method is a recipe family under zoo/recipes/bigan/ (`<prefix>` is bigan_mlp_digits for the offline stand-in,
bigan_mlp_mnist for the paper's setting):

- BiGAN: `<prefix>`, features E(x);
- D: the discriminator of a standard GAN, `<prefix>_lr_gan`, features of D's last hidden layer (act2);
- LR: `<prefix>_lr_gan` then `<prefix>_lr` (E on E(G(z)) with G fixed), features E(x);
- JLR: `<prefix>_jlr`, features E(x);
- AE (l2), AE (l1): `<prefix>_ae_l2`, `<prefix>_ae_l1`, features E(x).

The thesis does not say which layer of D it reads; its last hidden layer is our choice. Each run is the
recipe with `train.seed` set (and any overrides, e.g. fewer steps for a demonstration), in
<workdir>/<recipe>/seed<k>; a finished run is reused (the runner resumes from its backup).

    python -m zoo.experiments.bigan --prefix bigan_mlp_digits --seeds 0 1 2 --workdir runs/table_5_1
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from zoo.errors import ZooError

METHODS = {  # method -> (recipe suffix, the sub-model whose features are compared, its layer or None: the output)
    "BiGAN": ("", "encoder", None), "D": ("_lr_gan", "discriminator", "act2"), "LR": ("_lr", "encoder", None),
    "JLR": ("_jlr", "encoder", None), "AE (l2)": ("_ae_l2", "encoder", None), "AE (l1)": ("_ae_l1", "encoder", None),
}


def split_arrays(recipe, split):
    """(model inputs, labels) of a recipe's dataset split, preprocessed as the model's contract says."""
    from zoo import registry
    from zoo.data import registry as data_registry
    from zoo.tasks.base import model_input

    to_input = model_input(registry.card(recipe.model.name).input_contract)
    ds = data_registry.load(recipe.data.name, split, **recipe.data.options)
    xs, ys = zip(*((np.asarray(to_input(ex)), int(ex["label"])) for ex in ds))
    return np.stack(xs), np.array(ys)


def features(model, sub_model: str, layer, x, batch_size: int = 256) -> np.ndarray:
    import keras

    net = model.get_layer(sub_model)
    if layer is not None:
        net = keras.Model(net.inputs[0] if len(net.inputs) == 1 else net.inputs, net.get_layer(layer).output)
    return np.concatenate([np.asarray(net(x[i:i + batch_size], training=False)).reshape(len(x[i:i + batch_size]), -1)
                           for i in range(0, len(x), batch_size)])


def run_method(method, prefix, seed, workdir, overrides=()):
    """Train the method's recipe(s) for `seed`; returns the trained model and its recipe."""
    from zoo.training import recipes, runner

    suffix = METHODS[method][0]
    common = [f"train.seed={seed}", *overrides]
    if method == "LR":  # stage 1: the GAN; stage 2: E alone from its final weights
        gan_dir = Path(workdir) / f"{prefix}_lr_gan" / f"seed{seed}"
        runner.train(recipes.load(f"{prefix}_lr_gan", common), gan_dir)
        common.append(f"model.weights={gan_dir / 'final.weights.h5'}")
    recipe = recipes.load(f"{prefix}{suffix}", common)
    return runner.train(recipe, Path(workdir) / f"{prefix}{suffix}" / f"seed{seed}").model, recipe


def table_5_1(prefix="bigan_mlp_digits", seeds=(0,), workdir="runs/table_5_1", overrides=(), methods=tuple(METHODS),
              log=print) -> dict:
    """{method: [1-NN accuracy (%) per seed]} of the test split in each method's features."""
    from zoo.metrics.nearest_neighbour import one_nn_accuracy

    results = {m: [] for m in methods}
    for seed in seeds:
        for method in methods:
            model, recipe = run_method(method, prefix, seed, workdir, overrides)
            train_x, train_y = split_arrays(recipe, recipe.data.train_split)
            test_x, test_y = split_arrays(recipe, recipe.data.eval_split)
            _, sub, layer = METHODS[method]
            accuracy = one_nn_accuracy(features(model, sub, layer, train_x), train_y,
                                       features(model, sub, layer, test_x), test_y)
            results[method].append(accuracy)
            log(f"seed {seed} {method}: 1-NN accuracy {accuracy:.2f}%")
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefix", default="bigan_mlp_digits", help="bigan_mlp_digits (stand-in) or bigan_mlp_mnist")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--workdir", default="runs/table_5_1")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="recipe override, repeatable")
    parser.add_argument("--out", default=None, help="write {method: [accuracy per seed]} as JSON here")
    args = parser.parse_args(argv)
    try:
        results = table_5_1(args.prefix, args.seeds, args.workdir, args.overrides)
    except ZooError as e:
        parser.error(str(e))
    for method, values in results.items():
        print(f"{method:8s} {np.mean(values):6.2f}% (seeds: {', '.join(f'{v:.2f}' for v in values)})")
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
