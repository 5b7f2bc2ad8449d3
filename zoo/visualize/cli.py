"""`zoo visualize COMMAND NAME ...`: the toolkit on any registered image model, writing PNGs.

    fields     NAME                                 receptive field size, stride, offset per layer
    occlusion  NAME --image F --label K [--layer L] p(true class), most probable class, strongest map
    deconv     NAME --image F --layer L [--rule R]  deconvnet / guided / gradient projection
    patches    NAME --images F... --layer L         top-k receptive-field patches per feature map
    invert     NAME --image F --layer L [--beta B]  pre-images from noise, TV-norm beta 0 (none), 1, 2
    maximize   NAME --layer L --channels K...       activation maximisation with TV and alpha priors
    dream      NAME --image F --layer L             DeepDream (octaves need a free-size model)
    style      NAME --image F --style-image F --content-layer L --style-layers L...   Gatys

This module imports only argparse at load (the `zoo` parser is built on every command).
"""

from __future__ import annotations

import argparse

COMMANDS = ("fields", "occlusion", "deconv", "patches", "invert", "maximize", "dream", "style")


def _common(s, *, image=True, out=True, layer=True):
    s.add_argument("name", help="registered model")
    s.add_argument("--weights", help="weights file or NAME.TAG weights (default: the builder's initialisation)")
    if image:
        s.add_argument("--image", required=True, help="image file (resized to the model's input size if fixed)")
    if layer:
        s.add_argument("--layer", required=True, help="layer name (see `zoo visualize fields NAME`)")
    if out:
        s.add_argument("--out", required=True, help="PNG file to write")


def _optim(s, steps, lr):
    s.add_argument("--steps", type=int, default=steps)
    s.add_argument("--lr", type=float, default=lr, help="Adam step size")
    s.add_argument("--optimizer", choices=["adam", "lbfgs"], default="adam")
    s.add_argument("--tv-weight", type=float, default=1e-2)
    s.add_argument("--seed", type=int, default=0)


def add_parser(sub):
    """Add `visualize` and its commands to the `zoo` subparsers."""
    v = sub.add_parser("visualize", help="look inside a model: occlusion, deconvnet, inversion, dreams, style",
                       description=__doc__.split("\n\n")[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    vs = v.add_subparsers(dest="visualize_command", required=True)
    s = vs.add_parser("fields", help="receptive fields per layer")
    _common(s, image=False, out=False, layer=False)
    s.add_argument("--input-shape", help="H,W,C where the model takes any size")
    s = vs.add_parser("occlusion", help="occlusion sensitivity maps")
    _common(s, layer=False)
    s.add_argument("--label", type=int, required=True, help="the true class index")
    s.add_argument("--layer", help="layer whose most active feature map is followed")
    s.add_argument("--size", type=int, help="occluder side in pixels (default a quarter of the image)")
    s.add_argument("--stride", type=int)
    s = vs.add_parser("deconv", help="project a feature map (or a class) back to the image")
    _common(s)
    s.add_argument("--channel", type=int, help="feature map (default the most active)")
    s.add_argument("--rule", choices=["deconvnet", "guided", "gradient"], default="deconvnet")
    s.add_argument("--whole-map", action="store_true", help="project the whole map, not only its maximum")
    s = vs.add_parser("patches", help="top-k input patches per feature map over images")
    _common(s, image=False)
    s.add_argument("--images", nargs="+", required=True)
    s.add_argument("--k", type=int, default=9)
    s.add_argument("--channels", type=int, nargs="+", help="feature maps (default the first 8)")
    s = vs.add_parser("invert", help="reconstruct the image from a layer's code")
    _common(s)
    s.add_argument("--beta", type=float, nargs="+", default=[0.0, 1.0, 2.0], help="TV exponents; 0 means no prior")
    _optim(s, 200, 0.05)
    s = vs.add_parser("maximize", help="images that maximise units")
    _common(s, image=False)
    s.add_argument("--channels", type=int, nargs="+", required=True)
    s.add_argument("--alpha-weight", type=float, default=1e-4)
    s.add_argument("--input-shape", help="H,W,C where the model takes any size")
    _optim(s, 200, 0.05)
    s = vs.add_parser("dream", help="DeepDream")
    _common(s)
    s.add_argument("--octaves", type=int, default=3)
    s.add_argument("--octave-scale", type=float, default=1.4)
    s.add_argument("--steps", type=int, default=10)
    s.add_argument("--step-size", type=float, default=0.01)
    s.add_argument("--jitter", type=int, default=8)
    s = vs.add_parser("style", help="Gatys style transfer")
    _common(s, layer=False)
    s.add_argument("--style-image", required=True)
    s.add_argument("--content-layer", required=True)
    s.add_argument("--style-layers", nargs="+", required=True)
    s.add_argument("--style-weight", type=float, default=1e3, help="beta (content weight alpha = 1)")
    _optim(s, 100, 0.05)
    s.set_defaults(optimizer="lbfgs")


def _shape(text):
    from zoo.errors import ConfigError

    try:
        return tuple(int(p) for p in text.split(","))
    except ValueError:
        raise ConfigError(f"--input-shape takes H,W,C integers, got {text!r}") from None


def run(args, load_model):
    """Run a `zoo visualize` command; `load_model(name, weights)` -> (model, sidecar) is the CLI's loader."""
    from zoo import registry
    from zoo.visualize import commands

    card = registry.card(args.name)
    model, _ = load_model(args.name, args.weights)
    if getattr(args, "input_shape", None):
        args.input_shape = _shape(args.input_shape)
    path = getattr(commands, f"cmd_{args.visualize_command}")(model, card, args)
    if path is not None:
        print(f"wrote {path}")
    return 0
