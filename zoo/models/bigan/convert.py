"""The BiGAN release's weights (jeffdonahue/bigan, `pretrained_bigan_weights.zip`) into
`bigan_alexnet_release` (zoo.models.bigan.release). Donahue thesis §5.3.3.

The release saves each network as `<epoch>_{encode,gen,joint_discrim}_params.jl` (train_gan.py
save_params): `joblib.dump` of the list of the Theano shared variables' values in creation order
(net.py Net._add_param): per layer its weight, and per batch normalization its count (0-d int), the
sums of the batch means and of the (unbiased) batch variances over the deploy iterations, its gain
and its bias. 26 / 28 / 23 arrays for E / G / D (README). The zip holds
`imagenet_1000_size72_u-200_bigan/models/100_*` (standard, 64x64 E) and
`imagenet_1000_size128_resize64_u-200_bigan/models/100_*` (generalized, 112x112 E).

The files are read without unpickling arbitrary objects: a restricted unpickler builds only joblib's
array wrappers (as inert placeholders), numpy dtypes and plain containers, then reads each array's raw
bytes from the stream (joblib >= 0.10) or from its `.npy` sidecar with `allow_pickle=False`
(joblib <= 0.9, whose `NDArrayWrapper` names a file beside the pickle). Anything else (a function,
another class) raises WeightsFormatError before it is built.

Layout conversions (export_params.py, the release's own Caffe exporter, does the same):
- Theano's conv2d flips its kernels (filter_flip=True: a true convolution; the weights were trained
  before commit d8ff096 "device-agnostic (de)conv", with cuDNN's dnn_conv and conv_mode 'conv', also a
  true convolution, which export_params.py's flip_filters=True confirms); Keras correlates, so
  conv (out, in, kh, kw) -> [::-1, ::-1] spatially -> (kh, kw, in, out); deconvolution weights
  (in, out, kh, kw) (the forward convolution's (out, in)) -> flipped -> (kh, kw, out, in).
- A linear layer after a (C, H, W) map reads Theano's flattening order; its rows are permuted to
  Keras' (H, W, C) (zoo.convert.caffe.flattened_map).
- BN: moving mean = mean sum / count, moving variance = variance sum / count, gamma = gain,
  beta = bias; epsilon 1e-8 as net.py.

The zip's caffemodels (the encoder in the release's transfer AlexNet, BN folded, conv1 reading BGR) load
into bigan_alexnet_transfer by their file names (`*_params.caffemodel`, `*.zero_fc8.cs.caffemodel`), with
conv1's input channels reversed to the zoo's RGB.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path, PurePosixPath

import numpy as np

from zoo import weights as weights_mod
from zoo.convert.caffe import flattened_map
from zoo.errors import WeightsFormatError, WeightsMismatchError

GROUPS = (("encode", "encoder"), ("gen", "generator"), ("joint_discrim", "discriminator"))
EXPERIMENTS = {64: "imagenet_1000_size72_u-200_bigan", 112: "imagenet_1000_size128_resize64_u-200_bigan"}
EPOCH = 100
_WRAPPER_MODULES = {f"{prefix}{module}" for prefix in ("joblib.", "sklearn.externals.joblib.")
                    for module in ("numpy_pickle", "numpy_pickle_compat")}


class _ArrayWrapper:
    """Inert stand-in for joblib's NumpyArrayWrapper (array bytes follow in the stream)."""

    def __setstate__(self, state):
        self.state = state


class _FileArrayWrapper(_ArrayWrapper):
    """Inert stand-in for joblib <= 0.9's NDArrayWrapper (array in a .npy file beside the pickle)."""


def _reconstructor(cls, base, state):
    """copyreg._reconstructor, limited to the placeholders (protocol 0/1 pickles)."""
    if cls not in (_ArrayWrapper, _FileArrayWrapper) or base is not object or state is not None:
        raise WeightsFormatError("refusing to unpickle: copyreg._reconstructor of something other than a joblib array "
                                 "wrapper")
    return object.__new__(cls)


_ALLOWED = {("numpy", "dtype"): np.dtype, ("numpy", "ndarray"): np.ndarray,
            ("copy_reg", "_reconstructor"): _reconstructor, ("copyreg", "_reconstructor"): _reconstructor,
            ("__builtin__", "object"): object, ("builtins", "object"): object}


