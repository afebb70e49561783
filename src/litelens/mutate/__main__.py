"""``python -m litelens.mutate``: run a campaign of hostile models and print what happened.

    python -m litelens.mutate --structured 2000 --raw 2000 [--start 0] [--workers 2] [--save DIR]
    python -m litelens.mutate --files tests/hostile/cases/*.tflite
    python -m litelens.mutate --case '{"kind": "structured", "seed": "hand:pad-int8", "n": 7}' --save DIR
    python -m litelens.mutate --structured 500 --official-check DIR

``--save DIR`` writes every failing case (crash, hang, leaked exception, internal error) as a
``.tflite`` with a ``.json`` describing it. ``--official-check DIR`` also runs, in the official
interpreter (in its own subprocesses), every case litelens refused, and saves those it crashes or hangs
on. The exit status is 1 if any case failed.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from litelens.mutate.cases import campaign, file_cases, make_case
from litelens.mutate.runner import run_cases


def save_case(directory: Path, name: str, result, extra: dict | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    what, data = make_case(result.spec)
    path = directory / f"{name}.tflite"
    path.write_bytes(data)
    info = {"spec": result.spec, "what": what, "status": result.status, "stage": result.stage,
            "message": result.message, **(extra or {})}
    path.with_suffix(".json").write_text(json.dumps(info, indent=1) + "\n")
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m litelens.mutate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--structured", type=int, default=0, help="structured cases")
    parser.add_argument("--raw", type=int, default=0, help="byte-mutation cases")
    parser.add_argument("--start", type=int, default=0, help="first case number (another start explores more)")
    parser.add_argument("--files", nargs="*", default=[], help="run these .tflite files as cases")
    parser.add_argument("--case", action="append", default=[], metavar="JSON",
                        help='rerun one case by its spec, e.g. \'{"kind": "raw", "seed": "hand:pad-int8", "n": 7}\'')
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per case before it counts as a hang")
    parser.add_argument("--memory-mb", type=int, default=3072, help="address-space limit of a worker")
    parser.add_argument("--save", type=Path, help="write failing cases here")
    parser.add_argument("--json", type=Path, help="write every result here (one JSON object per line)")
    parser.add_argument("--allow-internal", action="store_true",
                        help="do not count a wrapped internal error (an op's missing check) as a failure")
    parser.add_argument("--official-check", type=Path, metavar="DIR",
                        help="run refused cases in the official interpreter; save those it crashes on")
    args = parser.parse_args(argv)

    specs = campaign(args.structured, args.raw, args.start)
    specs += [{**s, "id": len(specs) + s["id"]} for s in file_cases(args.files)]
    specs += [{**json.loads(c), "id": len(specs) + i} for i, c in enumerate(args.case)]
    if not specs:
        parser.error("no cases: give --structured, --raw, --files or --case")
    report = run_cases(specs, workers=args.workers, timeout=args.timeout, memory_mb=args.memory_mb)
    print(report.summary())
    if args.json:
        with open(args.json, "w") as f:
            for r in report.results:
                f.write(json.dumps({"spec": r.spec, "status": r.status, "stage": r.stage, "message": r.message,
                                    "what": r.what, "seconds": r.seconds, "size": r.size}) + "\n")
    failures = report.failures(allow_internal=args.allow_internal)
    internal = [r for r in report.results if r.status == "internal"]
    if internal:
        print(f"{len(internal)} internal errors (an op's Prepare/Eval raised; wrapped in ModelError):")
        for r in internal[:40]:
            print(f"  {r.spec['kind']} {r.spec['seed']} n={r.spec['n']} {r.stage}: {r.message[:240]} {r.what}")
    if args.save:
        for r in failures + internal:
            if r.status != "mutator_error":
                save_case(args.save, f"{r.status}-{r.spec['kind']}-{r.spec['n']}", r)
    if args.official_check:
        refused = [r.spec for r in report.results if r.status in ("model_error", "input_error")]
        official = run_cases(refused, workers=args.workers, timeout=args.timeout, memory_mb=args.memory_mb,
                             official=True)
        print("official interpreter on the cases litelens refused:")
        print(official.summary())
        ours = {r.spec["id"]: r for r in report.results}
        for r in official.results:
            if r.status in ("crash", "hang"):
                mine = ours[r.spec["id"]]
                path = save_case(args.official_check, f"official-{r.status}-{r.spec['kind']}-{r.spec['n']}", mine,
                                 {"official": {"status": r.status, "message": r.message}})
                print(f"  saved {path}: official {r.status}; litelens: {mine.message[:200]}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
