"""Checks the official XNNPACK delegate makes on every tensor of a node it has taken.

The delegate decides per node whether to take it (``Op.xnnpack_rejects``); then, defining the node's
tensors for XNNPACK (``DefineTensors`` in ``xnnpack_delegate.cc``), it fails on an 8-bit tensor whose
quantization XNNPACK cannot express, and the official interpreter then refuses the whole model.
litelens refuses it too, naming the tensor.
"""
from __future__ import annotations

import numpy as np

from litelens.ops.base import Node


def check_xnnpack_tensors(node: Node) -> None:
    """For a node the delegate took: every int8/uint8 tensor needs a normal,
    positive scale and a zero point in the type's range, else the delegate fails to prepare and the
    official interpreter refuses the model (e.g. "unsupported scale value (0.000000) ... in XNNPACK delegate";
    a QUANTIZE f32 -> int8 with such an output scale even crashes the 2.3.0 wheel)."""
    for t in [*node.inputs, *node.outputs]:
        if t is None or t.dtype not in (np.int8, np.uint8) or t.quantization is None:
            continue
        q = t.quantization
        scales = q.scale.astype(np.float32)
        lo, hi = (-128, 127) if t.dtype == np.int8 else (0, 255)
        with np.errstate(invalid="ignore"):
            bad = ~(np.isfinite(scales) & (scales >= np.finfo(np.float32).tiny))
        if bad.any():
            channel = int(np.flatnonzero(bad)[0])
            raise node.error(f"the official XNNPACK delegate cannot define {t.describe()}: its scale "
                             f"{float(scales[channel])!r} (channel {channel}) is not a normal positive number "
                             "(the official interpreter fails to prepare or crashes)")
        outside = (q.zero_point < lo) | (q.zero_point > hi)
        if outside.any():
            raise node.error(f"the official XNNPACK delegate cannot define {t.describe()}: zero point "
                             f"{int(q.zero_point[outside][0])} is outside [{lo}, {hi}] (the official interpreter "
                             "fails to prepare)")
