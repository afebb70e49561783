"""Data movement: RESHAPE (shape tensor or option, -1), SQUEEZE, EXPAND_DIMS, TRANSPOSE (rank 0..6),
GATHER (axis, batch_dims, int32/int64 indices, occasionally out of range), CONCATENATION (1..4
inputs, negative axes, float activations), SLICE (size -1), STRIDED_SLICE (negative begin/end/strides,
every mask, offset), PAD and PADV2 (with and without a constant value). Any dtype; quantized int8
keeps its scale and zero point."""
from __future__ import annotations

import numpy as np

from litelens import build
from litelens.fuzz import values as v
from litelens.fuzz.case import make_case
from litelens.fuzz.generators import register
from litelens.fuzz.generators.common import ACTIVATIONS, choose, shape_label, tensor

DTYPES = ("float32", "int8", "int16", "int32", "int64", "uint8", "bool")
DTYPE_WEIGHTS = (4, 4, 1, 1, 1, 1, 1)


def _values(rng, shape, dtype: str, zp: int):
    if dtype == "float32":
        return v.float_values(rng, shape, 3.0, 0.05)
    if dtype == "bool":
        return rng.integers(0, 2, tuple(shape)).astype(bool)
    if dtype in ("int8", "uint8", "int16"):
        return v.int_codes(rng, shape, dtype, zp, "uniform")
    return v.plain_ints(rng, shape, dtype)


def _factor(rng, size: int, rank: int) -> list[int]:
    """A random shape of ``rank`` dims whose product is ``size``."""
    dims = [1] * rank
    n = size
    for p in (2, 3, 5, 7, 11, 13):
        while n % p == 0 and rank:
            dims[int(rng.integers(rank))] *= p
            n //= p
    if rank:
        dims[int(rng.integers(rank))] *= n
    return dims


@register("RESHAPE", "SQUEEZE", "EXPAND_DIMS", "TRANSPOSE", "GATHER", "CONCATENATION", "SLICE",
          "STRIDED_SLICE", "PAD", "PADV2")
