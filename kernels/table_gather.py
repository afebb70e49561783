"""Pair-table lookups 16 at a time: out[i] = table[(u1 << 8) | u2] with a vector gather (LLVM IR).

``pair_table_lookup`` (elementwise.py) spends its time in one scalar table load per element, and
Numba's vectoriser does not turn that loop into gathers. Here each step loads 16 codes of each
input (or repeats one code, for an input broadcast along the row), forms the 16 indices and reads
the table with one masked gather of 4-byte words at byte offsets (``table`` must have 3 readable
bytes past its 65536 entries), keeping the low byte. The same table, the same indices: the same
bits as the scalar loop. On AVX-512 / AVX2 the gather is VPGATHERQD; elsewhere LLVM scalarises it.
With ``NUMBA_DISABLE_JIT=1`` the NumPy version runs.
"""
from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

LANES = 16
TABLE_PAD = 4  # bytes after the 65536 entries (the gather reads 4 bytes from the last index)
I1, I8, I32, I64 = ir.IntType(1), ir.IntType(8), ir.IntType(32), ir.IntType(64)
V8, V32, V64, VI1 = (ir.VectorType(t, LANES) for t in (I8, I32, I64, I1))


def _codegen(context, builder, sig, args):
    out = context.make_array(sig.args[0])(context, builder, args[0])
    x1 = context.make_array(sig.args[1])(context, builder, args[1])
    x2 = context.make_array(sig.args[2])(context, builder, args[2])
    table = context.make_array(sig.args[3])(context, builder, args[3])
    start1, start2, base, steps, step1, step2 = (builder.sext(a, I64) if a.type != I64 else a for a in args[4:10])
    ptr_vec = ir.VectorType(I8.as_pointer(), LANES)
    name = "llvm.masked.gather.v16i32.v16p0"
    gather = builder.module.globals.get(name) or ir.Function(
        builder.module, ir.FunctionType(V32, [ptr_vec, I32, VI1, V32]), name)

    def splat(value, vtype):
        v = builder.insert_element(ir.Constant(vtype, ir.Undefined), value, ir.Constant(I32, 0))
        return builder.shuffle_vector(v, ir.Constant(vtype, ir.Undefined), ir.Constant(V32, None))

    def codes(arr, start, moving, i0):
        """16 codes from arr[start + i0 :] (moving), or arr[start] repeated, as uint8 in i32 lanes."""
        if moving:
            v = builder.load(builder.bitcast(builder.gep(arr.data, [builder.add(start, i0)]), V8.as_pointer()),
                             align=1)
        else:
            v = splat(builder.load(builder.gep(arr.data, [start])), V8)
        return builder.zext(v, V32)

    table_base = splat(builder.ptrtoint(table.data, I64), V64)
    all_lanes = ir.Constant(VI1, [1] * LANES)

    def loop(moving1, moving2):
        with cgutils.for_range(builder, steps) as rows:
            i0 = builder.mul(rows.index, ir.Constant(I64, LANES))
            index = builder.or_(builder.shl(codes(x1, start1, moving1, i0), ir.Constant(V32, [8] * LANES)),
                                codes(x2, start2, moving2, i0))
            pointers = builder.inttoptr(builder.add(table_base, builder.zext(index, V64)), ptr_vec)
            words = builder.call(gather, [pointers, ir.Constant(I32, 1), all_lanes, ir.Constant(V32, None)])
            dest = builder.bitcast(builder.gep(out.data, [builder.add(base, i0)]), V8.as_pointer())
            builder.store(builder.trunc(words, V8), dest, align=1)

    zero = ir.Constant(I64, 0)
    first_moves = builder.icmp_signed("!=", step1, zero)
    second_moves = builder.icmp_signed("!=", step2, zero)
    with builder.if_else(first_moves) as (then, otherwise):
        with then:
            with builder.if_else(second_moves) as (both, only_first):
                with both:
                    loop(True, True)
                with only_first:
                    loop(True, False)
        with otherwise:
            with builder.if_then(second_moves):
                loop(False, True)
    return context.get_dummy_value()


@intrinsic
def _gather_intrinsic(typingctx, out, x1, x2, table, start1, start2, base, steps, step1, step2):
    return types.void(out, x1, x2, table, start1, start2, base, steps, step1, step2), _codegen


def _gather_numpy(out, x1, x2, table, start1, start2, base, steps, step1, step2):
    n = steps * LANES
    a = x1[start1:start1 + n] if step1 else np.repeat(x1[start1], n)
    b = x2[start2:start2 + n] if step2 else np.repeat(x2[start2], n)
    index = (a.view(np.uint8).astype(np.int64) << 8) | b.view(np.uint8)
    out[base:base + n] = table[index]


# gather_row(out, x1, x2, table, start1, start2, base, steps, step1, step2): for i < 16 * steps,
# out[base + i] = table[(bits(x1[start1 + i * step1]) << 8) | bits(x2[start2 + i * step2])] with
# step1, step2 in {0, 1}; flat int8 arrays; table int8 [65536 + TABLE_PAD].
gather_row = _gather_numpy if numba.config.DISABLE_JIT else _gather_intrinsic
