"""``litelens.mutate``: hostile-model generators and a crash-proof runner for them.

* :mod:`litelens.mutate.structured` — change one meaningful thing in a :mod:`litelens.build` model
  (shapes, dtypes, quantization, constants, options, graph edges, opcodes) and rebuild it;
* :mod:`litelens.mutate.raw` — byte mutations of real ``.tflite`` files aimed at their structure
  (vtables, offsets, vector lengths), plus truncation and bit flips;
* :mod:`litelens.mutate.seeds` — the valid models both start from;
* :mod:`litelens.mutate.runner` — runs cases in worker subprocesses under a time and memory limit and
  counts every outcome (ok, ModelError, crash, hang, leaked exception).

``python -m litelens.mutate --structured 2000 --raw 2000`` runs a campaign and prints the counts.
"""
from litelens.mutate.cases import campaign, file_cases, make_case
from litelens.mutate.runner import Report, Result, run_cases

__all__ = ["campaign", "file_cases", "make_case", "run_cases", "Report", "Result"]
