"""``litelens inspect MODEL``: where, and why, a quantized model loses accuracy."""
from __future__ import annotations

import argparse


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "inspect",
        help="measure, op by op, the error quantization injects and accumulates",
        description="Run a quantized .tflite model with litelens's bit-exact kernels and measure each op's "
        "output against (1) its exact real-valued result on its own dequantized inputs (local error), "
        "(2) a float64 shadow run of the whole graph (propagated error) and (3) the float model's tensor of "
        "the same name (--float). Prints the ops ranked by local error and the SQNR along the depth.",
    )
    p.add_argument("model", help="path to a quantized .tflite file")
    p.add_argument("--float", dest="float_model", metavar="FLOAT_MODEL",
                   help="the same network converted without quantization (its float twin)")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--text", action="append", metavar="TEXT",
                        help="text for a BERT-style model (repeatable: one sample per text; figures pool them)")
    source.add_argument("--inputs", action="append", metavar="FILE.npz",
                        help="arrays keyed by input name (repeatable: one sample per file)")
    p.add_argument("--vocab", help="WordPiece vocab.txt for --text (default: litelens's sample vocabulary, "
                   "which fits the factory models; give a real checkpoint's own)")
    p.add_argument("--report", metavar="OUT.html", help="write a self-contained HTML report with plots")
    p.add_argument("--json", metavar="OUT.json", help="write one entry per op as JSON")
    p.add_argument("--csv", metavar="OUT.csv", help="write one row per op output as CSV")
    p.add_argument("--model-explorer", metavar="OUT.json",
                   help="write node data for Google's Model Explorer, keyed by output tensor name")
    p.add_argument("--model-explorer-metric", default="local_sqnr_db",
                   choices=("local_sqnr_db", "propagated_sqnr_db", "float_sqnr_db", "saturation", "utilisation"),
                   help="the figure to color nodes by (default: local_sqnr_db)")
    p.add_argument("--explain", action="append", default=[], metavar="OP[:ELEMENT]",
                   help="show the integer arithmetic of one output element of op OP (ELEMENT: a flat index or "
                   "comma-separated indices; default: the element with the largest local error). Repeatable.")
    p.add_argument("--top", type=int, default=15, help="rows of the ranked table (default 15)")
    p.add_argument("--depth-rows", type=int, default=40, help="rows of the depth table (default 40)")
    p.add_argument("--flavor", default="reference", help="whose kernels to reproduce: reference (BUILTIN_REF), optimized "
                   "(BUILTIN_WITHOUT_DEFAULT_DELEGATES), xnnpack (the default AUTO path), optimized-arm64, "
                   "xnnpack-arm64, or per-op overrides like 'reference,SOFTMAX=optimized' (default: reference)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random inputs used when none are given")
    p.set_defaults(func=main)


def parse_explain(spec: str) -> tuple[int, object]:
    from litelens.inspect.explain import parse_element

    op, _, element = spec.partition(":")
    try:
        op_index = int(op)
    except ValueError:
        raise SystemExit(f"litelens inspect: --explain takes OP[:ELEMENT] with OP an op index, got {spec!r}") from None
    try:
        return op_index, parse_element(element)
    except ValueError as err:
        raise SystemExit(f"litelens inspect: --explain {spec}: {err}") from None


def _load_npz(interp, paths: list[str]) -> list[dict]:
    from litelens.inputs import file_inputs

    return [file_inputs(interp, [path]) for path in paths]


def main(args: argparse.Namespace) -> int:
    from rich.console import Console

    import litelens
    from litelens.inspect import exporters, terminal

    explains = [parse_explain(spec) for spec in args.explain]
    inputs = None
    if args.inputs:
        probe = litelens.Interpreter(model_path=args.model, flavor=args.flavor)
        probe.allocate_tensors()
        inputs = _load_npz(probe, args.inputs)
    result = litelens.inspect(args.model, args.float_model, text=args.text, inputs=inputs, flavor=args.flavor,
                              seed=args.seed, vocab=args.vocab)
    console = Console()
    terminal.render(result, console, top=args.top, depth_rows=args.depth_rows)
    for op_index, element in explains:
        try:
            explanation = result.explain(op_index, element)
        except ValueError as err:
            raise litelens.InputError(f"--explain {op_index}: {err}") from None
        console.print()
        console.print(explanation.render(), highlight=False, markup=False)
    written = []
    if args.json:
        exporters.write_json(result, args.json)
        written.append(args.json)
    if args.csv:
        exporters.write_csv(result, args.csv)
        written.append(args.csv)
    if args.model_explorer:
        exporters.write_model_explorer(result, args.model_explorer, args.model_explorer_metric)
        written.append(args.model_explorer)
    if args.report:
        from litelens.inspect.report_html import write_report

        write_report(result, args.report)
        written.append(args.report)
    if written:
        console.print()
        console.print("wrote " + ", ".join(written), highlight=False, markup=False)
    return 0
