"""Byte mutations of a ``.tflite`` file: truncation, bit flips, redirected offsets, huge vector lengths.

Random flips mostly land in constant data (weights are most of a model's bytes) and change nothing but
values. So the mutator first maps the file's *structure* — where each table's vtable pointer, vtable
entries, fields, offsets and vector lengths are — by walking it with the ``tflite`` bindings, and aims
most mutations there.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np
import tflite

# Kinds of positions in the map.
VTABLE_POINTER = "soffset"  # int32 at a table's start: where its vtable is
VTABLE_ENTRY = "vtable"  # uint16 field offsets in a vtable (and the vtable's two sizes)
FIELD = "field"  # a table field's bytes (a scalar, or a uoffset to a sub-table/vector/string)
VECTOR_LENGTH = "length"  # uint32 before a vector's elements


@dataclass
class StructureMap:
    size: int
    positions: dict[str, list[int]] = field(default_factory=dict)

    def add(self, kind: str, pos: int) -> None:
        if 0 <= pos < self.size:
            self.positions.setdefault(kind, []).append(pos)

    def count(self) -> int:
        return sum(len(v) for v in self.positions.values())


def _walk_table(m: StructureMap, tab, seen: set) -> None:
    """Record a table's vtable pointer, vtable entries and field positions (once per table)."""
    pos = tab.Pos
    if pos in seen or not 0 <= pos < m.size - 4:
        return
    seen.add(pos)
    m.add(VTABLE_POINTER, pos)
    vtable = pos - struct.unpack_from("<i", tab.Bytes, pos)[0]
    if not 0 <= vtable < m.size - 4:
        return
    vt_size = struct.unpack_from("<H", tab.Bytes, vtable)[0]
    m.add(VTABLE_ENTRY, vtable)
    m.add(VTABLE_ENTRY, vtable + 2)
    for slot in range(4, min(vt_size, 64), 2):
        m.add(VTABLE_ENTRY, vtable + slot)
        off = tab.Offset(slot)
        if off:
            m.add(FIELD, pos + off)


def _vector_length(m: StructureMap, tab, slot: int) -> None:
    off = tab.Offset(slot)
    if off:
        start = tab.Vector(off)
        m.add(VECTOR_LENGTH, start - 4)


def structure_map(content: bytes) -> StructureMap:
    """Positions of the structural bytes of a valid model (tables, vtables, offsets, vector lengths)."""
    m = StructureMap(len(content))
    seen: set = set()
    root = tflite.Model.GetRootAsModel(content, 0)
    _walk_table(m, root._tab, seen)
    for slot in (6, 8, 12, 14, 16, 18):  # operator_codes, subgraphs, buffers, metadata_buffer, metadata, sigs
        _vector_length(m, root._tab, slot)
    for i in range(root.OperatorCodesLength()):
        _walk_table(m, root.OperatorCodes(i)._tab, seen)
    for i in range(root.BuffersLength()):
        b = root.Buffers(i)
        _walk_table(m, b._tab, seen)
        _vector_length(m, b._tab, 4)
    for i in range(root.SignatureDefsLength()):
        s = root.SignatureDefs(i)
        _walk_table(m, s._tab, seen)
        for slot in (4, 6):
            _vector_length(m, s._tab, slot)
        for j in range(s.InputsLength()):
            _walk_table(m, s.Inputs(j)._tab, seen)
        for j in range(s.OutputsLength()):
            _walk_table(m, s.Outputs(j)._tab, seen)
    for g in (root.Subgraphs(i) for i in range(root.SubgraphsLength())):
        _walk_table(m, g._tab, seen)
        for slot in (4, 6, 8, 10):  # tensors, inputs, outputs, operators
            _vector_length(m, g._tab, slot)
        for i in range(g.TensorsLength()):
            t = g.Tensors(i)
            _walk_table(m, t._tab, seen)
            for slot in (4, 18):  # shape, shape_signature
                _vector_length(m, t._tab, slot)
            q = t.Quantization()
            if q is not None:
                _walk_table(m, q._tab, seen)
                for slot in (4, 6, 8, 10):  # min, max, scale, zero_point
                    _vector_length(m, q._tab, slot)
        for i in range(g.OperatorsLength()):
            op = g.Operators(i)
            _walk_table(m, op._tab, seen)
            for slot in (6, 8, 14, 16, 18):  # inputs, outputs, custom options, mutating, intermediates
                _vector_length(m, op._tab, slot)
            options = op.BuiltinOptions()
            if options is not None:
                _walk_table(m, options, seen)
    for kind in m.positions:
        m.positions[kind] = sorted(set(m.positions[kind]))
    return m


# ---------------------------------------------------------------- mutations

