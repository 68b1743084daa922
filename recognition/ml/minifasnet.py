"""MiniFASNetV2 and MiniFASNetV1SE rebuilt in Keras, and the copy of the published PyTorch arrays into them.

The networks are those of minivision-ai/Silent-Face-Anti-Spoofing (src/model_lib/MiniFASNet.py,
Apache-2.0), written here from their description: a MobileFaceNet-style stack of inverted residual
blocks (1x1 expand, 3x3 depthwise, 1x1 linear projection), pruned to the channel widths below, on
80x80 BGR patches with values 0..255, ending in a 5x5 depthwise "global" convolution, a 128-d linear
embedding with batch norm, and three logits. V1SE adds a squeeze-and-excitation gate to the last block
of each residual stage.

Every Keras layer is named after the PyTorch module it stands for ("conv_3.model.0.conv_dw.conv"), so
`assign_torch_weights` copies by name and fails loudly, naming the layer, on a missing array, a shape
that differs or an array no layer took. Batch norms use PyTorch's epsilon (1e-5). Imports Keras and
TensorFlow: reach it through antispoof.load_passive_model, never at import time of a web process.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import keras
import numpy as np

INPUT_SIZE = 80
CLASSES = 3
EMBEDDING_SIZE = 128
_BN_EPSILON = 1e-5  # PyTorch's BatchNorm default, what the published statistics were trained with
_PREFIX = "module."  # the published files were saved from a DataParallel wrapper


class ConversionError(RuntimeError):
    """The PyTorch arrays do not fit the rebuilt network: a layer is missing, extra or a shape differs."""


@dataclass(frozen=True)
class Stage:
    """Blocks of one width: `expand` holds each block's inner (depthwise) width.

    A stage with one block and stride 2 halves the resolution without a shortcut; the others keep it
    and add their input back (residual). `se` gates the last block's output per channel (V1SE).
    """

    name: str
    expand: tuple[int, ...]
    out: int
    stride: int = 1
    se: bool = False

    @property
    def residual(self) -> bool:
        return self.stride == 1


def _stages(*, deep3: tuple[int, ...], deep4: tuple[int, ...], se: bool) -> tuple[Stage, ...]:
    return (
        Stage("conv_23", (103,), 64, stride=2),
        Stage("conv_3", deep3, 64, se=se),
        Stage("conv_34", (231,), 128, stride=2),
        Stage("conv_4", deep4, 128, se=se),
        Stage("conv_45", (308,), 128, stride=2),
        Stage("conv_5", (26, 26), 128, se=se),
    )


# The two pruned variants differ only in the inner widths of the conv_3 and conv_4 blocks.
ARCHITECTURES: dict[str, tuple[Stage, ...]] = {
    "MiniFASNetV2": _stages(deep3=(13, 13, 13, 13), deep4=(231, 52, 26, 77, 26, 26), se=False),
    "MiniFASNetV1SE": _stages(deep3=(13, 26, 13, 52), deep4=(154, 52, 26, 52, 26, 26), se=True),
}
STEM_WIDTH = 32
HEAD_WIDTH = 512
HEAD_KERNEL = (INPUT_SIZE + 15) // 16  # 5: the 80x80 input is 5x5 after four stride-2 steps
SE_REDUCTION = 4


def _conv(
    x, filters: int, name: str, *, kernel: int = 1, stride: int = 1, depthwise: bool = False, bias: bool
):
    """Return a convolution with PyTorch's symmetric zero padding of kernel // 2."""
    pad = kernel // 2 if kernel == 3 else 0
    if pad:
        # Keras "same" pads stride-2 inputs on the bottom/right only; PyTorch pads both sides.
        x = keras.layers.ZeroPadding2D(pad, name=f"{name}.pad")(x)
    if depthwise:
        return keras.layers.DepthwiseConv2D(kernel, strides=stride, use_bias=bias, name=name)(x)
    return keras.layers.Conv2D(filters, kernel, strides=stride, use_bias=bias, name=name)(x)


def _norm(x, name: str, *, fused: bool):
    """Return x through batch norm `name`, or x itself when the norm is folded into the layer before."""
    return x if fused else keras.layers.BatchNormalization(epsilon=_BN_EPSILON, name=name)(x)


def _conv_bn(x, filters: int, name: str, *, fused: bool, prelu: bool = True, **conv):
    """Return conv, batch norm and (unless a linear block) a per-channel PReLU, named as upstream's blocks."""
    x = _conv(x, filters, f"{name}.conv", bias=fused, **conv)
    x = _norm(x, f"{name}.bn", fused=fused)
    if prelu:
        x = keras.layers.PReLU(shared_axes=[1, 2], name=f"{name}.prelu")(x)
    return x


