"""``litelens fuzz``: random single-op cases (and converted graphs) against the official interpreter."""
from __future__ import annotations

import argparse
import json
import sys


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "fuzz",
        help="compare random single-op models (and small converted graphs) with the official interpreter",
        description="Generate random single-op cases for every supported op (shapes with size-1 and broadcast "
        "dims, scales across binades, zero points at both ends, every fused activation, inputs that hit "
        "rounding ties and saturation), run each in litelens and in the official interpreter under each "
        "resolver (litelens in the matching flavor unless --flavor says otherwise), and compare every tensor: "
        "integers bit for bit, floats exactly against reference and within 1e-5 of each tensor's max against "
        "optimized and xnnpack. Failures are shrunk to a minimal case and saved (model, inputs, report). "
        "Exit status: 1 when a case fails against a resolver named by --fail-on (mismatch or litelens bug; "
        "with --strict also a disagreement on what is a valid model), else 0; 2 on error.",
    )
    p.add_argument("--ops", help="comma-separated ops (default: every supported op)")
    p.add_argument("--n", type=int, default=1000, help="single-op cases in all, spread over the ops (default 1000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--against", default="reference,optimized,xnnpack",
                   help="official resolvers, comma-separated (default: all three)")
    p.add_argument("--flavor", default=None,
                   help="litelens's flavor for every resolver (default: each resolver's own, i.e. litelens "
                   "optimized against the official optimized kernels); e.g. --flavor reference --against "
                   "optimized shows where the two official paths part")
    p.add_argument("--fail-on", default=None,
                   help="resolvers whose failures fail the run (default: those in --against when litelens runs "
                   "each resolver's own flavor, else reference only)")
    p.add_argument("--out", help="directory for failing cases (default: none saved)")
    p.add_argument("--graphs", type=int, default=0,
                   help="also build this many random transformer-like blocks in TensorFlow, convert each "
                   "(int8 and dynamic) and compare whole (needs tensorflow)")
    p.add_argument("--no-shrink", action="store_true", help="save failing cases as found")
    p.add_argument("--save-limit", type=int, default=5, help="failing cases saved per resolver and op (default 5)")
    p.add_argument("--strict", action="store_true",
                   help="also fail on disagreements (one side refuses a model or input the other runs)")
    p.add_argument("--json", metavar="PATH", help="write the summary as JSON ('-' for stdout)")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from litelens.diff.run import RESOLVERS
    from litelens.fuzz.runner import default_ops, run_fuzz
    from litelens.fuzz.summary import render, to_json

    from litelens.flavors import FlavorError, parse_flavor

    against = [r.strip() for r in args.against.split(",") if r.strip()]
    if args.flavor is not None:
        try:
            parse_flavor(args.flavor)
        except FlavorError as err:
            print(f"litelens fuzz: error: {err}", file=sys.stderr)
            return 2
    default_fail_on = ",".join(against) if args.flavor is None else "reference"
    fail_on = [r.strip() for r in (args.fail_on or default_fail_on).split(",") if r.strip()]
    for name in against + fail_on:
        if name not in RESOLVERS:
            print(f"litelens fuzz: error: unknown resolver {name!r}; choose from {', '.join(RESOLVERS)}",
                  file=sys.stderr)
            return 2
    try:
        import ai_edge_litert  # noqa: F401
    except ImportError:
        print("litelens fuzz: error: the official interpreter (ai-edge-litert) is not installed", file=sys.stderr)
        return 2
    available = default_ops()
    ops = [o.strip().upper() for o in args.ops.split(",")] if args.ops else available
    unknown = [o for o in ops if o not in available]
    if unknown:
        print(f"litelens fuzz: error: no generator for {', '.join(unknown)}; have {', '.join(available)}",
              file=sys.stderr)
        return 2
    to_stdout = args.json == "-"
    console = Console(stderr=to_stdout)
    if not console.is_terminal:  # CI logs: wide enough for the tables
        console = Console(stderr=to_stdout, width=150)
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=Console(stderr=True), transient=True)
    with progress:
        result = run_fuzz(ops, args.n, args.seed, against, args.out, shrink_failures=not args.no_shrink,
                          save_limit=args.save_limit, progress=progress, flavor=args.flavor)
        if args.graphs:
            from litelens.fuzz.graphs import run_graphs

            result.graphs = run_graphs(args.graphs, args.seed, against, progress=progress, out=args.out,
                                       litelens_flavor=args.flavor)
    render(result, console)
    if args.json:
        text = json.dumps(to_json(result), indent=1, default=str)
        if to_stdout:
            print(text)
        else:
            with open(args.json, "w") as f:
                f.write(text + "\n")
    failures = result.failures(tuple(fail_on), disagreements=args.strict)
    if failures:
        console.print(f"[red]{failures} failing case(s) against {', '.join(fail_on)}[/]")
        return 1
    console.print(f"no failures against {', '.join(fail_on)}")
    return 0
