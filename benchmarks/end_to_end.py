"""litelens against the official interpreter on the full 24-layer MobileBERT, in one process, interleaved.

    .venv/bin/python benchmarks/end_to_end.py                      # int8, float32, dynamic
    .venv/bin/python benchmarks/end_to_end.py --flavors int8 --rounds 15 --markdown

For each flavor: build the model with the factory (cached in .cache/models), load it in every engine
- litelens (reference kernels, one thread; once plain, once with preserve_all_tensors=True) and the
official interpreter (ai-edge-litert) with the xnnpack (AUTO), optimized
(BUILTIN_WITHOUT_DEFAULT_DELEGATES) and reference (BUILTIN_REF) resolvers, one thread each - check
that litelens's output equals the reference's bit for bit, warm up, then time ``invoke`` round by
round, every engine once per round in a rotating order, so machine noise hits all engines alike.

Columns: median wall time of one invoke and its spread (interquartile range), the median CPU time of
the invoking thread (on a busy machine the steadier figure), litelens's time divided by the
engine's (from the same rounds: < 1 means litelens is faster), tweets per second (one 128-token
text per invoke, 1 / median wall time), peak memory: the resident set added by loading,
allocating and running the model once, measured in a fresh process per engine (``--no-memory``
skips it) - it includes the model bytes read into memory and, for litelens, loading its compiled
kernels (Numba); in brackets the same with each engine's code loaded before the baseline (a run of
the small shipped model first), i.e. what the model itself costs; the tokenizer that makes the
inputs is loaded before either baseline - and litelens's activation memory (the shared arena plus its
own input/output buffers; every tensor's buffer with preserve_all_tensors), and the issue's budget
for litelens, 2 × the model file + those activations. MB are 10**6 bytes throughout.
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))  # factory_cache

SEQ = 128
ENGINES = ("litelens", "litelens+preserve", "xnnpack", "optimized", "reference")


def model_bytes(flavor: str, path: str | None, directory: str | None = None) -> bytes:
    if path:
        return Path(path).read_bytes()
    if directory:
        return (Path(directory) / f"mobilebert-{flavor}.tflite").read_bytes()
    from factory_cache import factory_model

    return factory_model("mobilebert", flavor)


@functools.lru_cache(maxsize=4)
def text_inputs(seq: int = SEQ) -> dict[str, np.ndarray]:
    """A real text (two corpus tweets), tokenized to [1, seq] int32 ids, mask and segments."""
    from litelens.tokenizer import corpus_texts, encode

    corpus = corpus_texts()
    return encode(corpus[5] + " " + corpus[6], seq=seq)


def engine_threads(name: str) -> tuple[str, int]:
    """"xnnpack@2" -> ("xnnpack", 2); a name without "@N" runs one thread."""
    base, _, threads = name.partition("@")
    return base, int(threads) if threads else 1


def make_engine(name: str, content: bytes):
    """An allocated interpreter with inputs set, and its invoke."""
    base, threads = engine_threads(name)
    if base.startswith("litelens"):
        import litelens

        interp = litelens.Interpreter(model_content=content, num_threads=threads,
                                      preserve_all_tensors=base.endswith("preserve"))
        interp.allocate_tensors()
    else:
        from litelens.official import official_interpreter

        interp = official_interpreter(content, base, num_threads=threads, preserve_all_tensors=False)
    by_name = {d["name"]: d for d in interp.get_input_details()}
    for key, value in text_inputs().items():
        detail = by_name[key]
        interp.set_tensor(detail["index"], np.asarray(value, dtype=detail["dtype"]))
    return interp


def output_of(interp) -> np.ndarray:
    return interp.get_tensor(interp.get_output_details()[0]["index"])


@dataclass
class Timing:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)


def time_interleaved(engines: dict, rounds: int, warmup: int = 2) -> dict[str, Timing]:
    for interp in engines.values():
        for _ in range(warmup):
            interp.invoke()
    timings = {name: Timing() for name in engines}
    names = list(engines)
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]  # rotate who goes first
        for name in order:
            interp = engines[name]
            w0, c0 = time.perf_counter(), time.thread_time()
            interp.invoke()
            c1, w1 = time.thread_time(), time.perf_counter()
            timings[name].wall.append(w1 - w0)
            timings[name].cpu.append(c1 - c0)
    return timings


def status_kb(key: str) -> int:
    """A line of /proc/self/status in kB (VmRSS: resident now; VmHWM: peak of this process image -
    unlike ru_maxrss, not inherited from the parent across fork and exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def warm_up(engine: str, flavor: str) -> None:
    """Load the engine's code: run it once on the small model shipped in golden/models (seq 16)."""
    path = REPO / "golden" / "models" / f"mobilebert-tiny-{flavor}.tflite"
    if not path.exists():
        return
    content = path.read_bytes()
    engine, _ = engine_threads(engine)
    if engine.startswith("litelens"):
        import litelens

        interp = litelens.Interpreter(model_content=content)
        interp.allocate_tensors()
    else:
        from litelens.official import official_interpreter

        interp = official_interpreter(content, engine, num_threads=1, preserve_all_tensors=False)
    for d in interp.get_input_details():
        interp.set_tensor(d["index"], np.ones(d["shape"], d["dtype"]))
    interp.invoke()


def reset_peak() -> bool:
    """Start VmHWM afresh (Linux: writing 5 to /proc/self/clear_refs)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def memory_probe(engine: str, flavor: str, path: str, warm: bool = False) -> dict:
    """In a fresh process: resident memory after imports, and the peak after load + allocate + invoke.
    ``warm``: first run the engine on the small shipped model so that its code (for litelens: the
    Numba kernels, loaded from the on-disk cache at first use) is resident before the baseline."""
    code = (
        "import sys, json; sys.path.insert(0, {bench!r})\n"
        "import end_to_end as e, numpy, litelens, litelens.official\n"
        "from ai_edge_litert.interpreter import Interpreter\n"
        "e.text_inputs()  # the tokenizer is the benchmark's, not the engine's: load it before the baseline\n"
        "if {warm!r}:\n"
        "    e.warm_up({engine!r}, {flavor!r})\n"
        "import gc; gc.collect()\n"
        "assert e.reset_peak(), 'cannot reset VmHWM'\n"
        "base = e.status_kb('VmRSS')\n"
        "content = open({path!r}, 'rb').read()\n"
        "interp = e.make_engine({engine!r}, content); interp.invoke()\n"
        "peak = e.status_kb('VmHWM')\n"
        "shared = getattr(interp, '_shared', set())\n"
        "acts = getattr(interp, 'arena_bytes', 0) + sum(a.nbytes for i, a in getattr(interp, '_arrays', {{}}).items()\n"
        "                                               if i not in shared)\n"
        "print(json.dumps(dict(base_kb=base, peak_kb=peak, activations=acts)))\n"
    ).format(bench=str(Path(__file__).parent), path=path, engine=engine, flavor=flavor, warm=warm)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from litelens.kernels import int_gemm

    isa = int_gemm.ISA_NAMES.get(int_gemm.ISA, "none (float BLAS)")
    return (f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.machine()}, Python "
            f"{platform.python_version()}; litelens integer kernel: {isa}; one thread per engine unless named ENGINE@N")


def quartiles(values: list[float]) -> tuple[float, float, float]:
    q1, med, q3 = np.percentile(values, [25, 50, 75])
    return float(q1), float(med), float(q3)


def run_flavor(flavor: str, args) -> list[dict]:
    content = model_bytes(flavor, args.model, args.model_dir)
    path = REPO / ".cache" / "bench" / f"mobilebert-{flavor}.tflite"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    engines = {name: make_engine(name, content) for name in args.engines}
    for interp in engines.values():
        interp.invoke()
    exact = None
    if "litelens" in engines and "reference" in engines:
        exact = bool(np.array_equal(output_of(engines["litelens"]), output_of(engines["reference"])))
    timings = time_interleaved(engines, args.rounds)
    base = statistics.median(timings["litelens"].wall) if "litelens" in timings else None
    base_cpu = statistics.median(timings["litelens"].cpu) if "litelens" in timings else None
    rows = []
    for name in engines:
        t = timings[name]
        q1, med, q3 = quartiles(t.wall)
        cpu = statistics.median(t.cpu)
        row = dict(model=f"MobileBERT-24 seq{SEQ}", flavor=flavor, engine=name, median_ms=1e3 * med,
                   iqr_ms=1e3 * (q3 - q1), cpu_ms=1e3 * cpu,
                   ratio=None if base is None else base / med,
                   ratio_cpu=None if base_cpu is None else base_cpu / cpu,
                   tweets_per_s=1.0 / med, exact=exact if name.startswith("litelens") else None,
                   model_mb=len(content) / 1e6)
        if not args.no_memory:
            probe = memory_probe(name, flavor, str(path))
            row["peak_mb"] = (probe["peak_kb"] - probe["base_kb"]) * 1024 / 1e6
            warm = memory_probe(name, flavor, str(path), warm=True)
            row["peak_warm_mb"] = (warm["peak_kb"] - warm["base_kb"]) * 1024 / 1e6
            if probe["activations"]:
                row["activations_mb"] = probe["activations"] / 1e6
                row["budget_mb"] = 2 * row["model_mb"] + row["activations_mb"]
        rows.append(row)
    return rows


def render(rows: list[dict], markdown: bool) -> str:
    head = ["model", "flavor", "engine", "median ms (IQR)", "CPU ms", "litelens ÷ engine (wall / CPU)",
            "tweets/s", "peak MB (code loaded first)", "activations MB", "budget MB (2 × model + activations)"]
    lines = []
    for r in rows:
        ratio = "—" if r["ratio"] is None else f"{r['ratio']:.2f} / {r['ratio_cpu']:.2f}"
        peak = f"{r['peak_mb']:.0f} ({r['peak_warm_mb']:.0f})" if "peak_mb" in r else "—"
        acts = f"{r['activations_mb']:.1f}" if "activations_mb" in r else "—"
        budget = f"{r['budget_mb']:.1f}" if "budget_mb" in r else "—"
        engine = r["engine"] + (" (bit-exact)" if r.get("exact") else " (DIFFERS)" if r.get("exact") is False else "")
        lines.append([r["model"], r["flavor"], engine, f"{r['median_ms']:.1f} ({r['iqr_ms']:.1f})",
                      f"{r['cpu_ms']:.1f}", ratio, f"{r['tweets_per_s']:.1f}", peak, acts, budget])
    if markdown:
        out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        out += ["| " + " | ".join(line) + " |" for line in lines]
        return "\n".join(out)
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(head)]
    fmt = "  ".join("{:<%d}" % w for w in widths)
    return "\n".join([fmt.format(*head)] + [fmt.format(*line) for line in lines])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flavors", default="int8,float32,dynamic")
    parser.add_argument("--engines", default=",".join(ENGINES),
                        help="comma-separated; NAME@N runs N threads, e.g. litelens@2,xnnpack@2 (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--model", help="a .tflite to use instead of the factory model (one flavor)")
    parser.add_argument("--model-dir", help="a folder with mobilebert-<flavor>.tflite files to use instead")
    parser.add_argument("--no-memory", action="store_true", help="skip the per-engine memory processes")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--json", help="also write the rows here")
    args = parser.parse_args(argv)
    args.engines = [e for e in args.engines.split(",") if e]
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    rows = []
    for flavor in args.flavors.split(","):
        rows += run_flavor(flavor, args)
        print(render(rows, args.markdown), flush=True) if flavor == args.flavors.split(",")[-1] else None
    print()
    print(f"Machine: {machine()}. Load average while running: {os.getloadavg()[0]:.1f}.")
    model_mb = {r["flavor"]: r["model_mb"] for r in rows}
    print("Model files: " + ", ".join(f"{f} {mb:.1f} MB" for f, mb in model_mb.items()))
    if args.json:
        Path(args.json).write_text(json.dumps(dict(machine=machine(), rows=rows), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
