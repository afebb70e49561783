"""litelens: a from-scratch interpreter for quantized TFLite (LiteRT) transformer models.

It reads the ``.tflite`` FlatBuffer itself and runs int8 kernels bit-exact with the official
interpreter's, so every intermediate tensor and requantization step can be inspected.
"""
from litelens.errors import InputError, ModelError
from litelens.interpreter import Interpreter
from litelens.ops import supported_ops
from litelens import inspect  # callable: litelens.inspect(model, ...) (see litelens/inspect/)

__version__ = "0.1.0"
__all__ = ["Interpreter", "ModelError", "InputError", "supported_ops", "__version__"]
