"""Which official kernel path each op reproduces.

A *flavor* names one of the official interpreter's three paths, as its Python API selects them
(``experimental_op_resolver_type``):

* ``reference`` — ``BUILTIN_REF``: the ``reference_ops`` / ``reference_integer_ops`` kernels;
* ``optimized`` — ``BUILTIN_WITHOUT_DEFAULT_DELEGATES``: the builtin optimized kernels (ruy GEMM,
  ``optimized_ops``), no delegate;
* ``xnnpack`` — ``AUTO`` (the default): the XNNPACK delegate takes the ops it accepts (each op's
  ``xnnpack_rejects``, after the delegate's own checks in ``xnnpack_delegate.cc``), the optimized
  kernels run the rest.

Some optimized kernels compute differently on ARM64 (ruy's single rounding, NEON tables); the
``-arm64`` suffix (``optimized-arm64``, ``xnnpack-arm64``) selects those. Without it the x86-64 rules
apply.

A flavor can be one name for the whole model, or a table of overrides:
``{"default": "reference", "SOFTMAX": "optimized", 21: "xnnpack"}`` — keys are op names (every op
of that type) or op indices (that one op, which wins over its type). Each op then gets a *kernel
path* (``Node.flavor``: ``reference``, ``optimized`` or ``xnnpack``) and an architecture
(``Node.arch``: ``x86_64`` or ``arm64``).
"""
from __future__ import annotations

from dataclasses import dataclass

PATHS = ("reference", "optimized", "xnnpack")
ARCHES = ("x86_64", "arm64")
FLAVORS = ("reference", "optimized", "xnnpack", "optimized-arm64", "xnnpack-arm64")
RESOLVER_OF_PATH = {"reference": "BUILTIN_REF", "optimized": "BUILTIN_WITHOUT_DEFAULT_DELEGATES",
                    "xnnpack": "AUTO"}


class FlavorError(ValueError):
    """A flavor name or override table litelens does not know."""


@dataclass(frozen=True)
class Flavor:
    """A parsed flavor name: the path asked for and the architecture whose rules apply."""

    path: str
    arch: str = "x86_64"

    @property
    def name(self) -> str:
        return self.path if self.arch == "x86_64" or self.path == "reference" else f"{self.path}-arm64"


def parse_flavor_name(name) -> Flavor:
    if not isinstance(name, str) or name not in FLAVORS:
        raise FlavorError(f"flavor {name!r} is not available; choose from {', '.join(FLAVORS)}")
    path, _, arch = name.partition("-")
    return Flavor(path, "arm64" if arch else "x86_64")


@dataclass(frozen=True)
class FlavorSpec:
    """A whole model's choice: a default and overrides by op name or op index."""

    default: Flavor
    by_opcode: dict
    by_index: dict

    def for_op(self, index: int, opcode: str) -> Flavor:
        if index in self.by_index:
            return self.by_index[index]
        return self.by_opcode.get(opcode, self.default)

    @property
    def name(self) -> str:
        """``optimized`` for a plain flavor; a compact description when there are overrides."""
        if not self.by_opcode and not self.by_index:
            return self.default.name
        parts = [f"default={self.default.name}"]
        parts += [f"{op}={f.name}" for op, f in sorted(self.by_opcode.items())]
        parts += [f"op{i}={f.name}" for i, f in sorted(self.by_index.items())]
        return ",".join(parts)


def parse_flavor(flavor) -> FlavorSpec:
    """``"optimized"``, ``{"default": ..., "SOFTMAX": ..., 21: ...}`` or a ``FlavorSpec``.

    Also accepts the command-line form ``"reference,SOFTMAX=optimized,21=xnnpack"``.
    """
    if isinstance(flavor, FlavorSpec):
        return flavor
    if isinstance(flavor, str) and ("=" in flavor or "," in flavor):
        table = {}
        for k, part in enumerate(p.strip() for p in flavor.split(",")):
            if "=" not in part:
                if k:
                    raise FlavorError(f"flavor {flavor!r}: only the first item may be a bare default, got {part!r}")
                table["default"] = part
                continue
            key, _, value = part.partition("=")
            key = key.strip()
            if not key or not value.strip():
                raise FlavorError(f"flavor {flavor!r}: {part!r} is not NAME=FLAVOR")
            table[int(key) if key.isdigit() else key] = value.strip()
        flavor = table
    if isinstance(flavor, str):
        return FlavorSpec(parse_flavor_name(flavor), {}, {})
    if not isinstance(flavor, dict):
        raise FlavorError(f"flavor must be a name or a dict, got {type(flavor).__name__}")
    default = parse_flavor_name(flavor.get("default", "reference"))
    by_opcode, by_index = {}, {}
    for key, value in flavor.items():
        if key == "default":
            continue
        parsed = parse_flavor_name(value)
        if isinstance(key, bool) or not isinstance(key, (int, str)):
            raise FlavorError(f"flavor override key {key!r}: use an op name (e.g. 'SOFTMAX') or an op index")
        if isinstance(key, int):
            if key < 0:
                raise FlavorError(f"flavor override key {key}: op indices are not negative")
            by_index[key] = parsed
        else:
            if not key.isupper():
                raise FlavorError(f"flavor override key {key!r}: op names are upper case, e.g. 'SOFTMAX'")
            by_opcode[key] = parsed
    return FlavorSpec(default, by_opcode, by_index)


def resolve_path(flavor: Flavor, op, node) -> tuple[str, str | None]:
    """The kernel path an op runs under ``flavor`` and, for ``xnnpack``, why the delegate refused it.

    Under ``xnnpack`` an op the delegate rejects runs the optimized kernel, as in the official
    interpreter.
    """
    if flavor.path != "xnnpack":
        return flavor.path, None
    reason = op.xnnpack_rejects(node)
    return ("optimized", reason) if reason else ("xnnpack", None)
