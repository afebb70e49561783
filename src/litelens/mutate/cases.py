"""Cases: small JSON-able specs that rebuild the same mutated model in any process.

A spec is ``{"id": 17, "kind": ..., "seed": <seed name or path>, "n": 17}``:

* ``structured`` / ``raw`` — random mutations whose generator is seeded from (kind, seed, n);
* ``flip`` — the seed's bytes with bit ``n`` flipped; ``truncate`` — its first ``n`` bytes (exhaustive
  sweeps of a small model);
* ``file`` — a ``.tflite`` on disk (regression cases).

The parent can regenerate the bytes of a case that crashed a worker without having sent them.
"""
from __future__ import annotations

import functools
import zlib
from pathlib import Path

import numpy as np

from litelens.mutate import raw, seeds, structured

KINDS = ("structured", "raw", "file", "flip", "truncate")


def case_rng(spec: dict) -> np.random.Generator:
    kind = KINDS.index(spec["kind"])
    return np.random.default_rng([int(spec["n"]), zlib.crc32(spec["seed"].encode()), kind])


@functools.lru_cache(maxsize=16)
def _structure(seed: str) -> raw.StructureMap:
    return raw.structure_map(seeds.seed_bytes(seed))


def make_case(spec: dict) -> tuple[list[str], bytes]:
    """(what the mutation did, the model bytes) for a spec."""
    kind, seed = spec["kind"], spec["seed"]
    if kind == "file":
        return [f"file {seed}"], Path(seed).read_bytes()
    if kind == "flip":
        data = bytearray(seeds.seed_bytes(seed))
        n = int(spec["n"])
        data[n // 8] ^= 1 << (n % 8)
        return [f"flip bit {n % 8} of byte {n // 8}"], bytes(data)
    if kind == "truncate":
        return [f"truncate to {spec['n']} bytes"], seeds.seed_bytes(seed)[:int(spec["n"])]
    rng = case_rng(spec)
    if kind == "structured":
        return structured.mutate_model(seeds.structured_seed(seed), rng)
    if kind == "raw":
        return raw.mutate_bytes(seeds.seed_bytes(seed), _structure(seed), rng)
    raise ValueError(f"unknown case kind {kind!r}")


def campaign(structured_cases: int = 0, raw_cases: int = 0, start: int = 0) -> list[dict]:
    """Specs for a campaign: seeds taken in turn, so every seed is used before any is used twice.

    ``start`` shifts the case numbers (another campaign of the same size explores other mutations).
    """
    specs = []
    names = list(seeds.structured_seeds())
    for i in range(structured_cases):
        n = start + i
        specs.append({"id": len(specs), "kind": "structured", "seed": names[n % len(names)], "n": n})
    byte_names = list(seeds.byte_seeds())
    for i in range(raw_cases):
        n = start + i
        specs.append({"id": len(specs), "kind": "raw", "seed": byte_names[n % len(byte_names)], "n": n})
    return specs


def sweep(seed: str, flips: bool = True, truncations: bool = True, bits=range(8)) -> list[dict]:
    """Every single-bit flip (of the given bit positions) and every truncation of one seed."""
    size = len(seeds.seed_bytes(seed))
    specs = []
    if truncations:
        specs += [{"kind": "truncate", "seed": seed, "n": n} for n in range(size)]
    if flips:
        specs += [{"kind": "flip", "seed": seed, "n": 8 * byte + bit} for byte in range(size) for bit in bits]
    return [{**s, "id": i} for i, s in enumerate(specs)]


def file_cases(paths) -> list[dict]:
    return [{"id": i, "kind": "file", "seed": str(p), "n": 0} for i, p in enumerate(paths)]
