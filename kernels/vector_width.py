"""A per-kernel hint for LLVM's loop vectorizer: use 512-bit vectors where the CPU has them.

On AVX-512 CPUs LLVM prefers 256-bit vectors (``prefer-vector-width`` defaults to 256 there), so a
vectorized Numba loop runs on ymm registers. :func:`prefer_512` called at the top of a jitted
kernel sets the function attribute ``"prefer-vector-width"="512"`` on that kernel only: its loops
(and those of helpers Numba inlines into it) are then vectorized on zmm registers. It changes which
instructions run, never what they compute (no fastmath, no reassociation: the same IEEE operations
per element). Without AVX-512 the attribute does nothing; with ``NUMBA_DISABLE_JIT=1`` the call is a
no-op Python function.

Measured where it is used (``hybrid.py``, ``softmax.py``): worth it for long, branch-free loops of
float or int32 arithmetic whose per-element work is a handful of instructions.
"""
from __future__ import annotations

import numba

if numba.config.DISABLE_JIT:
    def prefer_512():
        """No-op without the JIT."""
        return None
else:
    from numba.core import types
    from numba.extending import intrinsic

    _ATTRIBUTE = '"prefer-vector-width"="512"'

    @intrinsic
    def prefer_512(typingctx):
        """Mark the calling kernel's LLVM function with ``"prefer-vector-width"="512"``."""
        def codegen(context, builder, signature, args):
            # llvmlite's FunctionAttributes accepts only keyword attributes through add(); the set
            # renders each item as written, so a string attribute goes in through set.add.
            set.add(builder.function.attributes, _ATTRIBUTE)
            return context.get_dummy_value()
        return types.none(), codegen
