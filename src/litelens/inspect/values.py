"""Codes and real values: what a tensor's stored numbers mean.

A quantized tensor stores codes q; its real value is ``scale * (q - zero_point)`` (per tensor, or per
channel along ``quantization.axis``). Every comparison in ``litelens.inspect`` is made on real values
in float64, and errors of quantized tensors are also expressed in their own LSBs (units of scale).
"""
from __future__ import annotations

import numpy as np

from litelens.ops.base import Quantization


def is_quantized(dtype: np.dtype, q: Quantization | None) -> bool:
    """An integer tensor with a scale: its codes stand for real values."""
    return q is not None and q.scale.size > 0 and np.dtype(dtype).kind in "iu"


def channel_shape(q: Quantization, rank: int) -> tuple[int, ...]:
    """The shape that broadcasts per-channel scales along ``q.axis`` of a rank-``rank`` tensor."""
    shape = [1] * rank
    shape[q.axis] = q.scale.size
    return tuple(shape)


def scale_array(q: Quantization, rank: int) -> np.ndarray | float:
    """The scale(s) as float64, shaped to broadcast against the tensor (a float when per tensor)."""
    if not q.per_channel:
        return float(q.scale[0])
    return q.scale.astype(np.float64).reshape(channel_shape(q, rank))


def zero_point_array(q: Quantization, rank: int) -> np.ndarray | int:
    if not q.per_channel:
        return int(q.zero_point[0])
    return q.zero_point.astype(np.float64).reshape(channel_shape(q, rank))


def real_values(values: np.ndarray, dtype: np.dtype, q: Quantization | None) -> np.ndarray:
    """Exact real values of a tensor as float64: ``scale * (q - zero_point)`` for a quantized tensor (the
    float32 scale times a small integer is exact in float64), else the stored numbers."""
    values = np.asarray(values)
    if not is_quantized(dtype, q):
        return values.astype(np.float64)
    rank = values.ndim
    return (values.astype(np.float64) - zero_point_array(q, rank)) * scale_array(q, rank)


def dequantized_values(values: np.ndarray, dtype: np.dtype, q: Quantization | None) -> np.ndarray:
    """Real values as the official DEQUANTIZE gives them: rounded to float32 (as float64).

    The shadow run starts from these for constants and model inputs. The scales are float32, so code 127
    at scale float32(1/255) with zero point -128 is 0.99999999 exactly, but 1.0 after DEQUANTIZE, as the
    float constant the converter quantized was; with exact values, ``1 - mask`` in the shadow run (a
    constant 1 against a mask that came in as the float 1.0) would be 1e-8 where both the quantized and
    the float model compute 0, and every comparison downstream would measure that artefact.
    """
    real = real_values(values, dtype, q)
    return real.astype(np.float32).astype(np.float64) if is_quantized(dtype, q) else real


def code_range(dtype: np.dtype) -> tuple[int, int]:
    """(qmin, qmax) of an integer type."""
    info = np.iinfo(dtype)
    return int(info.min), int(info.max)


def code_levels(dtype: np.dtype) -> int | None:
    """How many distinct codes an 8- or 16-bit type has (256 or 65536); None for other types."""
    dtype = np.dtype(dtype)
    if dtype.kind in "iu" and dtype.itemsize <= 2:
        return 1 << (8 * dtype.itemsize)
    return None


def quantization_summary(q: Quantization | None) -> tuple[float | list[float] | None, int | list[int] | None]:
    """(scale, zero point) for display and export: numbers per tensor, lists per channel."""
    if q is None or q.scale.size == 0:
        return None, None
    if q.per_channel:
        return [float(s) for s in q.scale], [int(z) for z in q.zero_point]
    return float(q.scale[0]), int(q.zero_point[0])
