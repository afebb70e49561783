"""Conversion flavors: one TensorFlow function in, one ``.tflite`` per flavor out (TF is the converter).

| flavor   | what the converter is asked for                                              |
|----------|------------------------------------------------------------------------------|
| float32  | plain conversion                                                             |
| float16  | float16 weights (reach the graph through DEQUANTIZE)                         |
| dynamic  | dynamic-range: int8 weights, float activations (hybrid kernels)              |
| int8     | full integer: int8 weights and activations, calibrated on representative data |
| int16x8  | int16 activations, int8 weights (EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8) |
"""
from __future__ import annotations

from typing import Callable, Iterable

FLAVORS = ("float32", "float16", "dynamic", "int8", "int16x8")


class ConversionRefused(RuntimeError):
    """The official converter refused the model for this flavor; the message is its reason."""


def convert(concrete_function, flavor: str,
            representative_dataset: Callable[[], Iterable[list]] | None = None,
            trackable=None, int_io: bool = False) -> bytes:
    """Convert a concrete ``tf.function`` to a ``.tflite`` flatbuffer of the given flavor.

    ``representative_dataset`` (required for int8 and int16x8) yields lists of input arrays in the
    function's argument order. ``int_io`` makes float inputs/outputs int8 (int16 for int16x8) so the
    model has no QUANTIZE/DEQUANTIZE at its boundary — handy for single-op models.
    """
    import tensorflow as tf

    if flavor not in FLAVORS:
        raise ValueError(f"unknown flavor {flavor!r}; choose from {', '.join(FLAVORS)}")
    converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete_function], trackable)
    if flavor == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif flavor == "dynamic":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    elif flavor in ("int8", "int16x8"):
        if representative_dataset is None:
            raise ValueError(f"flavor {flavor} needs a representative dataset for calibration")
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative_dataset
        if flavor == "int8":
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            io_type = tf.int8
        else:
            converter.target_spec.supported_ops = [
                tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8
            ]
            io_type = tf.int16
        if int_io:
            converter.inference_input_type = io_type
            converter.inference_output_type = io_type
    try:
        return converter.convert()
    except Exception as err:  # the converter's own reason, verbatim
        raise ConversionRefused(f"{flavor}: {type(err).__name__}: {err}") from err
