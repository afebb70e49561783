"""Random quantization parameters and tensor values aimed at the corners of integer arithmetic.

Scales span many binades (2**-16 .. 2**4) and come as exact powers of two (products land exactly on
ties), plain random mantissas, or awkward values (1/3, just below a power of two, 0.1). Zero points
sit at both ends of the type's range as often as in the middle. Values hit the clamps (extremes),
spread around the zero point (rounding), or cover the whole range.
"""
from __future__ import annotations

import numpy as np

INT_RANGE = {"int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767), "int32": (-(2**31), 2**31 - 1),
             "int64": (-(2**63), 2**63 - 1)}
AWKWARD = (2 / 3, 1.0 / 0.75, 1.1, 1.9999999, 1.0000001, 1.2, 1.6, 1.4142135)
INT_VALUE_MODES = ("uniform", "near_zp", "extremes", "mixed")


def f32(x: float) -> float:
    return float(np.float32(x))


def pick_scale(rng, low: int = -12, high: int = 2) -> float:
    """A positive float32 scale in [2**low, 2**(high + 1))."""
    exponent = int(rng.integers(low, high + 1))
    kind = rng.random()
    if kind < 0.3:
        return f32(2.0 ** exponent)
    if kind < 0.5:
        return f32(2.0 ** exponent * AWKWARD[int(rng.integers(len(AWKWARD)))])
    return f32(2.0 ** exponent * rng.uniform(1.0, 2.0))


def scale_near(rng, base: float, binades: float = 3.0, pow2: bool | None = None) -> float:
    """A scale within ``binades`` powers of two of ``base``; a power-of-two multiple of it when ``pow2``."""
    if pow2 is None:
        pow2 = rng.random() < 0.3
    if pow2:
        return f32(base * 2.0 ** int(rng.integers(-int(binades), int(binades) + 1)))
    return f32(base * 2.0 ** rng.uniform(-binades, binades))


def pick_zero_point(rng, dtype: str, symmetric: bool = False) -> int:
    if symmetric or dtype not in ("int8", "uint8"):
        return 0
    lo, hi = INT_RANGE[dtype]
    r = rng.random()
    if r < 0.2:
        return lo
    if r < 0.4:
        return hi
    if r < 0.55:
        return 0 if dtype == "int8" else 128
    return int(rng.integers(lo, hi + 1))


def int_codes(rng, shape, dtype: str, zero_point: int = 0, mode: str = "uniform") -> np.ndarray:
    lo, hi = INT_RANGE[dtype]
    lo, hi = max(lo, -(2**31)), min(hi, 2**31 - 1)
    shape = tuple(shape)
    if mode == "near_zp":
        spread = float(rng.choice([1.5, 6.0, 30.0] if dtype in ("int8", "uint8") else [3.0, 300.0, 3000.0]))
        codes = np.rint(zero_point + rng.standard_normal(shape) * spread)
    elif mode == "extremes":
        choices = np.array([lo, lo + 1, hi - 1, hi, zero_point, zero_point + 1, zero_point - 1], np.float64)
        codes = choices[rng.integers(0, choices.size, shape)]
    elif mode == "mixed":
        codes = rng.integers(lo, hi, shape, endpoint=True).astype(np.float64)
        edge = rng.random(shape) < 0.2
        codes[edge] = np.where(rng.random(shape)[edge] < 0.5, lo, hi)
    else:
        codes = rng.integers(lo, hi, shape, endpoint=True).astype(np.float64)
    return np.array(np.clip(codes, lo, hi), dtype=dtype)


FLOAT_SPECIALS = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, -1e-40, 3.4e38, -3.4e38, 1e-30],
                          np.float32)


def float_values(rng, shape, spread: float = 2.0, specials: float = 0.0) -> np.ndarray:
    """N(0, spread**2) float32 values; a ``specials`` share replaced by 0, -0, +-inf, NaN, subnormals, huge."""
    shape = tuple(shape)
    with np.errstate(over="ignore"):
        x = np.array(rng.standard_normal(shape) * spread, dtype=np.float32)
    if specials > 0 and x.size:
        mask = rng.random(shape) < specials
        x[mask] = FLOAT_SPECIALS[rng.integers(0, FLOAT_SPECIALS.size, int(mask.sum()))]
    return x


def plain_ints(rng, shape, dtype: str, span: int | None = None) -> np.ndarray:
    """Unquantized integers: small (|x| < span) or, with span None, the type's full range."""
    lo, hi = INT_RANGE[dtype]
    if span is not None:
        lo, hi = max(lo, -span), min(hi, span)
    if dtype == "int64" and span is None:
        return np.array(rng.integers(-(2**62), 2**62, tuple(shape), dtype=np.int64))
    return np.array(rng.integers(lo, hi, tuple(shape), endpoint=True), dtype=dtype)


def small_shape(rng, rank: int, max_dim: int = 5, max_size: int = 512) -> list[int]:
    """A shape of ``rank`` dims in 1..max_dim (1 is common), at most ``max_size`` elements."""
    shape = []
    for _ in range(rank):
        shape.append(1 if rng.random() < 0.3 else int(rng.integers(1, max_dim + 1)))
    while int(np.prod(shape, dtype=np.int64)) > max_size:
        i = int(np.argmax(shape))
        shape[i] = max(1, shape[i] // 2)
    return shape
