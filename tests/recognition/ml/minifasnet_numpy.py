"""An independent numpy forward pass of the published MiniFASNet state dicts, to check the Keras rebuild.

It works straight from the PyTorch arrays in PyTorch's own layout (NCHW, float64), finds the
structure from the state dict's names (which blocks exist, which have a shortcut or an SE gate), and
pads and strides by hand: nothing is shared with recognition/ml/minifasnet.py but the file reader.
"""

from __future__ import annotations

import re

import numpy as np

EPS = 1e-5
STAGES = ("conv_23", "conv_3", "conv_34", "conv_4", "conv_45", "conv_5")


def conv2d(x: np.ndarray, weight: np.ndarray, *, stride: int, pad: int) -> np.ndarray:
    """Return a bias-free 2-D convolution of NCHW `x` (plain or depthwise, from the weight's shape)."""
    out_channels, in_per_group, kh, kw = weight.shape
    x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    n, channels, height, width = x.shape
    out_h, out_w = (height - kh) // stride + 1, (width - kw) // stride + 1
    depthwise = in_per_group == 1 and out_channels == channels and channels > 1
    assert depthwise or in_per_group == channels, "only plain and depthwise convolutions occur"
    out = np.zeros((n, out_channels, out_h, out_w))
    for i in range(kh):
        for j in range(kw):
            window = x[:, :, i : i + stride * out_h : stride, j : j + stride * out_w : stride]
            if depthwise:
                out += window * weight[None, :, 0, i, j, None, None]
            else:
                out += np.einsum("nchw,oc->nohw", window, weight[:, :, i, j])
    return out


def batch_norm(x: np.ndarray, state: dict, name: str) -> np.ndarray:
    """Return inference batch norm over axis 1 with the stored running statistics."""
    shape = (1, -1) + (1,) * (x.ndim - 2)
    scale = state[f"{name}.weight"] / np.sqrt(state[f"{name}.running_var"] + EPS)
    return (x - state[f"{name}.running_mean"].reshape(shape)) * scale.reshape(shape) + state[
        f"{name}.bias"
    ].reshape(shape)


def conv_block(x, state, name, *, stride=1, prelu=True):
    weight = state[f"{name}.conv.weight"]
    x = batch_norm(
        conv2d(x, weight, stride=stride, pad=weight.shape[-1] // 2 if weight.shape[-1] == 3 else 0),
        state,
        f"{name}.bn",
    )
    if prelu:
        alpha = state[f"{name}.prelu.weight"].reshape(1, -1, 1, 1)
        x = np.where(x > 0, x, alpha * x)
    return x


def se_gate(x, state, name):
    gate = x.mean(axis=(2, 3), keepdims=True)
    gate = np.maximum(
        batch_norm(conv2d(gate, state[f"{name}.fc1.weight"], stride=1, pad=0), state, f"{name}.bn1"), 0
    )
    gate = batch_norm(conv2d(gate, state[f"{name}.fc2.weight"], stride=1, pad=0), state, f"{name}.bn2")
    return x / (1 + np.exp(-gate))


def block(x, state, name, *, stride, residual):
    out = conv_block(x, state, f"{name}.conv")
    out = conv_block(out, state, f"{name}.conv_dw", stride=stride)
    out = conv_block(out, state, f"{name}.project", prelu=False)
    if f"{name}.se_module.fc1.weight" in state:
        out = se_gate(out, state, f"{name}.se_module")
    return x + out if residual else out


def forward(state: dict[str, np.ndarray], bgr: np.ndarray) -> np.ndarray:
    """Return the logits (N, 3) for BGR 0..255 patches (N, 80, 80, 3) from a state dict (prefix allowed)."""
    state = {re.sub(r"^module\.", "", k): np.asarray(v, dtype=np.float64) for k, v in state.items()}
    x = np.asarray(bgr, dtype=np.float64).transpose(0, 3, 1, 2)
    x = conv_block(x, state, "conv1", stride=2)
    x = conv_block(x, state, "conv2_dw")
    for stage in STAGES:
        if f"{stage}.conv.conv.weight" in state:  # a single down-sampling block
            x = block(x, state, stage, stride=2, residual=False)
            continue
        indices = sorted({int(m.group(1)) for k in state if (m := re.match(rf"{stage}\.model\.(\d+)\.", k))})
        assert indices == list(range(len(indices))) and indices, f"no blocks found for {stage}"
        for index in indices:
            x = block(x, state, f"{stage}.model.{index}", stride=1, residual=True)
    x = conv_block(x, state, "conv_6_sep")
    x = conv_block(x, state, "conv_6_dw", prelu=False)
    x = x.reshape(len(x), -1)
    x = batch_norm(x @ state["linear.weight"].T, state, "bn")
    return x @ state["prob.weight"].T


def softmax(logits: np.ndarray) -> np.ndarray:
    """Return the row-wise softmax."""
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)
