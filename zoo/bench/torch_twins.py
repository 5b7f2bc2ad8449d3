"""PyTorch twins of zoo's VGG16, ResNet-50 and FCN-8s, for `zoo bench --compare-torch` only.

PyTorch is a benchmark-only extra (`pip install 'zoo[bench]'`), never a runtime dependency:
this module is imported only for the comparison, and it imports nothing of the zoo package, so
that a PyTorch benchmark process does not load Keras or TensorFlow (zoo/bench/worker.py loads it by path).

Each twin does the same work as the zoo model: the same convolutions (kernel, stride, padding,
channels), the same parameter count and the same multiply-accumulates; tests/test_bench.py
asserts the counts against the Keras models, and that a twin given a Keras model's weights
(`load_keras_weights`) computes the same outputs. torchvision's VGG16 matches ours, but its
ResNet-50 ("v1.5") puts the stride-2 of a bottleneck on the 3x3 conv, where ours (the released
Caffe models, keras.applications) puts it on the first 1x1, so every twin is written out here:
- `vgg16`: Simonyan & Zisserman configuration D, Caffe ceil-mode pooling, fc6 over the
  flattened pool5 of the given input size.
- `resnet50`: v1 bottlenecks with the stride on the first 1x1 conv, convs without bias, BN
  epsilon 1.001e-5 and momentum 0.01 (Keras' 0.99), projection shortcuts at each stage's block 1.
- `fcn8s`: conv1_1 padded by 100, ceil-mode pooling, 7x7 fc6, the reference crops (5, 9, 31),
  the two 2x upsamplings learned (ConvTranspose2d, bilinear start) and the final 8x one fixed
  bilinear, computed as zoo's `Deconvolution2D(fixed_bilinear=True)` does, as two matrix
  products per channel; the fixed (k, k, C, C) kernel is kept as a frozen parameter so that the
  counts include it, as Caffe's and zoo's do (zoo's default upsampling="thesis").
Layers carry zoo's (the original release's) names. Tensors are NCHW, PyTorch's default layout.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

MODELS = ("vgg_d", "resnet50", "fcn8s")  # zoo's registered names (vgg16 is vgg_d's alias)
KERAS_BN_EPSILON = 1.001e-5  # zoo.models.resnet.resnet.BN_EPSILON (keras.applications' value)
VGG16_BLOCKS = ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))
FC_UNITS = 4096


def _channels(n, width):
    if width < 1 or n % width:
        raise ValueError(f"width must be a positive divisor of {n}, got {width}")
    return n // width


def caffe_pool_size(size, kernel=2, stride=2):
    """Caffe's ceil-mode pooled size without padding (torch's ceil_mode gives the same)."""
    return math.ceil((size - kernel) / stride) + 1


def _vgg16_trunk(width, first_pad):
    """conv1_1 .. conv5_3 (3x3, ReLU) as named modules; pools are applied in `_run_trunk`."""
    layers, cin = nn.ModuleDict(), 3
    for block, (n, count) in enumerate(VGG16_BLOCKS, start=1):
        for i in range(1, count + 1):
            pad = first_pad if (block, i) == (1, 1) else 1
            layers[f"conv{block}_{i}"] = nn.Conv2d(cin, _channels(n, width), 3, padding=pad)
            cin = _channels(n, width)
    return layers


def _run_trunk(convs, x):
    """The VGG16 trunk on `x`; returns {"pool1": ..., "pool5": ...}."""
    pools = {}
    for block, (_, count) in enumerate(VGG16_BLOCKS, start=1):
        for i in range(1, count + 1):
            x = F.relu(convs[f"conv{block}_{i}"](x))
        x = pools[f"pool{block}"] = F.max_pool2d(x, 2, 2, ceil_mode=True)
    return pools


class VGG16(nn.Module):
    """VGG configuration D at a fixed input size (fc6 reads the flattened pool5)."""

    def __init__(self, num_classes=1000, input_size=(224, 224), width=1):
        super().__init__()
        self.convs = _vgg16_trunk(width, first_pad=1)
        h, w = input_size
        for _ in range(5):
            h, w = caffe_pool_size(h), caffe_pool_size(w)
        self.pool5_size = (h, w)
        self.fc6 = nn.Linear(h * w * _channels(512, width), _channels(FC_UNITS, width))
        self.fc7 = nn.Linear(_channels(FC_UNITS, width), _channels(FC_UNITS, width))
        self.fc8 = nn.Linear(_channels(FC_UNITS, width), num_classes)

    def forward(self, x):
        x = torch.flatten(_run_trunk(self.convs, x)["pool5"], 1)
        x = F.dropout(F.relu(self.fc6(x)), 0.5, self.training)
        x = F.dropout(F.relu(self.fc7(x)), 0.5, self.training)
        return self.fc8(x)


class ConvBN(nn.Module):
    """zoo's resnet `conv_bn`: conv without bias, BatchNorm, optional ReLU.

    A k x k stride-2 conv pads k // 2 on every side (zoo's explicit ZeroPadding2D); a stride-1
    conv pads (k - 1) / 2 (Keras "same"); a 1x1 stride-2 conv pads nothing (also Keras "same").
    """

    def __init__(self, cin, cout, kernel, stride=1, relu=True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride, padding=kernel // 2, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=KERAS_BN_EPSILON, momentum=0.01)
        self.relu = relu

    def forward(self, x):
        x = self.bn(self.conv(x))
        return F.relu(x) if self.relu else x


class Bottleneck(nn.Module):
    """1x1 (stride here, as in the Caffe release), 3x3, 1x1 x4; projection shortcut when the shape changes."""

    def __init__(self, cin, filters, stride):
        super().__init__()
        out = 4 * filters
        self.shortcut = ConvBN(cin, out, 1, stride, relu=False) if stride != 1 or cin != out else None
        self.conv1 = ConvBN(cin, filters, 1, stride)
        self.conv2 = ConvBN(filters, filters, 3)
        self.conv3 = ConvBN(filters, out, 1, relu=False)

    def forward(self, x):
        shortcut = x if self.shortcut is None else self.shortcut(x)
        return F.relu(shortcut + self.conv3(self.conv2(self.conv1(x))))


class ResNet50(nn.Module):
    """He et al. 2016 Table 1, 50 layers, as zoo.models.resnet builds it."""

    def __init__(self, num_classes=1000, width=1):
        super().__init__()
        self.conv1 = ConvBN(3, _channels(64, width), 7, 2)
        self.stages = nn.ModuleList()
        cin = _channels(64, width)
        for stage, (filters, count) in enumerate(zip((64, 128, 256, 512), (3, 4, 6, 3))):
            blocks = nn.ModuleList()
            for i in range(count):
                blocks.append(Bottleneck(cin, _channels(filters, width), 2 if i == 0 and stage > 0 else 1))
                cin = 4 * _channels(filters, width)
            self.stages.append(blocks)
        self.predictions = nn.Linear(cin, num_classes)

    def forward(self, x):
        # zoo pads pool1 with zeros, torch with -inf: the same maxima, since the input is a ReLU's (>= 0).
        x = F.max_pool2d(self.conv1(x), 3, 2, padding=1)
        for blocks in self.stages:
            for block in blocks:
                x = block(x)
        return self.predictions(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))

    def named_units(self):
        """(zoo layer prefix, ConvBN) pairs: conv1, conv2_block1_0 (shortcut), conv2_block1_1, ..."""
        yield "conv1", self.conv1
        for stage, blocks in enumerate(self.stages, start=2):
            for i, block in enumerate(blocks, start=1):
                if block.shortcut is not None:
                    yield f"conv{stage}_block{i}_0", block.shortcut
                for j, unit in enumerate((block.conv1, block.conv2, block.conv3), start=1):
                    yield f"conv{stage}_block{i}_{j}", unit


def interp_matrix(size, kernel, stride, *, device=None, dtype=torch.float32):
    """A (s*(size-1)+k, size) with A[y, i] = f(y - s*i), f the 1-D bilinear filter (zoo's `_interp_matrix`)."""
    factor = (kernel + 1) // 2
    center = factor - 1 if kernel % 2 == 1 else factor - 0.5
    d = (torch.arange(stride * (size - 1) + kernel, device=device)[:, None]
         - stride * torch.arange(size, device=device)[None, :]).to(dtype)
    return torch.clamp(1.0 - torch.abs(d - center) / factor, min=0.0)


def bilinear_kernel(channels, kernel):
    """(C, C, k, k): the FCN reference's bilinear filter (surgery.upsample_filt) on the diagonal c -> c."""
    f = interp_matrix(1, kernel, 1)[:, 0]  # f(y) for y in 0 .. k-1
    weight = torch.zeros(channels, channels, kernel, kernel)
    weight[range(channels), range(channels)] = torch.outer(f, f)
    return weight


class FixedBilinearUpsample(nn.Module):
    """Caffe Deconvolution (pad 0) with FCN's frozen bilinear kernel: out = A_h X_c A_w^T per channel."""

    def __init__(self, channels, kernel, stride):
        super().__init__()
        self.kernel_size, self.stride = kernel, stride
        # Held (and counted) like zoo's non-trainable `kernel` weight; the forward uses the separable form.
        self.weight = nn.Parameter(bilinear_kernel(channels, kernel), requires_grad=False)

    def forward(self, x):
        a_h = interp_matrix(x.shape[2], self.kernel_size, self.stride, device=x.device, dtype=x.dtype)
        a_w = interp_matrix(x.shape[3], self.kernel_size, self.stride, device=x.device, dtype=x.dtype)
        return torch.einsum("ncyw,xw->ncyx", torch.einsum("yh,nchw->ncyw", a_h, x), a_w)


def _learned_upsample(channels, kernel, stride):
    """Caffe Deconvolution (pad 0, no bias) with a trainable kernel, initialised bilinear."""
    layer = nn.ConvTranspose2d(channels, channels, kernel, stride=stride, bias=False)
    with torch.no_grad():
        layer.weight.copy_(bilinear_kernel(channels, kernel))
    return layer


def _crop(x, offset, like):
    return x[:, :, offset:offset + like.shape[2], offset:offset + like.shape[3]]


class FCN8s(nn.Module):
    """Long, Shelhamer & Darrell's FCN-8s as the reference voc-fcn8s/net.py (and zoo's fcn8s) builds it."""

    def __init__(self, num_classes=21, width=1):
        super().__init__()
        self.convs = _vgg16_trunk(width, first_pad=100)
        fc = _channels(FC_UNITS, width)
        self.fc6 = nn.Conv2d(_channels(512, width), fc, 7)
        self.fc7 = nn.Conv2d(fc, fc, 1)
        self.score_fr = nn.Conv2d(fc, num_classes, 1)
        self.score_pool4 = nn.Conv2d(_channels(512, width), num_classes, 1)
        self.score_pool3 = nn.Conv2d(_channels(256, width), num_classes, 1)
        self.upscore2 = _learned_upsample(num_classes, 4, 2)
        self.upscore_pool4 = _learned_upsample(num_classes, 4, 2)
        self.upscore8 = FixedBilinearUpsample(num_classes, 16, 8)

    def forward(self, x):
        pools = _run_trunk(self.convs, x)
        h = F.dropout(F.relu(self.fc6(pools["pool5"])), 0.5, self.training)
        h = F.dropout(F.relu(self.fc7(h)), 0.5, self.training)
        up = self.upscore2(self.score_fr(h))
        h = up + _crop(self.score_pool4(pools["pool4"]), 5, up)
        up = self.upscore_pool4(h)
        h = up + _crop(self.score_pool3(pools["pool3"]), 9, up)
        return _crop(self.upscore8(h), 31, x)


def build(name, *, num_classes, input_size=(224, 224), width=1):
    """The twin of zoo model `name` (one of MODELS)."""
    if name == "vgg_d":
        return VGG16(num_classes, input_size, width)
    if name == "resnet50":
        return ResNet50(num_classes, width)
    if name == "fcn8s":
        return FCN8s(num_classes, width)
    raise ValueError(f"no PyTorch twin of {name!r}; there are twins of {', '.join(MODELS)}")


def count_parameters(model):
    """(all weights, trainable weights), counted as Keras counts them: BN running statistics are
    weights there (non-trainable), so buffers count too, except BN's `num_batches_tracked`."""
    params = sum(p.numel() for p in model.parameters())
    stats = sum(b.numel() for n, b in model.named_buffers() if not n.endswith("num_batches_tracked"))
    return params + stats, sum(p.numel() for p in model.parameters() if p.requires_grad)


def zoo_layer_names(model):
    """{Conv2d or Linear module: the name of the zoo layer it stands for}."""
    if isinstance(model, ResNet50):
        names = {unit.conv: f"{prefix}_conv" for prefix, unit in model.named_units()}
        return {**names, model.predictions: "predictions"}
    return {m: name.removeprefix("convs.") for name, m in model.named_modules()
            if isinstance(m, (nn.Conv2d, nn.Linear))}


def count_macs(name, input_shape, *, num_classes, width=1):
    """{zoo layer name: multiply-accumulates} of every Conv2d and Linear of the twin of `name` for
    one NCHW input of `input_shape` (C, H, W), built and run on the meta device (shapes only)."""
    with torch.device("meta"):
        model = build(name, num_classes=num_classes, input_size=input_shape[1:], width=width)
    counts = {}

    def hook(m, inputs, out):
        per_output = m.in_features if isinstance(m, nn.Linear) else math.prod(m.kernel_size) * m.in_channels // m.groups
        counts[names[m]] = out[0].numel() * per_output

    names = zoo_layer_names(model)
    for module in names:
        module.register_forward_hook(hook)
    with torch.no_grad():
        model(torch.empty((1, *input_shape), device="meta"))
    return counts


# ------------------------------------------------------------------ weights from the zoo model


def _conv(module, kernel, bias=None):
    """Keras (kh, kw, in, out) -> torch (out, in, kh, kw)."""
    module.weight.copy_(torch.from_numpy(np.ascontiguousarray(np.transpose(kernel, (3, 2, 0, 1)))))
    if bias is not None:
        module.bias.copy_(torch.from_numpy(bias))


def _dense(module, kernel, bias, chw=None):
    """Keras (in, out) -> torch (out, in); `chw` reorders a kernel that reads a flattened NHWC map."""
    if chw is not None:
        c, h, w = chw
        kernel = kernel.reshape(h, w, c, -1).transpose(2, 0, 1, 3).reshape(c * h * w, -1)
    module.weight.copy_(torch.from_numpy(np.ascontiguousarray(kernel.T)))
    module.bias.copy_(torch.from_numpy(bias))


@torch.no_grad()
def load_keras_weights(model, weights):
    """Copy a zoo model's weights into its twin. `weights`: {layer name: [arrays]}, as
    `{l.name: l.get_weights() for l in keras_model.layers}` gives (so no Keras import here)."""
    if isinstance(model, ResNet50):
        for prefix, unit in model.named_units():
            _conv(unit.conv, *weights[f"{prefix}_conv"])
            gamma, beta, mean, var = weights[f"{prefix}_bn"]
            for t, v in ((unit.bn.weight, gamma), (unit.bn.bias, beta), (unit.bn.running_mean, mean),
                         (unit.bn.running_var, var)):
                t.copy_(torch.from_numpy(v))
        _dense(model.predictions, *weights["predictions"])
        return model
    for name, conv in model.convs.items():
        _conv(conv, *weights[name])
    if isinstance(model, VGG16):
        pool5_channels = model.fc6.in_features // math.prod(model.pool5_size)
        _dense(model.fc6, *weights["fc6"], chw=(pool5_channels, *model.pool5_size))
        _dense(model.fc7, *weights["fc7"])
        _dense(model.fc8, *weights["fc8"])
    else:
        for name in ("fc6", "fc7", "score_fr", "score_pool4", "score_pool3"):
            _conv(getattr(model, name), *weights[name])
        for name in ("upscore2", "upscore_pool4", "upscore8"):
            (kernel,) = weights[name]  # Keras Conv2DTranspose (k, k, out, in) -> torch (in, out, k, k)
            kernel = np.ascontiguousarray(np.transpose(kernel, (3, 2, 0, 1)))
            getattr(model, name).weight.copy_(torch.from_numpy(kernel))
    return model
