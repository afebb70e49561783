"""Exact int8 matrix products on the CPU's integer dot-product instructions (VNNI, AVX2).

What :func:`int8_gemm` computes: ``acc[m, n] = Σ_k a[m, k] * b[n, k]`` in int32 with two's-complement
wrap-around, where ``a = x + 128`` (an int8 code moved to 0..255) and ``b`` an int8 code. The official
int8 kernels accumulate ``Σ_k (x + x_off)(w + w_off)`` in int32, wrapping; modulo 2**32

    Σ (x + xo)(w + wo) = Σ (x + 128) w  +  (xo - 128) Σ_k w  +  wo Σ_k x  +  K xo wo

so the ops add a per-column term (:func:`column_sums`, made once for constant weights) and, when
wo != 0, a per-row term (the row sums :func:`offset_rows` returns), and get the official int32
accumulator bit for bit whatever K is.

How. A register-blocked micro-kernel (``tile_product``) written as LLVM IR inside a Numba
intrinsic, one variant per instruction set, chosen at import from the CPU Numba compiles for:

* ``AMX`` (AMX-INT8, Linux grants the tile registers on request): TDPBUSD on 16 x 64-byte tiles,
  tile 32 x 32 (four int32 accumulator tiles), K padded to 64.
* ``VNNI512`` (AVX-512 VNNI): VPDPBUSD on zmm, 64 u8 x s8 products per instruction, tile 8 x 32.
* ``VNNI256`` (AVX-VNNI): the VEX VPDPBUSD on ymm, tile 4 x 16.
* ``AVX2``: VPMADDWD on ymm (a held as int16), tile 4 x 16.

TDPBUSD and VPDPBUSD add four u8 x s8 products to an int32 element without saturation (wrapping);
VPMADDWD adds two int16 products exactly (|sum| <= 2 * 255 * 128). So every variant is exact, not
approximately right. Without AVX2 (or not x86, or ``LITELENS_INT_GEMM=off``) :data:`ISA` is None and the ops use
their float-BLAS path (``gemm.py``). With ``NUMBA_DISABLE_JIT=1`` ``tile_product`` is plain NumPy, so
the whole path still runs (slowly) as Python. ``LITELENS_INT_GEMM=avx2`` (or ``avxvnni``,
``avx512vnni``) forces a smaller instruction set, for tests and comparisons.

Layouts (zero padded, sizes rounded up, allocated in Prepare):

* a: [Mp, Kp] uint8 (AMX, VNNI) or int16 (AVX2); Mp a multiple of the tile rows MR, Kp of K_PAD.
* b packed (:func:`pack_columns`): [Np / NR, Kp / G, NR, G] int8 - per block of NR columns and group
  of G consecutive k, the G codes of each column side by side, so one vector load feeds NR columns.
* acc: [Mp, Np] int32.
"""
from __future__ import annotations

import functools
import os
import threading

import numba
import numpy as np
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

from litelens.kernels.config import jit
from litelens.kernels.fixedpoint import wrap_int32

# Instruction sets, and per set: tile rows MR, tile columns NR, k group G, K padded to a multiple
# of K_PAD, dtype of a. Preference: AMX, then the widest vectors.
VNNI512, VNNI256, AVX2, AMX = 0, 1, 2, 3
ISA_NAMES = {VNNI512: "avx512vnni", VNNI256: "avxvnni", AVX2: "avx2", AMX: "amx"}
PREFERENCE = (AMX, VNNI512, VNNI256, AVX2)
TILE_ROWS = (8, 4, 4, 32)
TILE_COLS = (32, 16, 16, 32)
K_GROUP = (4, 4, 2, 4)
K_PAD = (4, 4, 2, 64)
A_DTYPE = {VNNI512: np.uint8, VNNI256: np.uint8, AVX2: np.int16, AMX: np.uint8}
_VECTORS = 2  # accumulator vectors per tile row: NR = 2 * lanes
_LANES = (16, 8, 8, 16)