class _SafeUnpickler(pickle._Unpickler):  # the Python implementation: its BUILD can be intercepted
    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, stream, name: str, sidecar):
        super().__init__(stream, encoding="latin1")  # Python 2 pickles: str fields as latin-1
        self._name, self._sidecar = name, sidecar

    def find_class(self, module, name):
        if module in _WRAPPER_MODULES and name == "NumpyArrayWrapper":
            return _ArrayWrapper
        if module in _WRAPPER_MODULES and name == "NDArrayWrapper":
            return _FileArrayWrapper
        if (module, name) in _ALLOWED:
            return _ALLOWED[(module, name)]
        raise WeightsFormatError(
            f"{self._name} is not a joblib file of numpy arrays: its pickle asks for {module}.{name}, which the zoo "
            "refuses to build (only joblib array wrappers and numpy dtypes are allowed). Do not load files from an "
            "untrusted source; the release's files are the *_params.jl of pretrained_bigan_weights.zip")

    def _load_build(self):
        pickle._Unpickler.load_build(self)
        wrapper = self.stack[-1]
        if isinstance(wrapper, _ArrayWrapper):
            self.stack[-1] = self._read_wrapped(wrapper)

    dispatch[pickle.BUILD[0]] = _load_build

    def _read_wrapped(self, wrapper) -> np.ndarray:
        state = getattr(wrapper, "state", None)
        if not isinstance(state, dict):
            raise WeightsFormatError(f"{self._name}: a joblib array wrapper without its state")
        if isinstance(wrapper, _FileArrayWrapper):
            return self._read_sidecar(state.get("filename"))
        dtype, shape, order = state.get("dtype"), state.get("shape"), state.get("order", "C")
        if not isinstance(dtype, np.dtype) or dtype.hasobject or not isinstance(shape, tuple) \
                or not all(isinstance(d, int) and d >= 0 for d in shape) or order not in ("C", "F"):
            raise WeightsFormatError(f"{self._name}: an array wrapper with dtype {dtype!r}, shape {shape!r}, order "
                                     f"{order!r}; only plain numeric arrays are read")
        if state.get("numpy_array_alignment_bytes") is not None:  # joblib >= 1.2: 1 length byte, then padding
            self._read_exactly(self._read_exactly(1)[0])
        count = int(np.prod(shape, dtype=np.int64))
        data = np.frombuffer(self._read_exactly(count * dtype.itemsize), dtype=dtype, count=count)
        array = data.reshape(shape[::-1]).T if order == "F" else data.reshape(shape)
        return array.astype(dtype.newbyteorder("="), copy=True)

    def _read_exactly(self, n: int) -> bytes:
        data = self.read(n) if n else b""
        if len(data) != n:
            raise WeightsFormatError(f"{self._name} is truncated: an array needs {n} bytes, {len(data)} are left")
        return data

    def _read_sidecar(self, filename) -> np.ndarray:
        if not isinstance(filename, str) or PurePosixPath(filename).name != filename or filename in (".", "..") \
                or "\\" in filename or not filename.endswith(".npy"):
            raise WeightsFormatError(f"{self._name}: its array file {filename!r} is not a .npy name beside it")
        if self._sidecar is None:
            raise WeightsFormatError(f"{self._name} keeps its arrays in files beside it ({filename}); pass the file "
                                     "from its folder or zip")
        with self._sidecar(filename) as f:
            try:
                return np.load(io.BytesIO(f.read()), allow_pickle=False)
            except ValueError as e:
                raise WeightsFormatError(f"{filename} beside {self._name} is not a plain .npy array: {e}") from e


def read_joblib_arrays(stream, name: str = "joblib file", sidecar=None) -> list[np.ndarray]:
    """The list of numpy arrays in an uncompressed joblib file (`stream`, opened binary), without building any
    object but the arrays. `sidecar(filename)` opens the `.npy` files of joblib <= 0.9's format."""
    data = stream.read()
    if data[:1] not in (b"\x80", b"(", b"]"):
        compressed = data[:2] in (b"\x78\x9c", b"\x78\x01", b"\x78\xda", b"\x1f\x8b", b"BZ") or data[:2] == b"ZF"
        raise WeightsFormatError(f"{name} is {'compressed' if compressed else 'not a pickle'} (first bytes "
                                 f"{data[:4]!r}); the release's .jl files are uncompressed joblib pickles")
    try:
        out = _SafeUnpickler(io.BytesIO(data), name, sidecar).load()
    except WeightsFormatError:
        raise
    except (pickle.UnpicklingError, EOFError, KeyError, TypeError, IndexError, AttributeError, ValueError) as e:
        raise WeightsFormatError(f"{name} is not a readable joblib file: {type(e).__name__}: {e}") from e
    if not isinstance(out, (list, tuple)) or not all(isinstance(a, np.ndarray) for a in out):
        raise WeightsFormatError(f"{name} holds a {type(out).__name__}, not a list of numpy arrays (train_gan.py "
                                 "save_params)")
    return list(out)


