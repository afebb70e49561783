"""A register-blocked float32 matrix-product tile that keeps the reference's order of operations
(a Numba intrinsic in LLVM IR).

``matmul_f32_sequential`` (gemm.py) must give the bits of the reference loop: per output,
``total = 0.0f; total += lhs[m, k] * rhs[k, n]`` for k = 0..K-1, each product rounded to float32,
then added (no FMA, no reordering). Vectorising across outputs keeps that order. This tile holds an
MR x NR block of totals in registers for the whole k loop: per k it loads NR values of the rhs row,
broadcasts each of the MR lhs values, and does one multiply and one add per accumulator - an LLVM
``fmul`` then ``fadd`` without fast-math flags, which the backend never contracts into an FMA.
So every output sees exactly the reference's sequence of roundings.

Tile: MR = 8 rows x NR = 32 columns (two 16-lane vectors) where AVX-512 gives 32 vector registers,
4 x 16 otherwise. With ``NUMBA_DISABLE_JIT=1`` the NumPy loop below runs instead.
"""
from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic

from litelens.kernels.int_gemm import target_features

_WIDE = numba.config.DISABLE_JIT or "avx512f" in (target_features() or set())
LANES = 16 if _WIDE else 8
TILE_ROWS = 8 if _WIDE else 4
VECTORS = 2
TILE_COLS = LANES * VECTORS
F32, I32, I64 = ir.FloatType(), ir.IntType(32), ir.IntType(64)


def _codegen(context, builder, sig, args):
    lhs = context.make_array(sig.args[0])(context, builder, args[0])
    rhs = context.make_array(sig.args[1])(context, builder, args[1])
    out = context.make_array(sig.args[2])(context, builder, args[2])
    m0, n0 = (builder.sext(a, I64) if a.type != I64 else a for a in args[3:5])
    vf = ir.VectorType(F32, LANES)
    c = lambda v: ir.Constant(I64, v)  # noqa: E731
    lhs_row = builder.extract_value(lhs.strides, 0)
    rhs_row = builder.extract_value(rhs.strides, 0)
    out_row = builder.extract_value(out.strides, 0)
    depth = builder.extract_value(lhs.shape, 1)
    lhs_base = builder.add(builder.ptrtoint(lhs.data, I64), builder.mul(m0, lhs_row))
    rhs_base = builder.add(builder.ptrtoint(rhs.data, I64), builder.mul(n0, c(4)))
    out_base = builder.add(builder.ptrtoint(out.data, I64), builder.add(builder.mul(m0, out_row), builder.mul(n0, c(4))))

    entry = builder.block
    head = builder.append_basic_block("ftile.head")
    body = builder.append_basic_block("ftile.body")
    done = builder.append_basic_block("ftile.done")
    builder.branch(head)
    builder.position_at_end(head)
    k = builder.phi(I64)
    k.add_incoming(c(0), entry)
    totals = [[builder.phi(vf) for _ in range(VECTORS)] for _ in range(TILE_ROWS)]
    for row in totals:
        for p in row:
            p.add_incoming(ir.Constant(vf, [0.0] * LANES), entry)  # total = 0.0f
    builder.cbranch(builder.icmp_signed("<", k, depth), body, done)

    builder.position_at_end(body)
    rhs_k = builder.add(rhs_base, builder.mul(k, rhs_row))
    values = [builder.load(builder.inttoptr(builder.add(rhs_k, c(4 * LANES * v)), vf.as_pointer()), align=4)
              for v in range(VECTORS)]
    lhs_k = builder.add(lhs_base, builder.mul(k, c(4)))
    new = []
    for r in range(TILE_ROWS):
        a = builder.load(builder.inttoptr(builder.add(lhs_k, builder.mul(c(r), lhs_row)), F32.as_pointer()), align=4)
        splat = builder.shuffle_vector(builder.insert_element(ir.Constant(vf, ir.Undefined), a, ir.Constant(I32, 0)),
                                       ir.Constant(vf, ir.Undefined), ir.Constant(ir.VectorType(I32, LANES), None))
        new.append([builder.fadd(totals[r][v], builder.fmul(splat, values[v])) for v in range(VECTORS)])
    k_next = builder.add(k, c(1))
    end = builder.block
    builder.branch(head)
    k.add_incoming(k_next, end)
    for r in range(TILE_ROWS):
        for v in range(VECTORS):
            totals[r][v].add_incoming(new[r][v], end)

    builder.position_at_end(done)
    for r in range(TILE_ROWS):
        for v in range(VECTORS):
            addr = builder.add(out_base, builder.add(builder.mul(c(r), out_row), c(4 * LANES * v)))
            builder.store(totals[r][v], builder.inttoptr(addr, vf.as_pointer()), align=4)
    return context.get_dummy_value()


@intrinsic
def _tile_intrinsic(typingctx, lhs, rhs, out, m0, n0):
    return types.void(lhs, rhs, out, m0, n0), _codegen


def _tile_numpy(lhs, rhs, out, m0, n0):
    """The same tile in NumPy, k by k in float32 (NUMBA_DISABLE_JIT=1)."""
    block = np.zeros((TILE_ROWS, TILE_COLS), np.float32)
    a = lhs[m0:m0 + TILE_ROWS]
    b = rhs[:, n0:n0 + TILE_COLS]
    for k in range(lhs.shape[1]):
        block = block + np.outer(a[:, k], b[k]).astype(np.float32)
    out[m0:m0 + TILE_ROWS, n0:n0 + TILE_COLS] = block


# f32_tile(lhs, rhs, out, m0, n0): out[m0:m0+MR, n0:n0+NR] = lhs[m0:m0+MR] @ rhs[:, n0:n0+NR] in the
# reference order; lhs [M, K], rhs [K, N], out [M, N] float32 with unit-stride rows; the caller
# keeps the tile inside all three.
f32_tile = _tile_numpy if numba.config.DISABLE_JIT else _tile_intrinsic