def _target_features() -> set[str] | None:
    """The CPU features Numba compiles for (None when they cannot be known)."""
    import llvmlite.binding as llvm

    if numba.config.CPU_NAME not in (None, "host"):  # a chosen (e.g. generic, portable) target
        features = numba.config.CPU_FEATURES or ""
    else:
        try:
            features = llvm.get_host_cpu_features().flatten()
        except RuntimeError:
            return None
    return {f[1:] for f in features.split(",") if f.startswith("+")}


def _amx_permitted() -> bool:
    """Linux hands out the AMX tile registers only on request (arch_prctl ARCH_REQ_XCOMP_PERM for
    XTILEDATA); without it the first tile instruction kills the process. True once granted."""
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.syscall(158, 0x1023, 18) == 0  # SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA
    except (OSError, AttributeError):
        return False


def _available(features: set[str]) -> list[int]:
    out = []
    if {"amx-tile", "amx-int8"} <= features and _amx_permitted():
        out.append(AMX)
    if {"avx512vnni", "avx512bw", "avx512f"} <= features:
        out.append(VNNI512)
    if "avxvnni" in features or {"avx512vnni", "avx512vl"} <= features:
        out.append(VNNI256)
    if "avx2" in features:
        out.append(AVX2)
    return out


_FEATURES = None if numba.config.DISABLE_JIT else _target_features()
_AVAILABLE = list(PREFERENCE) if numba.config.DISABLE_JIT else _available(_FEATURES or set())


def _choose_isa() -> int | None:
    wanted = os.environ.get("LITELENS_INT_GEMM", "").lower()
    if wanted == "off" or not _AVAILABLE:
        return None
    by_name = {v: k for k, v in ISA_NAMES.items()}
    if wanted in by_name and by_name[wanted] in _AVAILABLE:
        return by_name[wanted]
    if numba.config.DISABLE_JIT:  # the NumPy tile runs anywhere; default to the AVX2 layout
        return AVX2
    return _AVAILABLE[0]


ISA: int | None = _choose_isa()


def target_features() -> set[str] | None:
    """The CPU features Numba compiles for (None with NUMBA_DISABLE_JIT or when unknown)."""
    return _FEATURES


def supported_isas() -> list[int]:
    """Every variant this CPU can run (for tests and benchmarks)."""
    return list(_AVAILABLE)


