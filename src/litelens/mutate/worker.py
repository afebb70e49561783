"""A worker process: runs cases one by one and reports each outcome as one JSON line.

    python -m litelens.mutate.worker [--memory-mb 3072] [--max-tensor-bytes N] [--official] [--no-warm-up]

It reads specs (JSON lines) on stdin and writes results on its original stdout; anything else the run
prints goes to stderr. Before the first case it limits its own address space (``RLIMIT_AS``) and
disables core dumps, so a runaway allocation is a ``MemoryError`` here and a crash is only a signal.

Outcome of a case (``status``):

* ``ok`` — loaded, allocated, invoked;
* ``model_error`` / ``input_error`` — ``litelens.ModelError`` / ``InputError`` (the required outcome for
  a bad model or input), with the ``stage`` it was raised at;
* ``internal`` — a ModelError that wraps an unexpected exception from an op's Prepare or Eval (the
  interpreter names the op, but the op missed a check: counted, and to be fixed);
* ``exception`` / ``memory_error`` — anything else leaking out (a bug).

With ``--official`` the official interpreter (ai_edge_litert) runs the case instead; any Python
exception it raises is ``rejected``.
"""
from __future__ import annotations

import json
import os
import resource
import sys
import time
import traceback

import numpy as np


def fill_inputs(interp, rng) -> None:
    """Inputs spanning each dtype's range (index-like int32/int64 inputs mostly small)."""
    for d in interp.get_input_details():
        shape, dtype = tuple(int(s) for s in d["shape"]), np.dtype(d["dtype"])
        if dtype.kind in "iu":
            info = np.iinfo(dtype)
            if dtype.itemsize >= 4:
                lo, hi = (-2, 8) if rng.integers(4) == 0 else (0, 4)
                lo, hi = max(lo, int(info.min)), min(hi, int(info.max))
            else:
                lo, hi = int(info.min), int(info.max)
            value = rng.integers(lo, hi + 1, size=shape, dtype=dtype)  # no int64 temporary: inputs can be big
        elif dtype.kind == "b":
            value = rng.integers(0, 2, size=shape, dtype=np.uint8).astype(bool)
        else:
            value = rng.standard_normal(shape, dtype=np.float32)
            value *= 3
            value = value.astype(dtype, copy=False)
            if value.size and rng.integers(4) == 0:
                value.reshape(-1)[int(rng.integers(value.size))] = rng.choice([np.nan, np.inf, -np.inf, 0.0])
        interp.set_tensor(d["index"], value)


def resize_inputs(interp, rng) -> None:
    """Give each input a new shape of the same rank (dimensions near the original, or 0, 1)."""
    for d in interp.get_input_details():
        shape = [int(rng.choice([0, 1, 2, max(int(n) - 1, 0), int(n), int(n) + 1, 2 * int(n) + 3]))
                 for n in d["shape"]]
        interp.resize_tensor_input(d["index"], shape)


def _internal(err: BaseException) -> bool:
    """A ModelError raised only to wrap an unexpected exception (an op's missing check)."""
    from litelens.errors import ModelError

    cause = err.__cause__
    return cause is not None and not isinstance(cause, ModelError)


def run_litelens(data: bytes, rng, max_tensor_bytes: int) -> tuple[str, str, str]:
    import litelens

    stage = "load"
    try:
        interp = litelens.Interpreter(model_content=data, max_tensor_bytes=max_tensor_bytes)
        stage = "allocate"
        interp.allocate_tensors()
        stage = "invoke"
        fill_inputs(interp, rng)
        interp.invoke()
        for d in interp.get_output_details():
            interp.get_tensor(d["index"])
        if rng.integers(2) and interp.get_input_details():
            stage = "resize"  # the same model at other input shapes: Prepare sees new shapes
            resize_inputs(interp, rng)
            interp.allocate_tensors()
            fill_inputs(interp, rng)
            interp.invoke()
        signatures = [s for s in interp.model.signatures if s.subgraph_index == 0]
        if signatures:
            stage = "signature"
            runner = interp.get_signature_runner(signatures[0].key)
            values = {}
            for name, d in runner.get_input_details().items():
                values[name] = np.zeros(d["shape"], d["dtype"])
            runner(**values)
        return "ok", stage, ""
    except litelens.InputError as err:
        return "input_error", stage, str(err)
    except litelens.ModelError as err:
        if _internal(err):
            cause = err.__cause__
            where = traceback.extract_tb(cause.__traceback__)[-1] if cause.__traceback__ else None
            at = f" [{os.path.basename(where.filename)}:{where.lineno}]" if where else ""
            return "internal", stage, f"{err}{at}"
        return "model_error", stage, str(err)
    except MemoryError as err:
        return "memory_error", stage, str(err)
    except Exception as err:  # noqa: BLE001 - the point is to catch what leaks
        return "exception", stage, "".join(traceback.format_exception_only(type(err), err)).strip() + \
            " | " + traceback.format_exc(limit=-3).replace("\n", " ")[-600:]


