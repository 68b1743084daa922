"""InceptionResNetV1 (FaceNet) rebuilt as code, and the copy of the published Keras 2 weights into it.

The published `facenet_keras.h5` cannot be loaded by Keras 3: its 21 residual-scaling `Lambda` layers
hold marshalled Python 3.6 bytecode. The graph is rebuilt here with the same layer names, with
`ScaleSum` in place of each `Lambda`, and the arrays are copied layer by layer from the h5 file.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import keras
import numpy as np

INPUT_SIZE = 160
EMBEDDING_SIZE = 128
PARAMETER_COUNT = 22_808_144

_BN = {"axis": 3, "momentum": 0.995, "epsilon": 0.001, "scale": False}


class ConversionError(RuntimeError):
    """The source weights do not fit the rebuilt network: a layer is missing or a shape differs."""


@keras.saving.register_keras_serializable(package="face_attendance")
class ScaleSum(keras.layers.Layer):
    """Return `shortcut + residual * scale`: the residual scaling of Inception-ResNet blocks."""

    def __init__(self, scale: float, **kwargs):
        super().__init__(**kwargs)
        self.scale = float(scale)

    def call(self, inputs):
        shortcut, residual = inputs
        return shortcut + residual * self.scale

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self) -> dict:
        return {**super().get_config(), "scale": self.scale}


def _conv_bn(
    x,
    filters: int,
    kernel: tuple[int, int],
    name: str,
    *,
    strides: int = 1,
    padding: str = "same",
    fused: bool,
):
    if fused:  # the batch norm folded into the convolution's kernel and bias (see fold_batch_norms)
        x = keras.layers.Conv2D(filters, kernel, strides=strides, padding=padding, use_bias=True, name=name)(
            x
        )
    else:
        x = keras.layers.Conv2D(filters, kernel, strides=strides, padding=padding, use_bias=False, name=name)(
            x
        )
        x = keras.layers.BatchNormalization(name=f"{name}_BatchNorm", **_BN)(x)
    return keras.layers.Activation("relu", name=f"{name}_Activation")(x)


def _block35(x, index: int, *, fused: bool):
    prefix = f"Block35_{index}"
    b0 = _conv_bn(x, 32, (1, 1), f"{prefix}_Branch_0_Conv2d_1x1", fused=fused)
    b1 = _conv_bn(x, 32, (1, 1), f"{prefix}_Branch_1_Conv2d_0a_1x1", fused=fused)
    b1 = _conv_bn(b1, 32, (3, 3), f"{prefix}_Branch_1_Conv2d_0b_3x3", fused=fused)
    b2 = _conv_bn(x, 32, (1, 1), f"{prefix}_Branch_2_Conv2d_0a_1x1", fused=fused)
    b2 = _conv_bn(b2, 32, (3, 3), f"{prefix}_Branch_2_Conv2d_0b_3x3", fused=fused)
    b2 = _conv_bn(b2, 32, (3, 3), f"{prefix}_Branch_2_Conv2d_0c_3x3", fused=fused)
    mixed = keras.layers.Concatenate(axis=3, name=f"{prefix}_Concatenate")([b0, b1, b2])
    up = keras.layers.Conv2D(256, 1, padding="same", use_bias=True, name=f"{prefix}_Conv2d_1x1")(mixed)
    x = ScaleSum(0.17, name=f"{prefix}_ScaleSum")([x, up])
    return keras.layers.Activation("relu", name=f"{prefix}_Activation")(x)


def _block17(x, index: int, *, fused: bool):
    prefix = f"Block17_{index}"
    b0 = _conv_bn(x, 128, (1, 1), f"{prefix}_Branch_0_Conv2d_1x1", fused=fused)
    b1 = _conv_bn(x, 128, (1, 1), f"{prefix}_Branch_1_Conv2d_0a_1x1", fused=fused)
    b1 = _conv_bn(b1, 128, (1, 7), f"{prefix}_Branch_1_Conv2d_0b_1x7", fused=fused)
    b1 = _conv_bn(b1, 128, (7, 1), f"{prefix}_Branch_1_Conv2d_0c_7x1", fused=fused)
    mixed = keras.layers.Concatenate(axis=3, name=f"{prefix}_Concatenate")([b0, b1])
    up = keras.layers.Conv2D(896, 1, padding="same", use_bias=True, name=f"{prefix}_Conv2d_1x1")(mixed)
    x = ScaleSum(0.1, name=f"{prefix}_ScaleSum")([x, up])
    return keras.layers.Activation("relu", name=f"{prefix}_Activation")(x)


def _block8(x, index: int, *, fused: bool, scale: float = 0.2, activation: bool = True):
    prefix = f"Block8_{index}"
    b0 = _conv_bn(x, 192, (1, 1), f"{prefix}_Branch_0_Conv2d_1x1", fused=fused)
    b1 = _conv_bn(x, 192, (1, 1), f"{prefix}_Branch_1_Conv2d_0a_1x1", fused=fused)
    b1 = _conv_bn(b1, 192, (1, 3), f"{prefix}_Branch_1_Conv2d_0b_1x3", fused=fused)
    b1 = _conv_bn(b1, 192, (3, 1), f"{prefix}_Branch_1_Conv2d_0c_3x1", fused=fused)
    mixed = keras.layers.Concatenate(axis=3, name=f"{prefix}_Concatenate")([b0, b1])
    up = keras.layers.Conv2D(1792, 1, padding="same", use_bias=True, name=f"{prefix}_Conv2d_1x1")(mixed)
    x = ScaleSum(scale, name=f"{prefix}_ScaleSum")([x, up])
    if activation:
        x = keras.layers.Activation("relu", name=f"{prefix}_Activation")(x)
    return x


def build_inception_resnet_v1(*, fused: bool = False) -> keras.Model:
    """Return an untrained InceptionResNetV1 with the layer names of the published `facenet_keras.h5`.

    Input: a batch of 160x160 RGB face crops, each standardised on its own. Output: 128 floats
    (not yet L2-normalised). `fused` builds the inference form: each batch norm folded into the
    convolution (or dense layer) before it, which gives the same outputs with 113 fewer passes over
    the feature maps; it takes the arrays `fold_batch_norms` returns.
    """
    inputs = keras.Input(shape=(INPUT_SIZE, INPUT_SIZE, 3), name="input_1")
    x = _conv_bn(inputs, 32, (3, 3), "Conv2d_1a_3x3", strides=2, padding="valid", fused=fused)
    x = _conv_bn(x, 32, (3, 3), "Conv2d_2a_3x3", padding="valid", fused=fused)
    x = _conv_bn(x, 64, (3, 3), "Conv2d_2b_3x3", fused=fused)
    x = keras.layers.MaxPooling2D(3, strides=2, name="MaxPool_3a_3x3")(x)
    x = _conv_bn(x, 80, (1, 1), "Conv2d_3b_1x1", padding="valid", fused=fused)
    x = _conv_bn(x, 192, (3, 3), "Conv2d_4a_3x3", padding="valid", fused=fused)
    x = _conv_bn(x, 256, (3, 3), "Conv2d_4b_3x3", strides=2, padding="valid", fused=fused)

    for index in range(1, 6):
        x = _block35(x, index, fused=fused)

    b0 = _conv_bn(x, 384, (3, 3), "Mixed_6a_Branch_0_Conv2d_1a_3x3", strides=2, padding="valid", fused=fused)
    b1 = _conv_bn(x, 192, (1, 1), "Mixed_6a_Branch_1_Conv2d_0a_1x1", fused=fused)
    b1 = _conv_bn(b1, 192, (3, 3), "Mixed_6a_Branch_1_Conv2d_0b_3x3", fused=fused)
    b1 = _conv_bn(b1, 256, (3, 3), "Mixed_6a_Branch_1_Conv2d_1a_3x3", strides=2, padding="valid", fused=fused)
    b2 = keras.layers.MaxPooling2D(3, strides=2, name="Mixed_6a_Branch_2_MaxPool_1a_3x3")(x)
    x = keras.layers.Concatenate(axis=3, name="Mixed_6a")([b0, b1, b2])

    for index in range(1, 11):
        x = _block17(x, index, fused=fused)

    b0 = _conv_bn(x, 256, (1, 1), "Mixed_7a_Branch_0_Conv2d_0a_1x1", fused=fused)
    b0 = _conv_bn(b0, 384, (3, 3), "Mixed_7a_Branch_0_Conv2d_1a_3x3", strides=2, padding="valid", fused=fused)
    b1 = _conv_bn(x, 256, (1, 1), "Mixed_7a_Branch_1_Conv2d_0a_1x1", fused=fused)
    b1 = _conv_bn(b1, 256, (3, 3), "Mixed_7a_Branch_1_Conv2d_1a_3x3", strides=2, padding="valid", fused=fused)
    b2 = _conv_bn(x, 256, (1, 1), "Mixed_7a_Branch_2_Conv2d_0a_1x1", fused=fused)
    b2 = _conv_bn(b2, 256, (3, 3), "Mixed_7a_Branch_2_Conv2d_0b_3x3", fused=fused)
    b2 = _conv_bn(b2, 256, (3, 3), "Mixed_7a_Branch_2_Conv2d_1a_3x3", strides=2, padding="valid", fused=fused)
    b3 = keras.layers.MaxPooling2D(3, strides=2, name="Mixed_7a_Branch_3_MaxPool_1a_3x3")(x)
    x = keras.layers.Concatenate(axis=3, name="Mixed_7a")([b0, b1, b2, b3])

    for index in range(1, 6):
        x = _block8(x, index, fused=fused)
    x = _block8(x, 6, fused=fused, scale=1.0, activation=False)

    x = keras.layers.GlobalAveragePooling2D(name="AvgPool")(x)
    x = keras.layers.Dropout(0.2, name="Dropout")(x)
    if fused:
        outputs = keras.layers.Dense(EMBEDDING_SIZE, use_bias=True, name="Bottleneck")(x)
    else:
        x = keras.layers.Dense(EMBEDDING_SIZE, use_bias=False, name="Bottleneck")(x)
        outputs = keras.layers.BatchNormalization(
            axis=-1, momentum=0.995, epsilon=0.001, scale=False, name="Bottleneck_BatchNorm"
        )(x)
    return keras.Model(inputs, outputs, name="inception_resnet_v1")


def fold_batch_norms(arrays: dict[str, dict[str, np.ndarray]]) -> dict[str, dict[str, np.ndarray]]:
    """Return the arrays of the fused network: every "<layer>_BatchNorm" folded into "<layer>".

    In inference a batch norm is y = (x - mean) / sqrt(variance + eps) * gamma + beta, a per-channel
    scale and shift, so it can live in the kernel and bias of the layer before it. Raises
    ConversionError for a batch norm without its layer.
    """
    folded = {}
    for layer, weights in arrays.items():
        if layer.endswith("_BatchNorm"):
            if layer.removesuffix("_BatchNorm") not in arrays:
                raise ConversionError(
                    f"batch norm {layer} has no layer {layer.removesuffix('_BatchNorm')} to fold into"
                )
            continue
        norm = arrays.get(f"{layer}_BatchNorm")
        if norm is None:
            folded[layer] = dict(weights)
            continue
        try:
            scale = norm.get("gamma", 1.0) / np.sqrt(
                norm["moving_variance"].astype(np.float64) + _BN["epsilon"]
            )
            bias = weights.get("bias", 0.0) * scale + norm["beta"] - norm["moving_mean"] * scale
            kernel = weights["kernel"] * scale  # the output channels are the kernel's last axis
        except KeyError as exc:
            raise ConversionError(f"layer {layer} or its batch norm lacks {exc}") from exc
        folded[layer] = {"kernel": kernel.astype(np.float32), "bias": np.asarray(bias, dtype=np.float32)}
    return folded


def _short_name(weight_name: str) -> str:
    """Return "kernel" for "Conv2d_1a_3x3/kernel:0"."""
    return weight_name.rsplit("/", 1)[-1].split(":", 1)[0]


def _decode(name) -> str:
    return name.decode() if isinstance(name, bytes) else str(name)


def read_keras2_weights(h5_path: Path) -> dict[str, dict[str, np.ndarray]]:
    """Return {layer name: {weight name: array}} from a Keras 2 full-model or weights-only h5 file."""
    try:
        source = h5py.File(h5_path, "r")
    except OSError as exc:
        raise ConversionError(f"{h5_path} is not a readable HDF5 file: {exc}") from exc
    with source:
        group = source.get("model_weights", source)
        if "layer_names" not in group.attrs:
            raise ConversionError(f"{h5_path} holds no Keras model weights (no layer_names attribute)")
        weights = {}
        try:
            for layer in map(_decode, group.attrs["layer_names"]):
                names = [_decode(n) for n in group[layer].attrs.get("weight_names", [])]
                if names:
                    weights[layer] = {_short_name(n): np.asarray(group[layer][n][()]) for n in names}
        except (KeyError, OSError) as exc:
            raise ConversionError(f"{h5_path} is damaged: {exc}") from exc
    return weights


def assign_weights(model: keras.Model, weights: dict[str, dict[str, np.ndarray]], *, source: str) -> int:
    """Set every layer's weights from `weights` by layer and weight name; return how many arrays were set.

    Raise ConversionError, naming the layer, when a layer of the model has no weights in `weights`, a
    shape differs, or `weights` holds arrays that no layer took: a silent partial load would give
    plausible but wrong embeddings.
    """
    remaining = {layer: dict(arrays) for layer, arrays in weights.items()}
    assigned = 0
    for layer in model.layers:
        if not layer.weights:
            continue
        arrays = remaining.pop(layer.name, None)
        if arrays is None:
            raise ConversionError(f"layer {layer.name} has no weights in {source}")
        values = []
        for variable in layer.weights:
            array = arrays.pop(variable.name, None)
            if array is None:
                raise ConversionError(f"layer {layer.name}: weight {variable.name} is missing from {source}")
            if tuple(array.shape) != tuple(variable.shape):
                raise ConversionError(
                    f"layer {layer.name}: weight {variable.name} has shape {tuple(array.shape)} in {source}, "
                    f"the network expects {tuple(variable.shape)}"
                )
            values.append(array.astype(np.float32))
        if arrays:
            raise ConversionError(
                f"layer {layer.name}: {source} has weights the network lacks: {sorted(arrays)}"
            )
        layer.set_weights(values)
        assigned += len(values)
    if remaining:
        raise ConversionError(f"{source} has weights for layers the network lacks: {sorted(remaining)[:5]}")
    return assigned


# The project's weight file stores arrays by layer and weight name. Keras's own `.weights.h5` stores
# them by creation order under generated names, so reordering two same-shaped branches in the code
# above would load without error and give wrong embeddings; by name, it fails loudly instead.
FILE_FORMAT = "face-attendance/inception-resnet-v1"
FILE_FORMAT_VERSION = 1


def write_weights(model: keras.Model, path: Path) -> None:
    """Write the model's arrays to `path` by layer and weight name (the caller makes it atomic)."""
    with h5py.File(path, "w") as out:
        out.attrs["format"] = FILE_FORMAT
        out.attrs["format_version"] = FILE_FORMAT_VERSION
        layers = out.create_group("layers")
        for layer in model.layers:
            if layer.weights:
                group = layers.create_group(layer.name)
                for variable in layer.weights:
                    group.create_dataset(variable.name, data=np.asarray(variable.numpy(), dtype=np.float32))