def _squeeze_excite(x, channels: int, name: str, *, fused: bool):
    """Return x scaled per channel by a gate computed from its global average (reduction 4)."""
    gate = keras.layers.GlobalAveragePooling2D(keepdims=True, name=f"{name}.avg_pool")(x)
    gate = keras.layers.Conv2D(channels // SE_REDUCTION, 1, use_bias=fused, name=f"{name}.fc1")(gate)
    gate = keras.layers.ReLU(name=f"{name}.relu")(_norm(gate, f"{name}.bn1", fused=fused))
    gate = keras.layers.Conv2D(channels, 1, use_bias=fused, name=f"{name}.fc2")(gate)
    gate = keras.layers.Activation("sigmoid", name=f"{name}.sigmoid")(_norm(gate, f"{name}.bn2", fused=fused))
    return keras.layers.Multiply(name=f"{name}.scale")([x, gate])


def _block(x, inner: int, out: int, name: str, *, stride: int, residual: bool, se: bool, fused: bool):
    """Return one inverted residual block: expand 1x1, depthwise 3x3, project 1x1 (+ SE, + shortcut)."""
    shortcut = x
    x = _conv_bn(x, inner, f"{name}.conv", fused=fused)
    x = _conv_bn(x, inner, f"{name}.conv_dw", kernel=3, stride=stride, depthwise=True, fused=fused)
    x = _conv_bn(x, out, f"{name}.project", prelu=False, fused=fused)
    if se:
        x = _squeeze_excite(x, out, f"{name}.se_module", fused=fused)
    if residual:
        x = keras.layers.Add(name=f"{name}.add")([shortcut, x])
    return x


def build_minifasnet(variant: str, *, fused: bool = False) -> keras.Model:
    """Return the untrained network `variant` ("MiniFASNetV2" or "MiniFASNetV1SE"): 80x80x3 -> 3 logits.

    fused: without batch-norm layers, each folded into the convolution or dense layer before it
    (which then has a bias): the inference form, see fold_batch_norms.
    """
    try:
        stages = ARCHITECTURES[variant]
    except KeyError:
        raise ValueError(f"unknown MiniFASNet variant {variant!r}; known: {sorted(ARCHITECTURES)}") from None
    inputs = keras.Input((INPUT_SIZE, INPUT_SIZE, 3), name="bgr_0_255")
    x = _conv_bn(inputs, STEM_WIDTH, "conv1", kernel=3, stride=2, fused=fused)
    x = _conv_bn(x, STEM_WIDTH, "conv2_dw", kernel=3, depthwise=True, fused=fused)
    for stage in stages:
        for index, inner in enumerate(stage.expand):
            name = f"{stage.name}.model.{index}" if stage.residual else stage.name
            last = index == len(stage.expand) - 1
            x = _block(
                x,
                inner,
                stage.out,
                name,
                stride=stage.stride,
                residual=stage.residual,
                se=stage.se and last,
                fused=fused,
            )
    x = _conv_bn(x, HEAD_WIDTH, "conv_6_sep", fused=fused)
    x = _conv_bn(x, HEAD_WIDTH, "conv_6_dw", kernel=HEAD_KERNEL, depthwise=True, prelu=False, fused=fused)
    x = keras.layers.Flatten(name="conv_6_flatten")(x)
    x = keras.layers.Dense(EMBEDDING_SIZE, use_bias=fused, name="linear")(x)
    x = _norm(x, "bn", fused=fused)
    outputs = keras.layers.Dense(CLASSES, use_bias=False, name="prob")(x)  # dropout is off in inference
    return keras.Model(inputs, outputs, name=variant)


# The layer each batch norm follows, by the norm's name suffix: "X.bn" follows "X.conv", and so on.
_NORMED_LAYER = {".bn": ".conv", ".bn1": ".fc1", ".bn2": ".fc2"}


def fold_batch_norms(state: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Return the PyTorch state dict with every batch norm folded into the layer before it.

    In inference a batch norm is a per-channel scale gamma / sqrt(var + eps) and shift
    beta - mean * scale, so it can live in the weight and a new bias of the convolution (or of
    "linear", for the final "bn") that feeds it; the output channel is the weight's first axis in
    PyTorch's layout. Raise ConversionError for a norm without its layer.
    """
    folded = {key.removeprefix(_PREFIX): np.asarray(value) for key, value in state.items()}
    norms = [key.removesuffix(".running_mean") for key in folded if key.endswith(".running_mean")]
    for norm in norms:
        if norm == "bn":
            layer = "linear"
        else:
            stem, _, suffix = norm.rpartition(".")
            layer = stem + _NORMED_LAYER.get(f".{suffix}", "?")
        if f"{layer}.weight" not in folded:
            raise ConversionError(f"batch norm {norm} has no layer {layer} to fold into")
        try:
            gamma, beta, mean, var = (
                folded.pop(f"{norm}.{k}") for k in ("weight", "bias", "running_mean", "running_var")
            )
        except KeyError as exc:
            raise ConversionError(f"batch norm {norm}: {exc.args[0]} is missing") from None
        folded.pop(f"{norm}.num_batches_tracked", None)
        scale = gamma.astype(np.float64) / np.sqrt(var.astype(np.float64) + _BN_EPSILON)
        weight = folded[f"{layer}.weight"]
        if weight.shape[0] != scale.shape[0]:
            raise ConversionError(
                f"layer {layer}: weight of shape {weight.shape} does not fit its batch norm of {len(scale)}"
            )
        folded[f"{layer}.weight"] = (weight * scale.reshape((-1,) + (1,) * (weight.ndim - 1))).astype(
            np.float32
        )
        folded[f"{layer}.bias"] = (beta - mean * scale).astype(np.float32)
    return folded


def _torch_to_keras(layer: keras.layers.Layer, take) -> list[np.ndarray]:
    """Return `layer`'s weights in Keras order, taking PyTorch arrays by suffix with `take(suffix)`."""
    bias = [take("bias")] if getattr(layer, "use_bias", False) else []
    if isinstance(layer, keras.layers.DepthwiseConv2D):  # (C, 1, kh, kw) -> (kh, kw, C, 1)
        return [take("weight").transpose(2, 3, 0, 1), *bias]
    if isinstance(layer, keras.layers.Conv2D):  # (out, in, kh, kw) -> (kh, kw, in, out)
        return [take("weight").transpose(2, 3, 1, 0), *bias]
    if isinstance(layer, keras.layers.Dense):  # (out, in) -> (in, out)
        return [take("weight").T, *bias]
    if isinstance(layer, keras.layers.BatchNormalization):
        arrays = [take("weight"), take("bias"), take("running_mean"), take("running_var")]
        take("num_batches_tracked")  # training bookkeeping: read so it is not reported as unused
        return arrays
    if isinstance(layer, keras.layers.PReLU):  # (C,) -> (1, 1, C), shared over height and width
        return [take("weight").reshape(1, 1, -1)]
    raise ConversionError(f"layer {layer.name}: no PyTorch counterpart for a {type(layer).__name__}")


def assign_torch_weights(model: keras.Model, state: Mapping[str, np.ndarray], *, source: str) -> int:
    """Copy a PyTorch state dict into `model` by module name; return how many arrays were set.

    Raise ConversionError naming the layer when an array is missing, a shape differs, or the state
    dict holds arrays no layer took: a silent partial load would give plausible but wrong scores.
    """
    remaining = {key.removeprefix(_PREFIX): np.asarray(value) for key, value in state.items()}
    assigned = 0
    for layer in model.layers:
        if not layer.weights:
            continue

        def take(suffix: str, layer=layer) -> np.ndarray:
            key = f"{layer.name}.{suffix}"
            if key not in remaining:
                raise ConversionError(f"layer {layer.name}: {key} is missing from {source}")
            return remaining.pop(key)

        values = _torch_to_keras(layer, take)
        for variable, value in zip(layer.weights, values, strict=True):
            if tuple(value.shape) != tuple(variable.shape):
                raise ConversionError(
                    f"layer {layer.name}: {variable.name} has shape {tuple(value.shape)} in {source}, "
                    f"the network expects {tuple(variable.shape)}"
                )
        layer.set_weights([value.astype(np.float32) for value in values])
        assigned += len(values)
    if remaining:
        raise ConversionError(f"{source} has arrays the network lacks: {sorted(remaining)[:5]}")
    return assigned


def load_minifasnet(
    variant: str, state: Mapping[str, np.ndarray], *, source: str, fused: bool = True
) -> keras.Model:
    """Return the Keras network `variant` holding the arrays of a PyTorch state dict.

    fused (the default): batch norms folded into the layers before them: probabilities equal to 1e-7,
    and fewer operations per call: one face through both networks took 17 ms instead of 24 ms, and
    10 instead of 12 ms a face in batches of 32 (medians, interleaved runs, load average 6 to 7).
    """
    model = build_minifasnet(variant, fused=fused)
    assign_torch_weights(model, fold_batch_norms(state) if fused else state, source=source)
    return model