def run_official(data: bytes, rng) -> tuple[str, str, str]:
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    stage = "load"
    try:
        interp = Interpreter(model_content=data, experimental_op_resolver_type=OpResolverType.BUILTIN_REF,
                             experimental_preserve_all_tensors=True)
        stage = "allocate"
        interp.allocate_tensors()
        stage = "invoke"
        fill_inputs(interp, rng)
        interp.invoke()
        return "ok", stage, ""
    except Exception as err:  # noqa: BLE001
        return "rejected", stage, f"{type(err).__name__}: {str(err)[:300]}"


def warm_up(max_tensor_bytes: int) -> None:
    """Run every seed once, unmutated, so Numba compiles (or loads from its cache) the kernels before
    the first timed case."""
    from litelens.mutate import seeds

    rng = np.random.default_rng(0)
    for name in seeds.structured_seeds():
        run_litelens(seeds.seed_bytes(name), rng, max_tensor_bytes)


def self_test(what: str) -> tuple[str, str, str]:
    """Misbehave as a broken case would, to show the runner counts it: crash, hang, memory, exception."""
    import signal

    if what == "segfault":
        os.kill(os.getpid(), signal.SIGSEGV)
    if what == "abort":
        os.abort()
    if what == "hang":
        while True:
            time.sleep(1)
    try:
        if what == "memory":
            np.ones(1 << 40, np.uint8)  # 1 TiB: over the address-space limit
        if what == "exception":
            raise KeyError("leaked")
    except MemoryError as err:
        return "memory_error", "selftest", str(err)
    except Exception as err:  # noqa: BLE001
        return "exception", "selftest", repr(err)
    return "ok", "selftest", ""


def forget_scratch() -> None:
    """Drop the int8 GEMM's per-thread work buffers between cases.

    ``int_gemm.scratch`` keeps up to 64 MB of buffers per thread; under the worker's small address-space
    limit even that could turn a later case's allocation into a MemoryError that is not its own. (Each
    model's own need is counted against max_tensor_bytes.)
    """
    from litelens.kernels import int_gemm

    int_gemm.release_scratch()


def limit_memory(megabytes: int) -> None:
    limit = megabytes << 20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="litelens.mutate.worker")
    parser.add_argument("--memory-mb", type=int, default=3072)
    parser.add_argument("--max-tensor-bytes", type=int, default=256 << 20)
    parser.add_argument("--official", action="store_true")
    parser.add_argument("--no-warm-up", action="store_true", help="skip running every seed before the first case")
    args = parser.parse_args(argv)

    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # whatever else prints goes to stderr
    sys.stdout = sys.stderr
    from litelens.mutate.cases import case_rng, make_case

    if args.official:
        import ai_edge_litert.interpreter  # noqa: F401 - import before the memory limit
    elif not args.no_warm_up:
        warm_up(args.max_tensor_bytes)
    else:
        import litelens  # noqa: F401
    limit_memory(args.memory_mb)
    proto.write(json.dumps({"ready": True, "pid": os.getpid()}) + "\n")
    for line in sys.stdin:
        spec = json.loads(line)
        start = time.perf_counter()
        if spec["kind"] == "selftest":  # the runner's own test: misbehave on purpose
            status, stage, message = self_test(spec["seed"])
            proto.write(json.dumps({"id": spec["id"], "status": status, "stage": stage, "message": message,
                                    "seconds": 0.0}) + "\n")
            continue
        try:
            what, data = make_case(spec)
        except Exception as err:  # noqa: BLE001 - a mutator bug is reported, not a crash
            proto.write(json.dumps({"id": spec["id"], "status": "mutator_error", "stage": "mutate",
                                    "message": f"{type(err).__name__}: {err}", "seconds": 0.0}) + "\n")
            continue
        rng = case_rng({**spec, "n": spec["n"] + 1})
        forget_scratch()
        if args.official:
            status, stage, message = run_official(data, rng)
        else:
            status, stage, message = run_litelens(data, rng, args.max_tensor_bytes)
        proto.write(json.dumps({"id": spec["id"], "status": status, "stage": stage, "message": message[:2000],
                                "what": what, "size": len(data),
                                "seconds": round(time.perf_counter() - start, 4)}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