def padded(size: int, multiple: int) -> int:
    return -(-size // multiple) * multiple


# ---------------------------------------------------------------- Prepare-time (Python)

def packed_buffer(n: int, k: int, isa: int) -> np.ndarray:
    """A zeroed int8 [Np / NR, Kp / G, NR, G] buffer: the layout ``tile_product`` reads b from."""
    nr, g = TILE_COLS[isa], K_GROUP[isa]
    return np.zeros((padded(max(n, 1), nr) // nr, padded(k, K_PAD[isa]) // g, nr, g), np.int8)


def pack_columns(b_nk: np.ndarray, isa: int) -> np.ndarray:
    """[N, K] int8 -> the packed layout (zero padded)."""
    n, k = b_nk.shape
    packed = packed_buffer(n, k, isa)
    blocks, groups, nr, g = packed.shape
    full = np.zeros((blocks * nr, groups * g), np.int8)
    full[:n, :k] = b_nk
    packed[...] = full.reshape(blocks, nr, groups, g).transpose(0, 2, 1, 3)
    return packed


def column_sums(b_nk: np.ndarray) -> np.ndarray:
    """Σ_k b[n, k] as int64 [N]."""
    return b_nk.astype(np.int64).sum(axis=1)


def a_spec(m: int, k: int, isa: int, tag: str = "a") -> tuple:
    """Scratch spec of the [Mp, Kp] buffer for the shifted left operand."""
    return (tag, (padded(max(m, 1), TILE_ROWS[isa]), padded(k, K_PAD[isa])), np.dtype(A_DTYPE[isa]))


def acc_spec(m: int, n: int, isa: int, tag: str = "acc") -> tuple:
    """Scratch spec of the int32 [Mp, Np] accumulator."""
    return (tag, (padded(max(m, 1), TILE_ROWS[isa]), padded(max(n, 1), TILE_COLS[isa])), np.dtype(np.int32))


class _ThreadScratch(threading.local):
    def __init__(self):
        self.buffers: dict[tuple, np.ndarray] = {}
        self.nbytes = 0
        self.answers: dict[int, tuple] = {}  # id(specs) -> (specs, arrays): an op asks with the same tuple each Eval


_SCRATCH = _ThreadScratch()

# Work buffers a thread keeps between Evals. Past this, the buffers of other shapes are dropped (and
# made again if asked for), so running many models or sequence lengths in one process does not grow
# without bound.
SCRATCH_KEEP_BYTES = 64 << 20


def scratch(specs: tuple) -> tuple:
    """Work buffers for one Eval, shared by every op of every interpreter run on this thread.

    ``specs`` is a tuple of (tag, shape, dtype); the same spec gives the same zero-initialised array on
    one thread (ops run one after another) while it stays cached, so a model with 363 FULLY_CONNECTED
    ops keeps a few hundred kilobytes of accumulators hot in cache instead of 80 MB cold. Contents are
    not kept between Evals: kernels overwrite what they read (``offset_rows`` also zeroes a's k
    padding).
    """
    state = _SCRATCH
    known = state.answers.get(id(specs))
    if known is not None and known[0] is specs:  # (holding specs keeps its id from being reused)
        return known[1]
    buffers = state.buffers
    missing = [spec for spec in specs if spec not in buffers]
    if missing:
        need = sum(int(np.prod(spec[1], dtype=np.int64)) * spec[2].itemsize for spec in missing)
        if state.nbytes + need > SCRATCH_KEEP_BYTES:  # drop every buffer this Eval does not use
            keep = {spec: buffers[spec] for spec in specs if spec in buffers}
            buffers.clear()
            buffers.update(keep)
            state.nbytes = sum(b.nbytes for b in keep.values())
            state.answers.clear()
        for spec in missing:
            buffers[spec] = np.zeros(spec[1], spec[2])
            state.nbytes += buffers[spec].nbytes
    arrays = tuple(buffers[spec] for spec in specs)
    if len(state.answers) >= 4096:
        state.answers.clear()
    state.answers[id(specs)] = (specs, arrays)
    return arrays


def release_scratch() -> None:
    """Drop this thread's work buffers (they are made again when next asked for)."""
    _SCRATCH.buffers.clear()
    _SCRATCH.answers.clear()
    _SCRATCH.nbytes = 0


# ---------------------------------------------------------------- the micro-kernel

def _tile_codegen(isa: int, context, builder, a_type, b_type, acc_type, args):
    """LLVM IR of one MR x NR tile: acc[m0:m0+MR, blk*NR:(blk+1)*NR] = Σ over all k groups.

    Per k group j: NV vector loads of the packed b, and per row one 4-byte load of a (4 u8, or 2
    int16) broadcast to every lane; then one VPDPBUSD (or VPMADDWD + add) per accumulator.
    """
    i8, i16, i32, i64 = ir.IntType(8), ir.IntType(16), ir.IntType(32), ir.IntType(64)
    lanes, mr, nr, g = _LANES[isa], TILE_ROWS[isa], TILE_COLS[isa], K_GROUP[isa]
    vi32 = ir.VectorType(i32, lanes)
    a_arr = context.make_array(a_type)(context, builder, args[0])
    b_arr = context.make_array(b_type)(context, builder, args[2])
    acc_arr = context.make_array(acc_type)(context, builder, args[4])
    m0 = args[1] if args[1].type == i64 else builder.sext(args[1], i64)
    blk = args[3] if args[3].type == i64 else builder.sext(args[3], i64)
    a_row = builder.extract_value(a_arr.strides, 0)  # bytes
    acc_row = builder.extract_value(acc_arr.strides, 0)
    groups = builder.extract_value(b_arr.shape, 1)
    c = lambda v: ir.Constant(i64, v)  # noqa: E731
    a_base = builder.add(builder.ptrtoint(a_arr.data, i64), builder.mul(m0, a_row))
    b_base = builder.add(builder.ptrtoint(b_arr.data, i64), builder.mul(blk, builder.mul(groups, c(nr * g))))
    acc_base = builder.add(builder.ptrtoint(acc_arr.data, i64),
                           builder.add(builder.mul(m0, acc_row), builder.mul(blk, c(nr * 4))))
    module = builder.module
    if isa == AVX2:
        v16 = ir.VectorType(i16, 2 * lanes)
        fn = module.globals.get("llvm.x86.avx2.pmadd.wd") or ir.Function(
            module, ir.FunctionType(vi32, [v16, v16]), "llvm.x86.avx2.pmadd.wd")
    else:
        name = f"llvm.x86.avx512.vpdpbusd.{32 * lanes}"
        fn = module.globals.get(name) or ir.Function(module, ir.FunctionType(vi32, [vi32] * 3), name)

    entry = builder.block
    head = builder.append_basic_block("tile.head")
    body = builder.append_basic_block("tile.body")
    done = builder.append_basic_block("tile.done")
    builder.branch(head)
    builder.position_at_end(head)
    j = builder.phi(i64)
    j.add_incoming(c(0), entry)
    accs = [[builder.phi(vi32) for _ in range(_VECTORS)] for _ in range(mr)]
    for row in accs:
        for p in row:
            p.add_incoming(ir.Constant(vi32, None), entry)
    builder.cbranch(builder.icmp_signed("<", j, groups), body, done)

    builder.position_at_end(body)
    b_j = builder.add(b_base, builder.mul(j, c(nr * g)))
    bs = []
    for v in range(_VECTORS):
        addr = builder.add(b_j, c(v * lanes * g))
        if isa == AVX2:  # 8 columns x 2 int8 -> 16 int16
            raw = builder.load(builder.inttoptr(addr, ir.VectorType(i8, 2 * lanes).as_pointer()), align=1)
            bs.append(builder.sext(raw, ir.VectorType(i16, 2 * lanes)))
        else:
            bs.append(builder.load(builder.inttoptr(addr, vi32.as_pointer()), align=1))
    new = []
    a_j = builder.add(a_base, builder.mul(j, c(4)))  # 4 bytes of a per group
    for r in range(mr):
        word = builder.load(builder.inttoptr(builder.add(a_j, builder.mul(c(r), a_row)), i32.as_pointer()), align=1)
        splat = builder.shuffle_vector(builder.insert_element(ir.Constant(vi32, ir.Undefined), word, ir.Constant(i32, 0)),
                                       ir.Constant(vi32, ir.Undefined), ir.Constant(ir.VectorType(i32, lanes), None))
        row = []
        for v in range(_VECTORS):
            if isa == AVX2:
                pairs = builder.call(fn, [builder.bitcast(splat, bs[v].type), bs[v]])
                row.append(builder.add(accs[r][v], pairs))
            else:
                row.append(builder.call(fn, [accs[r][v], splat, bs[v]]))  # (acc, u8 a, s8 b)
        new.append(row)
    j_next = builder.add(j, c(1))
    end = builder.block
    builder.branch(head)
    j.add_incoming(j_next, end)
    for r in range(mr):
        for v in range(_VECTORS):
            accs[r][v].add_incoming(new[r][v], end)

    builder.position_at_end(done)
    for r in range(mr):
        for v in range(_VECTORS):
            addr = builder.add(acc_base, builder.add(builder.mul(c(r), acc_row), c(v * lanes * 4)))
            builder.store(accs[r][v], builder.inttoptr(addr, vi32.as_pointer()), align=1)


def _amx_config(builder):
    """Pointer to the 64-byte tile configuration (palette 1): tiles 0-7 each 16 rows x 64 bytes."""
    i8 = ir.IntType(8)
    module = builder.module
    name = "litelens_amx_tile_config"
    config = module.globals.get(name)
    if config is None:
        raw = bytearray(64)
        raw[0] = 1  # palette
        for t in range(8):
            raw[16 + 2 * t] = 64  # bytes per row (little-endian uint16)
            raw[48 + t] = 16  # rows
        config = ir.GlobalVariable(module, ir.ArrayType(i8, 64), name)
        config.initializer = ir.Constant(ir.ArrayType(i8, 64), raw)
        config.global_constant = True
        config.linkage = "internal"
        config.align = 64
    return builder.bitcast(config, i8.as_pointer())


def _amx_codegen(context, builder, a_type, b_type, acc_type, args):
    """One 32 x 32 tile on AMX: C tiles 0-3 (2 x 2 of 16 x 16 int32), A tiles 4-5 (16 rows x 64 u8),
    B tiles 6-7 (16 groups of 4 k x 16 columns, read straight from the packed layout: its row of
    32 columns x 4 bytes is 128 bytes, the second tile starts 64 bytes in). TDPBUSD per chunk of 64 k."""
    i8, i64 = ir.IntType(8), ir.IntType(64)
    void, ptr = ir.VoidType(), i8.as_pointer()
    module = builder.module

    def declare(name, params):
        return module.globals.get(name) or ir.Function(module, ir.FunctionType(void, params), name)

    load = declare("llvm.x86.tileloadd64", [i8, ptr, i64])
    store = declare("llvm.x86.tilestored64", [i8, ptr, i64])
    dot = declare("llvm.x86.tdpbusd", [i8, i8, i8])
    zero = declare("llvm.x86.tilezero", [i8])
    a_arr = context.make_array(a_type)(context, builder, args[0])
    b_arr = context.make_array(b_type)(context, builder, args[2])
    acc_arr = context.make_array(acc_type)(context, builder, args[4])
    m0 = args[1] if args[1].type == i64 else builder.sext(args[1], i64)
    blk = args[3] if args[3].type == i64 else builder.sext(args[3], i64)
    c = lambda v: ir.Constant(i64, v)  # noqa: E731
    t = lambda v: ir.Constant(i8, v)  # noqa: E731
    a_row = builder.extract_value(a_arr.strides, 0)
    acc_row = builder.extract_value(acc_arr.strides, 0)
    groups = builder.extract_value(b_arr.shape, 1)
    a_base = builder.add(builder.ptrtoint(a_arr.data, i64), builder.mul(m0, a_row))
    b_base = builder.add(builder.ptrtoint(b_arr.data, i64), builder.mul(blk, builder.mul(groups, c(128))))
    acc_base = builder.add(builder.ptrtoint(acc_arr.data, i64),
                           builder.add(builder.mul(m0, acc_row), builder.mul(blk, c(128))))
    as_ptr = lambda v: builder.inttoptr(v, ptr)  # noqa: E731
    for tile in range(4):
        builder.call(zero, [t(tile)])
    chunks = builder.udiv(groups, c(16))
    a_lower = builder.add(a_base, builder.mul(c(16), a_row))
    with cgutils.for_range(builder, chunks) as loop:
        j = loop.index
        builder.call(load, [t(4), as_ptr(builder.add(a_base, builder.mul(j, c(64)))), a_row])
        builder.call(load, [t(5), as_ptr(builder.add(a_lower, builder.mul(j, c(64)))), a_row])
        b_j = builder.add(b_base, builder.mul(j, c(16 * 128)))
        builder.call(load, [t(6), as_ptr(b_j), c(128)])
        builder.call(load, [t(7), as_ptr(builder.add(b_j, c(64))), c(128)])
        for out, left, right in ((0, 4, 6), (1, 4, 7), (2, 5, 6), (3, 5, 7)):
            builder.call(dot, [t(out), t(left), t(right)])
    for tile, row_off, col_off in ((0, 0, 0), (1, 0, 64), (2, 16, 0), (3, 16, 64)):
        addr = builder.add(acc_base, builder.add(builder.mul(c(row_off), acc_row), c(col_off)))
        builder.call(store, [t(tile), as_ptr(addr), acc_row])


def _supported_by_target(isa: int) -> bool:
    return isa in supported_isas()


@intrinsic(prefer_literal=True)
def _amx_begin_intrinsic(typingctx, isa):
    """ldtilecfg with the fixed configuration (AMX only; nothing for the other variants)."""
    if not isinstance(isa, types.IntegerLiteral):
        return None

    def codegen(context, builder, signature, args):
        if isa.literal_value == AMX and _supported_by_target(AMX):
            i8 = ir.IntType(8)
            fn = builder.module.globals.get("llvm.x86.ldtilecfg") or ir.Function(
                builder.module, ir.FunctionType(ir.VoidType(), [i8.as_pointer()]), "llvm.x86.ldtilecfg")
            builder.call(fn, [_amx_config(builder)])
        return context.get_dummy_value()

    return types.void(isa), codegen


@intrinsic(prefer_literal=True)
def _amx_end_intrinsic(typingctx, isa):
    """tilerelease (AMX only): the tile state goes back to init, so context switches stay cheap."""
    if not isinstance(isa, types.IntegerLiteral):
        return None

    def codegen(context, builder, signature, args):
        if isa.literal_value == AMX and _supported_by_target(AMX):
            fn = builder.module.globals.get("llvm.x86.tilerelease") or ir.Function(
                builder.module, ir.FunctionType(ir.VoidType(), []), "llvm.x86.tilerelease")
            builder.call(fn, [])
        return context.get_dummy_value()

    return types.void(isa), codegen


@intrinsic(prefer_literal=True)
def _tile_intrinsic(typingctx, isa, a, m0, b, blk, acc):
    if not isinstance(isa, types.IntegerLiteral):
        return None
    sig = types.void(isa, a, m0, b, blk, acc)
    which = isa.literal_value

    def codegen(context, builder, signature, args):
        if not _supported_by_target(which):  # other variants are never called: emit nothing for them
            return context.get_dummy_value()
        emit = _amx_codegen if which == AMX else functools.partial(_tile_codegen, which)
        emit(context, builder, signature.args[1], signature.args[3], signature.args[5], args[1:])
        return context.get_dummy_value()

    return sig, codegen


def _tile_numpy(isa, a, m0, b, blk, acc):
    """The same tile in NumPy (NUMBA_DISABLE_JIT=1): exact int64 product, wrapped to int32."""
    mr, nr = TILE_ROWS[isa], TILE_COLS[isa]
    b_kn = b[blk].transpose(0, 2, 1).reshape(-1, nr)  # [Kp/G, G, NR] -> [Kp, NR]
    product = a[m0:m0 + mr].astype(np.int64) @ b_kn.astype(np.int64)
    acc[m0:m0 + mr, blk * nr:(blk + 1) * nr] = ((product + 2**31) % 2**32 - 2**31).astype(np.int32)


def _no_op(isa):
    pass


tile_product = _tile_numpy if numba.config.DISABLE_JIT else _tile_intrinsic
amx_begin = _no_op if numba.config.DISABLE_JIT else _amx_begin_intrinsic
amx_end = _no_op if numba.config.DISABLE_JIT else _amx_end_intrinsic


# ---------------------------------------------------------------- jitted drivers

@jit
def int8_gemm(isa, a, b, acc):
    """acc = a @ b.T in int32 (wrapping): a [Mp, Kp] (x + 128), b packed by :func:`pack_columns`.

    Loops over column blocks (a block of b, K x NR bytes, stays in L1) and row tiles.
    """
    rows = TILE_ROWS[isa]
    if a.shape[1] != b.shape[1] * K_GROUP[isa] or b.shape[2] != TILE_COLS[isa] or a.shape[0] % rows != 0 \
            or acc.shape[0] != a.shape[0] or acc.shape[1] != b.shape[0] * TILE_COLS[isa]:
        raise ValueError("int8_gemm: operand shapes do not match the tile layout")
    if isa == AMX:
        amx_begin(AMX)
    for blk in range(b.shape[0]):
        for m0 in range(0, a.shape[0], rows):
            if isa == AMX:
                tile_product(AMX, a, m0, b, blk, acc)
            elif isa == VNNI512:
                tile_product(VNNI512, a, m0, b, blk, acc)
            elif isa == VNNI256:
                tile_product(VNNI256, a, m0, b, blk, acc)
            else:
                tile_product(AVX2, a, m0, b, blk, acc)
    if isa == AMX:
        amx_end(AMX)


@jit
def offset_rows(x, a, row_sums, want_sums):
    """a[m, k] = x[m, k] + 128 for the [M, K] int8 x, a[m, K:] = 0 (so whatever the padding of b
    holds adds nothing); row_sums[m] = Σ_k x[m, k] when ``want_sums`` (the per-row correction term
    needs it only for a non-zero b offset). Rows of a past M are left as they are: their results
    are never read."""
    m_size, k_size = x.shape
    for m in range(m_size):
        for k in range(k_size):
            a[m, k] = np.int64(x[m, k]) + 128
        for k in range(k_size, a.shape[1]):
            a[m, k] = 0
        if want_sums:
            total = np.int64(0)
            for k in range(k_size):
                total += x[m, k]
            row_sums[m] = total


@jit
def pack_columns_kn(b_kn, packed, sums):
    """Run-time version of :func:`pack_columns` for an operand stored [K, N] (a BATCH_MATMUL rhs):
    packed[n // NR, k // G, n % NR, k % G] = b[k, n] (zero beyond K and N); sums[n] = Σ_k b[k, n].
    G and NR are read from ``packed``'s shape."""
    k_size, n_size = b_kn.shape
    blocks, groups, nr, g = packed.shape
    for blk in range(blocks):
        for grp in range(groups):
            for gi in range(g):
                k = grp * g + gi
                for c in range(nr):
                    n = blk * nr + c
                    packed[blk, grp, c, gi] = b_kn[k, n] if k < k_size and n < n_size else 0
    for n in range(n_size):
        sums[n] = 0
    for k in range(k_size):
        for n in range(n_size):
            sums[n] += b_kn[k, n]


@jit
def pack_columns_nk(b_nk, packed, sums):
    """Like :func:`pack_columns_kn` for an operand stored [N, K] (run-time FULLY_CONNECTED weights,
    BATCH_MATMUL with adj_y)."""
    n_size, k_size = b_nk.shape
    blocks, groups, nr, g = packed.shape
    for blk in range(blocks):
        for grp in range(groups):
            for c in range(nr):
                n = blk * nr + c
                for gi in range(g):
                    k = grp * g + gi
                    packed[blk, grp, c, gi] = b_nk[n, k] if k < k_size and n < n_size else 0
    for n in range(n_size):
        total = np.int64(0)
        for k in range(k_size):
            total += b_nk[n, k]
        sums[n] = total


@jit
def offset_columns(x_km, a, row_sums, want_sums):
    """Like :func:`offset_rows` for a left operand stored transposed, [K, M] (BATCH_MATMUL adj_x):
    a[m, k] = x[k, m] + 128, a[m, K:] = 0, row_sums[m] = Σ_k x[k, m] when ``want_sums``."""
    k_size, m_size = x_km.shape
    for m in range(m_size):
        for k in range(k_size, a.shape[1]):
            a[m, k] = 0
        row_sums[m] = 0
    for k in range(k_size):
        for m in range(m_size):
            a[m, k] = np.int64(x_km[k, m]) + 128
    if want_sums:
        for k in range(k_size):
            for m in range(m_size):
                row_sums[m] += x_km[k, m]


@jit
def exact_products(isa, x, a, row_sums, b_packed, b_sums, acc):
    """acc[m, n] = Σ_k x[m, k] * b[n, k] in int32 (wrapping) for m < M, n < N: the raw int8 dot
    products, from Σ (x + 128) b - 128 Σ_k b. x [M, K] int8 (values, any integer dtype in int8
    range); b packed with its column sums ``b_sums`` [N]."""
    offset_rows(x, a, row_sums, False)
    int8_gemm(isa, a, b_packed, acc)
    for m in range(x.shape[0]):
        for n in range(b_sums.shape[0]):
            acc[m, n] = wrap_int32(np.int64(acc[m, n]) - 128 * b_sums[n])
