"""The `zoo visualize` commands: each runs one method and writes its figure (see cli.py)."""

from __future__ import annotations

import numpy as np

from zoo.visualize import art, backprop, occlusion, optimize, patches
from zoo.visualize.core import input_shape
from zoo.visualize.fields import field_table
from zoo.visualize.render import load_input, normalise, tile, to_rgb, write_panels


def _image(model, card, path):
    shape = tuple(model.inputs[0].shape[1:3])
    return load_input(path, card.input_contract, None if None in shape else shape)


def cmd_fields(model, card, args):
    for row in field_table(model, getattr(args, "input_shape", None)).values():
        offset = "?" if row.offset is None else "x".join(f"{o:g}" for o in row.offset)
        print(f"{row.name:<28} size {'x'.join(map(str, row.size)):<10} stride {'x'.join(map(str, row.stride)):<8} "
              f"offset {offset:<12} output {row.output_shape}")


def cmd_occlusion(model, card, args):
    x = _image(model, card, args.image)
    maps = occlusion.occlusion(model, x, args.label, size=args.size, stride=args.stride, feature_layer=args.layer)
    panels = [("image", to_rgb(x, card.input_contract), None), (f"p(true class {args.label})", maps.p_true, "jet"),
              ("most probable class", maps.most_probable, "tab20")]
    if maps.feature_activation is not None:
        panels.append((f"{args.layer} map {maps.feature_channel} total", maps.feature_activation, "jet"))
    return write_panels(args.out, panels, title=f"{args.name}: occluder {maps.size}px")


def cmd_deconv(model, card, args):
    x = _image(model, card, args.image)
    if args.rule == "deconvnet":
        proj, channel, where = backprop.deconvnet(model, x, args.layer, args.channel,
                                                   strongest_only=not args.whole_map)
        what = f"{args.layer} map {channel} at {where}"
    else:
        from zoo.visualize.core import feature_model, to_numpy

        acts = to_numpy(feature_model(model, args.layer)(x[None], training=False))[0]
        flat = acts.reshape(-1, acts.shape[-1]) if acts.ndim > 1 else acts[None]
        channel = args.channel if args.channel is not None else int(flat.sum(axis=0).argmax())
        signal = np.zeros_like(acts)
        signal[..., channel] = 1.0
        proj = backprop.project(model, x, args.layer, signal=signal, rule=args.rule)
        what = f"{args.layer} unit {channel}"
    return write_panels(args.out, [("image", to_rgb(x, card.input_contract), None),
                                   (f"{args.rule}: {what}", normalise(proj), None)])


def cmd_patches(model, card, args):
    images = np.stack([_image(model, card, p) for p in args.images])
    channels = args.channels or list(range(8))
    top = patches.top_patches(model, args.layer, images, k=min(args.k, len(images)), channels=channels)
    panels = [(f"{args.layer} map {c}", tile([to_rgb(p, card.input_contract) for p in top.patches[i]]), None)
              for i, c in enumerate(channels)]
    return write_panels(args.out, panels, title=f"top {top.patches.shape[1]} patches (receptive fields)")


def cmd_invert(model, card, args):
    x = _image(model, card, args.image)
    panels = [("image", to_rgb(x, card.input_contract), None)]
    for beta in args.beta:
        rec, _ = optimize.invert(model, args.layer, x, beta=beta or 2.0, tv_weight=args.tv_weight if beta else 0.0,
                                 steps=args.steps, lr=args.lr, method=args.optimizer, seed=args.seed)
        panels.append(("no prior" if not beta else f"TV-norm beta = {beta:g}", to_rgb(rec, card.input_contract), None))
    return write_panels(args.out, panels, title=f"{args.name}: pre-images of {args.layer}")


def cmd_maximize(model, card, args):
    shape = input_shape(model, args.input_shape)
    panels = []
    for c in args.channels:
        img = optimize.maximize(model, args.layer, c, tv_weight=args.tv_weight, alpha_weight=args.alpha_weight,
                                steps=args.steps, lr=args.lr, method=args.optimizer, image_shape=shape, seed=args.seed)
        panels.append((f"{args.layer} unit {c}", normalise(img), None))
    return write_panels(args.out, panels, title=f"{args.name}: activation maximisation")


def cmd_dream(model, card, args):
    x = _image(model, card, args.image)
    out = art.dream(model, args.layer, x, octaves=args.octaves, octave_scale=args.octave_scale, steps=args.steps,
                    step_size=args.step_size, jitter=args.jitter)
    return write_panels(args.out, [("image", to_rgb(x, card.input_contract), None),
                                   (f"dream on {args.layer}", to_rgb(out, card.input_contract), None)])


def cmd_style(model, card, args):
    content = _image(model, card, args.image)
    style = load_input(args.style_image, card.input_contract, content.shape[:2])
    out = art.style_transfer(model, content, style, content_layer=args.content_layer, style_layers=args.style_layers,
                             beta=args.style_weight, steps=args.steps, lr=args.lr, method=args.optimizer)
    c = card.input_contract
    return write_panels(args.out, [("content", to_rgb(content, c), None), ("style", to_rgb(style, c), None),
                                   ("result", to_rgb(out, c), None)])
