"""Builtin op name -> Op class. Op modules register themselves; ``litelens.ops`` imports them all."""
from __future__ import annotations

from litelens.errors import ModelError

REGISTRY: dict[str, type] = {}


def register(opcode: str):
    def wrap(cls):
        if opcode in REGISTRY:
            raise RuntimeError(f"op {opcode} registered twice")
        cls.opcode = opcode
        REGISTRY[opcode] = cls
        return cls

    return wrap


def supported_ops() -> list[str]:
    return sorted(REGISTRY)


def lookup(opcode: str, where: str = ""):
    """The Op class for ``opcode``; an unsupported op is a ModelError listing every supported op."""
    cls = REGISTRY.get(opcode)
    if cls is None:
        prefix = f"{where}: " if where else ""
        raise ModelError(
            f"{prefix}unsupported op {opcode}. litelens supports: {', '.join(supported_ops())}"
        )
    return cls