def _layout(sub: str) -> list[tuple[str, str]]:
    """(Keras layer, kind) in the order the release created the parameters (net.py, gan.py)."""
    if sub == "encoder":
        return [("conv1", "conv")] + [p for i in range(2, 6) for p in ((f"conv{i}", "conv"), (f"conv{i}_bn", "bn"))] \
            + [("fc_z", "dense")]
    if sub == "generator":
        return [("fc", "dense"), ("fc_bn", "bn")] + [p for i in range(1, 4) for p in (
            (f"deconv{i}", "deconv"), (f"deconv{i}_cond", "dense"), (f"deconv{i}_bn", "bn"))] + [("deconv4", "deconv")]
    return [("conv1", "conv")] + [p for i in range(2, 5) for p in (
        (f"conv{i}", "conv"), (f"conv{i}_cond", "dense"), (f"conv{i}_bn", "bn"))] + [("fc", "dense")]


def _expected(layer, kind: str) -> list[tuple[str, tuple]]:
    """(what, Theano shape) of each release array the Keras layer takes."""
    shapes = [tuple(int(d) for d in w.shape) for w in layer.weights]
    if kind == "bn":
        c = shapes[0]
        return [("BN count", ()), ("BN sum of means", c), ("BN sum of variances", c), ("BN gain", c), ("BN bias", c)]
    kh, kw, a, b = shapes[0] if kind in ("conv", "deconv") else (0, 0, 0, 0)
    if kind == "conv":  # Keras (kh, kw, in, out) <- Theano (out, in, kh, kw)
        return [("conv weight (out, in, kh, kw)", (b, a, kh, kw))]
    if kind == "deconv":  # Keras (kh, kw, out, in) <- Theano (in, out, kh, kw)
        return [("deconv weight (in, out, kh, kw)", (b, a, kh, kw))]
    return [("linear weight (in, out)", shapes[0])]


def _to_keras(layer, kind: str, arrays: list[np.ndarray], where: str) -> list[np.ndarray]:
    if kind == "bn":
        count, mean_sum, var_sum, gain, bias = (np.asarray(a, np.float64) for a in arrays)
        if not count > 0:
            raise WeightsFormatError(f"{where}: the BN count is {count}, so its statistics were never accumulated "
                                     "(the release runs --deploy_iters before saving)")
        return [gain, bias, mean_sum / count, var_sum / count]
    w = arrays[0]
    if kind in ("conv", "deconv"):  # Theano's conv2d flips the kernel (filter_flip=True); Keras does not
        return [np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(2, 3, 1, 0))]
    flat = flattened_map(layer)
    return [w[flat[1]] if flat is not None else w]


def release_shapes(sub_model) -> list[tuple[str, str, tuple]]:
    """[(layer, what, Theano shape)] of the release's file for `sub_model` (encoder, generator or discriminator
    of bigan_alexnet_release), in the file's order."""
    return [(name, what, shape) for name, kind in _layout(sub_model.name)
            for what, shape in _expected(sub_model.get_layer(name), kind)]


def released_to_named(sub_model, arrays: list[np.ndarray], source: str = "file") -> dict:
    """The release's arrays for one network -> {layer: [Keras arrays]}; every shape is checked first."""
    layout = _layout(sub_model.name)
    want = release_shapes(sub_model)
    if len(arrays) != len(want):
        raise WeightsMismatchError(f"{source} holds {len(arrays)} arrays; {sub_model.name} of this model takes "
                                   f"{len(want)} (the release: 26 encode, 28 gen, 23 joint_discrim)")
    for i, ((name, what, shape), a) in enumerate(zip(want, arrays)):
        if tuple(a.shape) != shape:
            hint = ("; E's input size differs: the generalized BiGAN's files need encoder_size=112, the standard "
                    "ones 64 (zoo.get('bigan_alexnet_release', encoder_size=112, weights=...))"
                    if name == "fc_z" and a.shape[1:] == shape[1:] else "")
            raise WeightsMismatchError(f"{source}: array {i} ({sub_model.name}/{name}, {what}) has shape "
                                       f"{tuple(a.shape)}, the model expects {shape}; nothing was loaded{hint}")
    named, i = {}, 0
    for name, kind in layout:
        layer = sub_model.get_layer(name)
        n = len(_expected(layer, kind))
        converted = _to_keras(layer, kind, arrays[i:i + n], f"{source} array {i} ({sub_model.name}/{name})")
        named[f"{sub_model.name}/{name}"] = [c.astype(np.float32) for c in converted]
        i += n
    return named


def _sub_models(model) -> list:
    subs = [sub for _, sub in GROUPS if sub == model.name] or [sub for _, sub in GROUPS]
    return [model if model.name == sub else model.get_layer(sub) for sub in subs]