class Movement:
    def sample(self, rng, op: str) -> dict:
        max_rank = {"TRANSPOSE": 6, "PAD": 5, "PADV2": 5, "SLICE": 5, "STRIDED_SLICE": 5}.get(op, 4)
        min_rank = 1 if op in ("GATHER", "CONCATENATION", "SQUEEZE") else 0
        rank = int(rng.integers(min_rank, max_rank + 1))
        dtype = choose(rng, DTYPES, DTYPE_WEIGHTS)
        p = dict(op=op, dtype=dtype, shape=v.small_shape(rng, rank, 6, 720), seed=int(rng.integers(2**31)),
                 variant=int(rng.integers(0, 1 << 30)), s=v.pick_scale(rng, -8, 0),
                 zp=v.pick_zero_point(rng, dtype) if dtype in ("int8", "uint8") else 0,
                 activation=choose(rng, ACTIVATIONS, (5, 1, 1, 1)))
        return p

    def build(self, p: dict):
        rng = np.random.default_rng(p["seed"])
        choice = np.random.default_rng(p["variant"])  # structural choices, separate from the values
        op, dtype, shape = p["op"], p["dtype"], list(p["shape"])
        q = (p["s"], p["zp"]) if dtype in ("int8", "uint8", "int16") else (None, None)
        if dtype == "int16" and q[0] is not None:
            q = (p["s"], 0)
        x = tensor("x", shape, dtype, *q)
        values = {"x": _values(rng, shape, dtype, q[1] or 0)}
        inputs, options, out_shape, extra = getattr(self, "_" + op.lower())(choice, rng, p, shape, x, values)
        out = tensor("out", out_shape, dtype, *q)
        model = build.single_op(op, inputs, [out], options)
        return make_case(op, p, model, values, f"{op} {dtype} {shape_label(shape)} {extra}".rstrip())

    # Each returns (op inputs, options, output shape, label extra).
    def _reshape(self, c, rng, p, shape, x, values):
        size = int(np.prod(shape, dtype=np.int64))
        new = _factor(c, size, int(c.integers(0 if size == 1 else 1, 5))) if size else [0]
        if new and size and c.random() < 0.4:
            new[int(c.integers(len(new)))] = -1
        out_shape = list(new)
        if -1 in new:
            known = int(np.prod([d for d in new if d != -1]))
            out_shape[new.index(-1)] = size // known
        how = int(c.integers(3))  # 0: shape tensor, 1: options only, 2: both
        shape_t = tensor("shape", [len(new)], "int32", data=np.array(new, np.int32))
        inputs = [x] if how == 1 else [x, shape_t]
        options = {"new_shape": new} if how >= 1 else None
        return inputs, options, out_shape, f"-> {new}"

    def _squeeze(self, c, rng, p, shape, x, values):
        ones = [i for i, d in enumerate(shape) if d == 1]
        dims = [i - len(shape) if c.random() < 0.3 else i for i in ones if c.random() < 0.6]
        resolved = {d % len(shape) for d in dims}
        out_shape = [d for i, d in enumerate(shape) if (i not in resolved if dims else d != 1)]
        return [x], {"squeeze_dims": dims}, out_shape, f"dims={dims}"

    def _expand_dims(self, c, rng, p, shape, x, values):
        rank = len(shape)
        axis = int(c.integers(-rank - 1, rank + 1))
        at = axis + rank + 1 if axis < 0 else axis
        dtype = choose(c, ("int32", "int64"))
        axis_t = tensor("axis", [] if c.random() < 0.3 else [1], dtype, data=np.array(axis, dtype))
        return [x, axis_t], None, shape[:at] + [1] + shape[at:], f"axis={axis}"

    def _transpose(self, c, rng, p, shape, x, values):
        perm = [int(i) for i in c.permutation(len(shape))]
        perm_t = tensor("perm", [len(perm)], "int32", data=np.array(perm, np.int32))
        return [x, perm_t], None, [shape[i] for i in perm], f"perm={perm}"

    def _gather(self, c, rng, p, shape, x, values):
        rank = len(shape)
        axis = int(c.integers(-rank, rank))
        a = axis % rank
        i_rank = int(c.integers(0, 3))
        batch_dims = int(c.integers(0, min(a, i_rank) + 1)) if c.random() < 0.3 else 0
        i_shape = shape[:batch_dims] + v.small_shape(c, i_rank - batch_dims, 4)
        dtype = choose(c, ("int32", "int64"), (3, 1))
        bad = c.random() < 0.03
        idx = rng.integers(0, shape[a] + (1 if bad else 0), tuple(i_shape)).astype(dtype) if shape[a] else \
            np.zeros(i_shape, dtype)
        values["indices"] = idx
        out_shape = shape[:a] + i_shape[batch_dims:] + shape[a + 1:]
        options = {"axis": axis, "batch_dims": batch_dims}
        return [x, tensor("indices", i_shape, dtype)], options, out_shape, f"axis={axis} batch_dims={batch_dims}"

    def _concatenation(self, c, rng, p, shape, x, values):
        rank = len(shape)
        axis = int(c.integers(-rank, rank))
        a = axis % rank
        count = int(c.integers(1, 5))
        inputs = [x]
        total = shape[a]
        for j in range(1, count):
            s = list(shape)
            s[a] = int(c.integers(1, 5))
            total += s[a]
            t = x.copy(name=f"x{j}", shape=tuple(s))
            inputs.append(t)
            values[t.name] = _values(rng, s, p["dtype"], t.zero_points()[0] if t.quantized else 0)
        activation = p["activation"] if p["dtype"] == "float32" else 0
        out_shape = list(shape)
        out_shape[a] = total
        return inputs, {"axis": axis, "fused_activation_function": activation}, out_shape, \
            f"{count} inputs axis={axis} act={activation}"

    def _slice(self, c, rng, p, shape, x, values):
        begin = [int(c.integers(0, d + 1)) for d in shape]
        size = [int(c.integers(0, d - b + 1)) if c.random() < 0.8 else -1 for d, b in zip(shape, begin)]
        out_shape = [d - b if s == -1 else s for d, b, s in zip(shape, begin, size)]
        dtype = choose(c, ("int32", "int64"), (3, 1))
        b_t = tensor("begin", [len(begin)], dtype, data=np.array(begin, dtype))
        s_t = tensor("size", [len(size)], dtype, data=np.array(size, dtype))
        return [x, b_t, s_t], None, out_shape, f"begin={begin} size={size}"

    def _strided_slice(self, c, rng, p, shape, x, values):
        n = len(shape)
        offset = bool(n and c.random() < 0.15)
        if offset:  # end is relative to begin: only windows inside the input, no masks (as converters write)
            begin = [int(c.integers(0, d)) if d else 0 for d in shape]
            end = [int(c.integers(0, d - b + 1)) for d, b in zip(shape, begin)]
            strides = [int(choose(c, (1, 1, 2, 3))) for _ in range(n)]
            masks = {"begin_mask": 0, "end_mask": 0}
        else:
            begin = [int(c.integers(-d - 1, d + 2)) for d in shape]
            end = [int(c.integers(-d - 1, d + 2)) for d in shape]
            strides = [int(choose(c, (1, 1, 2, 3, -1, -2))) for _ in range(n)]
            masks = {k: int(c.integers(0, 1 << n)) if n and c.random() < 0.4 else 0 for k in ("begin_mask", "end_mask")}
        shrink = 0
        for i in range(n):
            if c.random() < 0.2 and shape[i] > 0:
                shrink |= 1 << i
                begin[i] = int(c.integers(0 if offset else -shape[i], shape[i]))
                end[i], strides[i] = 1 if offset else begin[i] + 1, 1
        options = dict(masks, shrink_axis_mask=shrink, offset=offset)
        ts = [tensor(name, [n], "int32", data=np.array(vals, np.int32)) for name, vals in
              (("begin", begin), ("end", end), ("strides", strides))]
        sliced = self._reference_strided_slice(shape, begin, end, strides, options)
        return [x] + ts, options, sliced, f"b={begin} e={end} s={strides} {options}"

    @staticmethod
    def _reference_strided_slice(shape, begin, end, strides, o) -> list[int]:
        """The output shape by TF's rules (what the official interpreter resizes the output to)."""
        out = []
        for i, d in enumerate(shape):
            b, e, s = begin[i], end[i] + (begin[i] if o["offset"] else 0), strides[i]
            if o["shrink_axis_mask"] >> i & 1:
                continue
            lo, hi = (0, d) if s > 0 else (-1, d - 1)
            b = (lo if s > 0 else hi) if o["begin_mask"] >> i & 1 else min(max(b + d if b < 0 else b, lo), hi)
            e = (hi if s > 0 else lo) if o["end_mask"] >> i & 1 else min(max(e + d if e < 0 else e, lo), hi)
            out.append(max(0, -(-(e - b) // s)) if s > 0 else max(0, -(-(b - e) // -s)))
        return out

    def _pad(self, c, rng, p, shape, x, values):
        pads = [[int(c.integers(0, 3)), int(c.integers(0, 3))] for _ in shape]
        dtype = choose(c, ("int32", "int64"), (3, 1))
        pad_t = tensor("paddings", [len(shape), 2], dtype, data=np.array(pads, dtype).reshape(len(shape), 2))
        out_shape = [d + a + b for d, (a, b) in zip(shape, pads)]
        inputs = [x, pad_t]
        if p["op"] == "PADV2" and c.random() < 0.8:
            fill = _values(rng, [], p["dtype"], 0)
            inputs.append(x.copy(name="value", shape=(), data=np.asarray(fill)))
        return inputs, None, out_shape, f"pads={pads}"

    _padv2 = _pad