def read_weights(path: Path) -> dict[str, dict[str, np.ndarray]]:
    """Return {layer name: {weight name: array}} from a file written by `write_weights`."""
    try:
        source = h5py.File(path, "r")
    except OSError as exc:
        raise ConversionError(f"{path} is not a readable HDF5 file: {exc}") from exc
    with source:
        found = (_decode(source.attrs.get("format", "")), int(source.attrs.get("format_version", 0)))
        if found != (FILE_FORMAT, FILE_FORMAT_VERSION):
            raise ConversionError(
                f"{path} is not a weight file of format {FILE_FORMAT} v{FILE_FORMAT_VERSION} (found {found})"
            )
        try:
            return {
                layer: {name: np.asarray(dataset[()]) for name, dataset in group.items()}
                for layer, group in source["layers"].items()
            }
        except (KeyError, OSError) as exc:
            raise ConversionError(f"{path} is damaged: {exc}") from exc


def convert_keras2_file(h5_path: Path) -> keras.Model:
    """Return InceptionResNetV1 holding the weights of a Keras 2 `facenet_keras.h5`."""
    arrays = read_keras2_weights(h5_path)  # first: a file that is no model fails before the slow build
    model = build_inception_resnet_v1()
    assign_weights(model, arrays, source=str(h5_path))
    return model


def load_facenet(weights_path: Path, *, fused: bool = True) -> keras.Model:
    """Return InceptionResNetV1 with the project's converted weights (by default in fused inference form)."""
    arrays = read_weights(weights_path)
    if fused:
        arrays = fold_batch_norms(arrays)
    model = build_inception_resnet_v1(fused=fused)
    assign_weights(model, arrays, source=str(weights_path))
    return model
