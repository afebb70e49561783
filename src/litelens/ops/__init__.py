"""Every op litelens runs. Importing this package registers them all (see ``registry``)."""
import importlib

from litelens.ops.registry import REGISTRY, lookup, register, supported_ops

# One module per op family; a module that does not exist yet is simply not listed.
_OP_MODULES: list[str] = [
    "reshape",
    "transpose",
    "gather",
    "concatenation",
    "slicing",
    "pad",
    "cast",
    "fully_connected",
    "batch_matmul",
    "activations",
    "softmax",
    "quantize",
    "reduce",
    "add_sub", "mul", "div", "squared_difference", "rsqrt",
    "minmax", "l2norm",
]

for _name in _OP_MODULES:
    importlib.import_module(f"litelens.ops.{_name}")

__all__ = ["REGISTRY", "lookup", "register", "supported_ops"]