def _open_files(path: Path, encoder_size: int, epoch: int, groups) -> dict:
    """{group: (name, opener of the .jl, sidecar opener)} from the zip, a folder or one of the .jl files."""
    if path.is_file() and zipfile.is_zipfile(path):
        zf = zipfile.ZipFile(path)
        members = zf.namelist()
        out = {}
        for group in groups:
            tail = f"{EXPERIMENTS[encoder_size]}/models/{epoch}_{group}_params.jl"
            found = [m for m in members if m == tail or m.endswith("/" + tail)]
            if not found:
                listed = ", ".join(m for m in members if m.endswith("_params.jl")) or "none"
                raise WeightsFormatError(f"{path} has no {tail} (an E of {encoder_size}x{encoder_size}); its .jl "
                                         f"files: {listed}")
            folder = found[0].rsplit("/", 1)[0]
            out[group] = (f"{path}:{found[0]}", lambda m=found[0]: zf.open(m), lambda f, d=folder: zf.open(f"{d}/{f}"))
        return out
    if path.is_dir():
        folder = path / "models" if (path / "models").is_dir() else path
        prefix = folder / str(epoch)
    else:
        known = [g for g, _ in GROUPS if path.name.endswith(f"_{g}_params.jl")]
        if not known:
            raise WeightsFormatError(f"{path} is neither the release's zip, a folder of its .jl files nor one of "
                                     "<epoch>_{encode,gen,joint_discrim}_params.jl")
        prefix = path.with_name(path.name[: -len(f"_{max(known, key=len)}_params.jl")])
    out = {}
    for group in groups:
        file = Path(f"{prefix}_{group}_params.jl")
        if not file.is_file():
            raise WeightsFormatError(f"{file} is missing: the release saves E, G and D as {prefix.name}_"
                                     "{encode,gen,joint_discrim}_params.jl side by side")
        out[group] = (str(file), lambda f=file: open(f, "rb"), lambda name, d=file.parent: open(d / name, "rb"))
    return out


def read_release(path, model, *, epoch: int = EPOCH) -> dict:
    """{layer path: [Keras arrays]} for `model` (bigan_alexnet_release, or one of its encoder / generator /
    discriminator) from the release at `path`: its zip, a folder of its .jl files, or one of them."""
    subs = _sub_models(model)
    group_of = {sub: group for group, sub in GROUPS}
    encoder = next((s for s in subs if s.name == "encoder"), None)
    size = int(encoder.inputs[0].shape[1]) if encoder is not None else 64
    files = _open_files(Path(path), size, epoch, [group_of[s.name] for s in subs])
    named = {}
    for sub in subs:
        name, opener, sidecar = files[group_of[sub.name]]
        with opener() as stream:
            arrays = read_joblib_arrays(stream, name, sidecar)
        found = released_to_named(sub, arrays, name)
        named.update(found if sub is not model else {k.split("/", 1)[1]: v for k, v in found.items()})
    return named


def load_released_bigan(model, path, *, epoch: int = EPOCH) -> dict:
    """Load the BiGAN release's weights (Donahue thesis §5.3.3; jeffdonahue/bigan's
    pretrained_bigan_weights.zip, a folder of its `<epoch>_*_params.jl` or one of them) into
    `model`, built by bigan_alexnet_release (encoder_size 64: the standard BiGAN; 112: the
    generalized one), or into one of its sub-models. All or nothing; returns assign_named's report."""
    return weights_mod.assign_named(model, read_release(path, model, epoch=epoch), source=str(path))


def _read_format(path, model, card, build_kwargs):
    return read_release(path, model), None


def _read_release_caffemodel(path, model, card, build_kwargs):
    """The release's transfer caffemodels (`100_encode_params.caffemodel` by export_params.py and magic-init's
    `*.zero_fc8.cs.caffemodel`, eval_model.sh) into bigan_alexnet_transfer: the Caffe reader, then conv1's input
    channels put back to RGB (export_params.py reversed them for Caffe's BGR data; the zoo's net reads RGB)."""
    from zoo.convert.caffe import _zoo_reader

    named, num_classes = _zoo_reader(path, model, card, build_kwargs)
    if card.name == "bigan_alexnet_transfer" and "conv1" in named:
        kernel, *rest = named["conv1"]
        named["conv1"] = [np.ascontiguousarray(np.asarray(kernel)[:, :, ::-1, :]), *rest]
    return named, num_classes


weights_mod.register_format("bigan_jl", _read_format)  # the registered zip (WeightsSpec format)
weights_mod.register_format("_params.jl", _read_format)
weights_mod.register_format("bigan_weights.zip", _read_format)
weights_mod.register_format("_params.caffemodel", _read_release_caffemodel)
weights_mod.register_format(".zero_fc8.cs.caffemodel", _read_release_caffemodel)