def _word_values(size: int, pos: int) -> tuple[int, ...]:
    """Interesting uint32 values to write at ``pos``: limits, the file size, just past the end."""
    return (0, 1, 2, 4, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFFFFFC, size, size - pos, size - pos - 4,
            size - pos + 4, size * 2, 0x10000, 0x3FFFFFFF)


def _put_u32(data: bytearray, pos: int, value: int) -> None:
    if 0 <= pos <= len(data) - 4:
        data[pos:pos + 4] = (value & 0xFFFFFFFF).to_bytes(4, "little")


def _put_u16(data: bytearray, pos: int, value: int) -> None:
    if 0 <= pos <= len(data) - 2:
        data[pos:pos + 2] = (value & 0xFFFF).to_bytes(2, "little")


def _structural(m: StructureMap, rng, kinds=None) -> tuple[str, int] | None:
    kinds = [k for k in (kinds or m.positions) if m.positions.get(k)]
    if not kinds:
        return None
    kind = kinds[int(rng.integers(len(kinds)))]
    spots = m.positions[kind]
    return kind, spots[int(rng.integers(len(spots)))]


def mutate_bytes(content: bytes, m: StructureMap, rng, count: int | None = None) -> tuple[list[str], bytes]:
    """Apply 1-4 byte-level mutations; returns (what was done, the new bytes)."""
    data = bytearray(content)
    done = []
    if count is None:
        count = int(rng.choice([1, 1, 1, 2, 3, 4]))
    for _ in range(count):
        size = len(data)
        if size < 8:
            break
        choice = int(rng.integers(100))
        spot = _structural(m, rng)
        if choice < 10:  # truncate, often right after a structural position
            cut = spot[1] + int(rng.integers(0, 5)) if spot and rng.integers(2) else int(rng.integers(size))
            data = data[:cut]
            done.append(f"truncate to {cut}")
        elif choice < 30 and spot:  # a word at a structural position gets an interesting value
            kind, pos = spot
            if kind == VTABLE_ENTRY:
                value = int(rng.choice([0, 2, 4, 0xFFFF, 0x8000, int(rng.integers(0, 64))]))
                _put_u16(data, pos, value)
            else:
                value = int(rng.choice(_word_values(size, pos)))
                _put_u32(data, pos, value)
            done.append(f"{kind} at {pos} := {value:#x}")
        elif choice < 45:  # huge or off-by-one vector length
            spot = _structural(m, rng, [VECTOR_LENGTH])
            if spot is None:
                continue
            pos = spot[1]
            old = int.from_bytes(data[pos:pos + 4], "little") if pos + 4 <= size else 0
            value = int(rng.choice([old + 1, old * 2 + 1, 0, 0x40000000, 0x7FFFFFFF, 0xFFFFFFFF, size // 4,
                                    max(old - 1, 0)]))
            _put_u32(data, pos, value)
            done.append(f"vector length at {pos}: {old} -> {value}")
        elif choice < 60 and spot:  # redirect an offset field a little (into the wrong object)
            pos = spot[1]
            if pos + 4 <= size:
                old = int.from_bytes(data[pos:pos + 4], "little")
                delta = int(rng.choice([-8, -4, -2, -1, 1, 2, 4, 8, 16, -16, 256]))
                _put_u32(data, pos, old + delta)
                done.append(f"word at {pos}: {old} {delta:+d}")
        elif choice < 75 and spot:  # flip bits at a structural position
            pos = spot[1] + int(rng.integers(0, 4))
            if pos < size:
                bit = int(rng.integers(8))
                data[pos] ^= 1 << bit
                done.append(f"flip bit {bit} at {pos}")
        elif choice < 85:  # flip a bit anywhere
            pos = int(rng.integers(size))
            bit = int(rng.integers(8))
            data[pos] ^= 1 << bit
            done.append(f"flip bit {bit} at {pos} (anywhere)")
        elif choice < 92:  # insert or delete bytes (everything after shifts)
            pos = int(rng.integers(size))
            n = int(rng.choice([1, 2, 4, 8, 64]))
            if rng.integers(2):
                data[pos:pos] = bytes(rng.integers(0, 256, n, dtype=np.uint8))
                done.append(f"insert {n} bytes at {pos}")
            else:
                del data[pos:pos + n]
                done.append(f"delete {n} bytes at {pos}")
        else:  # copy a chunk over another place
            n = int(rng.choice([4, 8, 16, 64]))
            src, dst = int(rng.integers(max(size - n, 1))), int(rng.integers(max(size - n, 1)))
            data[dst:dst + n] = data[src:src + n]
            done.append(f"copy {n} bytes {src} -> {dst}")
    return done, bytes(data)
