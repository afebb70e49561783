"""Inspection: where, and why, a quantized model loses accuracy.

``litelens.inspect(model, float_model=None, text=... | inputs=...)`` runs the quantized model with
litelens's bit-exact kernels and returns an :class:`InspectionResult`: for every op, its output's
codes (utilisation, saturation) and three error figures - local (this op alone, against its exact
real-valued result on its own dequantized inputs), propagated (against a float64 shadow run of the
whole graph) and against the float twin (the float model's tensor of the same name).

The package is callable (``litelens.inspect(...)``) and its modules stay importable
(``litelens.inspect.metrics``, ``.shadow``, ``.explain``, ``.exporters``, ``.report_html``).
"""
import sys
import types

from litelens.inspect.analysis import DEFAULT_TEXT, inspect
from litelens.inspect.explain import Explanation
from litelens.inspect.metrics import ErrorStats
from litelens.inspect.result import InspectionResult, OpReport, TensorReport
from litelens.inspect.shadow import NoShadow, has_shadow, run_shadow

__all__ = ["inspect", "InspectionResult", "OpReport", "TensorReport", "ErrorStats", "Explanation", "NoShadow",
           "has_shadow", "run_shadow", "DEFAULT_TEXT"]


class _CallableModule(types.ModuleType):
    """Lets ``litelens.inspect(...)`` call :func:`inspect` while ``litelens.inspect`` stays a package."""

    def __call__(self, *args, **kwargs) -> InspectionResult:
        return inspect(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
