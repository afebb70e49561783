"""``litelens diff MODEL``: compare every tensor with the official interpreter, resolver by resolver."""
from __future__ import annotations

import argparse
import json
import sys


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "diff",
        help="compare every tensor of a model with the official interpreter and find the first divergent op",
        description="Run a model in litelens and in the official interpreter (each named resolver), keep "
        "every tensor, and report per resolver: tensors compared, the bit-exact share, the first "
        "divergent op (inputs equal in both runs, output not) with a few differing elements and the "
        "rounding each side applied, and how the difference grows layer by layer. Exit status: 0 when "
        "everything compared is equal, 1 when something differs, 2 on error.",
    )
    p.add_argument("model", help="path to a .tflite file")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--text", help="text to tokenize (WordPiece) for a BERT-style model")
    source.add_argument("--inputs", metavar="FILE.npz", help="input arrays keyed by input name (or index)")
    p.add_argument("--vocab", help="WordPiece vocab.txt for --text (default: litelens's sample vocabulary, "
                   "which fits the factory models; give a real checkpoint's own)")
    source.add_argument("--input", action="append", default=[], metavar="NAME=FILE.npy",
                        help="one input array (repeatable)")
    p.add_argument("--against", default="reference,optimized,xnnpack",
                   help="official resolvers to compare with, comma-separated (default: all three)")
    p.add_argument("--flavor", default="reference",
                   help="litelens's flavor: reference, optimized, xnnpack, optimized-arm64, xnnpack-arm64, or "
                   "overrides like 'reference,SOFTMAX=optimized,21=xnnpack' (op name or op index = flavor); "
                   "default reference")
    p.add_argument("--json", nargs="?", const="-", metavar="PATH",
                   help="write the findings as JSON to PATH ('-' or nothing: stdout, instead of the text report)")
    p.add_argument("--elements", type=int, default=5, help="differing elements to show (default 5)")
    p.add_argument("--seed", type=int, default=0, help="seed for random inputs (models without text inputs)")
    p.add_argument("--atol", type=float, default=0.0, help="float tensors within atol + rtol*|official| count "
                   "as equal (default 0: exact)")
    p.add_argument("--rtol", type=float, default=0.0)
    p.add_argument("--exact-floats", action="store_true",
                   help="compare float tensors exactly against optimized and xnnpack too (default: within "
                   "1e-5 of each tensor's max |value|, since their float kernels sum in other orders)")
    p.add_argument("--save-inputs", metavar="FILE.npz", help="save the inputs used, keyed by input name")
    p.set_defaults(func=main)


def _inputs(args, interp):
    from litelens.diff.inputs import default_inputs
    from litelens.inputs import file_inputs, text_inputs

    if args.text is not None:
        return text_inputs(interp, args.text, args.vocab), f"text {args.text!r}"
    if args.inputs:
        return file_inputs(interp, [args.inputs]), args.inputs
    if args.input:
        return file_inputs(interp, args.input), ", ".join(args.input)
    return default_inputs(interp, args.seed)


def main(args: argparse.Namespace) -> int:
    from pathlib import Path

    import numpy as np
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    import litelens
    from litelens.diff.report import render, to_json
    from litelens.diff.run import RESOLVERS, diff_model
    from litelens.inputs import input_names

    against = [r.strip() for r in args.against.split(",") if r.strip()]
    unknown = [r for r in against if r not in RESOLVERS]
    if unknown or not against:
        print(f"litelens diff: error: unknown resolver(s) {', '.join(unknown) or '(none)'}; "
              f"choose from {', '.join(RESOLVERS)}", file=sys.stderr)
        return 2
    try:
        import ai_edge_litert  # noqa: F401
    except ImportError:
        print("litelens diff: error: the official interpreter (ai-edge-litert) is not installed; "
              "pip install 'litelens[golden]'", file=sys.stderr)
        return 2
    content = Path(args.model).read_bytes()
    interp = litelens.Interpreter(model_content=content, flavor=args.flavor)
    interp.allocate_tensors()
    inputs, source = _inputs(args, interp)
    names = input_names(interp)
    if args.save_inputs:
        np.savez(args.save_inputs, **{names[i]: v for i, v in inputs.items()})
    to_stdout = args.json == "-"
    console = Console(stderr=to_stdout)
    if not console.is_terminal:  # CI logs: wide enough for the tables
        console = Console(stderr=to_stdout, width=150)
    progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                        console=Console(stderr=True), transient=True)
    with progress:
        report = diff_model(content, inputs, against, args.flavor, model_name=args.model,
                            elements=args.elements, progress=progress, atol=args.atol, rtol=args.rtol,
                            exact_floats=args.exact_floats)
    if not to_stdout:
        console.print(f"inputs: {source}")
        render(report, console)
    if args.json:
        text = json.dumps(dict(to_json(report), inputs_source=source), indent=1, default=str)
        if to_stdout:
            print(text)
        else:
            Path(args.json).write_text(text + "\n")
            console.print(f"findings written to {args.json}")
    return report.exit_code
