"""Start-up time and peak memory of litelens, each in a fresh process.

    .venv/bin/python benchmarks/startup.py [--model PATH] [--flavor int8]

Runs the same script three times in new processes: (1) cold - an empty Numba compilation cache
(NUMBA_CACHE_DIR set to a new temporary directory), so every kernel the model needs is compiled;
(2) and (3) warm - the same cache directory, now filled. Each child reports, from its own start:
importing litelens, reading + loading the model, allocate_tensors (every op's Prepare), the first
invoke (which compiles or loads the kernels), a second invoke, and its peak resident memory
(VmHWM) next to the model size and the bytes of all tensors ("activations"). The parent also times
each process from launch to exit ("to first result" = launch to the end of the first invoke,
as the child reports it, plus interpreter start-up).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

CHILD = r"""
import time, json, sys
t0 = time.perf_counter()
import numpy as np
import litelens
from litelens.tokenizer import corpus_texts, encode
t_import = time.perf_counter()
content = open(sys.argv[1], "rb").read()
interp = litelens.Interpreter(model_content=content, num_threads=1)
t_load = time.perf_counter()
interp.allocate_tensors()
t_alloc = time.perf_counter()
by_name = {d["name"]: d for d in interp.get_input_details()}
for key, value in encode(corpus_texts()[0], seq=int(sys.argv[2])).items():
    interp.set_tensor(by_name[key]["index"], np.asarray(value, dtype=by_name[key]["dtype"]))
interp.invoke()
result = interp.get_tensor(interp.get_output_details()[0]["index"])
t_first = time.perf_counter()
interp.invoke()
t_second = time.perf_counter()
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(json.dumps(dict(import_s=t_import - t0, load_s=t_load - t_import, allocate_s=t_alloc - t_load,
                      first_invoke_s=t_first - t_alloc, second_invoke_s=t_second - t_first,
                      to_first_result_s=t_first - t0, peak_mb=hwm / 1024, model_mb=len(content) / 1e6,
                      activations_mb=sum(a.nbytes for a in interp._arrays.values()) / 1e6)))
"""


def run_child(model: str, seq: int, cache_dir: str) -> dict:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir, OPENBLAS_NUM_THREADS="1")
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", CHILD, model, str(seq)], capture_output=True, text=True,
                          env=env, check=True)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    report["process_s"] = time.perf_counter() - start
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="a .tflite (default: the factory MobileBERT of --flavor)")
    parser.add_argument("--flavor", default="int8")
    parser.add_argument("--seq", type=int, default=128)
    parser.add_argument("--json", help="also write the reports here")
    args = parser.parse_args(argv)
    model = args.model
    if model is None:
        from factory_cache import factory_model

        path = REPO / ".cache" / "bench" / f"mobilebert-{args.flavor}.tflite"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(factory_model("mobilebert", args.flavor))
        model = str(path)
    reports = {}
    with tempfile.TemporaryDirectory(prefix="litelens-numba-") as cache:
        reports["cold"] = run_child(model, args.seq, cache)
        reports["warm"] = run_child(model, args.seq, cache)
        reports["warm again"] = run_child(model, args.seq, cache)
    cols = ["process_s", "to_first_result_s", "import_s", "load_s", "allocate_s", "first_invoke_s",
            "second_invoke_s", "peak_mb"]
    print(f"{'':12}" + "".join(f"{c:>18}" for c in cols))
    for name, r in reports.items():
        print(f"{name:12}" + "".join(f"{r[c]:>18.2f}" for c in cols))
    r = reports["warm"]
    print(f"model {r['model_mb']:.1f} MB, activations (all tensors) {r['activations_mb']:.1f} MB; "
          f"2 x model + activations = {2 * r['model_mb'] + r['activations_mb']:.1f} MB")
    if args.json:
        Path(args.json).write_text(json.dumps(reports, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
