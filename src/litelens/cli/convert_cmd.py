"""``litelens convert``: build a preset with random weights in TensorFlow and convert it to each flavor."""
from __future__ import annotations

import argparse
import logging
import os
import warnings
from pathlib import Path

# BERT-large (HF ``bert-large-uncased`` as ``BertModel``, pooler included) has 335,141,888 parameters,
# the sum of the sizes of its state-dict tensors; at float32 that is 4 bytes each.
BERT_LARGE_PARAMS = 335_141_888
BERT_LARGE_FLOAT32_BYTES = 4 * BERT_LARGE_PARAMS


def add_parser(subparsers) -> None:
    from litelens.factory.config import PRESETS
    from litelens.factory.flavors import FLAVORS

    parser = subparsers.add_parser(
        "convert",
        help="build a preset (random weights) and convert it to .tflite flavors",
        description="Build a preset model in TensorFlow with seeded RANDOM weights (no accuracy on any "
        "task: these models exercise the converter and interpreters) and convert it with the official "
        "converter. Writes DIR/<preset>-<flavor>.tflite and prints sizes and conversion times.",
    )
    parser.add_argument("--preset", required=True, choices=sorted(PRESETS))
    parser.add_argument("--flavor", default="all",
                        help=f"'all' or a comma list of {', '.join(FLAVORS)} (default all)")
    parser.add_argument("--out", required=True, type=Path, help="output directory")
    parser.add_argument("--seq", type=int, help="sequence length of the inputs (preset: 128)")
    parser.add_argument("--layers", type=int, help="number of encoder layers")
    parser.add_argument("--vocab-size", type=int, help="rows of the word embedding table")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random weights (default 0)")
    parser.add_argument("--calibration", type=Path,
                        help="text file, one text per line, for int8/int16x8 calibration (default: the "
                        "sample corpus)")
    parser.set_defaults(func=main)


def parse_flavors(text: str) -> list[str]:
    from litelens.factory.flavors import FLAVORS

    if text.strip() == "all":
        return list(FLAVORS)
    flavors = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [f for f in flavors if f not in FLAVORS]
    if unknown or not flavors:
        raise SystemExit(f"litelens convert: unknown flavor {', '.join(unknown) or text!r}; "
                         f"choose 'all' or from {', '.join(FLAVORS)}")
    return flavors


def quiet_tensorflow() -> None:
    """Keep TensorFlow's C++ and absl log noise out of the terminal (called before importing it)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    logging.getLogger("absl").setLevel(logging.ERROR)  # "consider providing the trackable_obj ..."
    warnings.filterwarnings("ignore", message="Statistics for quantized inputs were expected")


def main(args: argparse.Namespace) -> int:
    flavors = parse_flavors(args.flavor)
    quiet_tensorflow()
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from litelens.factory.build import build_module, convert_flavors
    from litelens.factory.config import preset_config
    from litelens.factory.params import count_params

    try:
        config = preset_config(args.preset, seq=args.seq, layers=args.layers, vocab_size=args.vocab_size)
    except ValueError as err:
        raise SystemExit(f"litelens convert: {err}") from None
    if args.calibration is not None and not args.calibration.is_file():
        raise FileNotFoundError(f"calibration file not found: {args.calibration}")
    console = Console()
    console.print(f"[bold]{args.preset}[/]: {config.num_hidden_layers} layers, seq {config.seq}, vocab "
                  f"{config.vocab_size}, {count_params(config):,} parameters (random weights, seed {args.seed})")
    results = convert_flavors(build_module(config, args.seed), config, flavors, args.calibration)

    args.out.mkdir(parents=True, exist_ok=True)
    sizes = {}
    for result in results:
        if result.model is not None:
            path = args.out / f"{args.preset}-{result.flavor}.tflite"
            path.write_bytes(result.model)
            sizes[result.flavor] = len(result.model)
    table = Table(title=f"{args.preset} -> {args.out}")
    for column in ("flavor", "file size", "vs float32", "vs BERT-large float32", "conversion"):
        table.add_column(column, justify="left" if column == "flavor" else "right")
    for result in results:
        size = sizes.get(result.flavor)
        if size is None:
            table.add_row(result.flavor, "[red]refused[/]", "", "", f"{result.seconds:.1f} s")
            continue
        vs_f32 = f"{size / sizes['float32']:.3f}" if "float32" in sizes else "n/a"
        table.add_row(result.flavor, f"{size / 1e6:.2f} MB", vs_f32,
                      f"{size / BERT_LARGE_FLOAT32_BYTES:.4f}", f"{result.seconds:.1f} s")
    console.print(table)
    console.print(f"BERT-large float32 = {BERT_LARGE_PARAMS:,} parameters x 4 bytes = "
                  f"{BERT_LARGE_FLOAT32_BYTES / 1e6:.1f} MB (HF bert-large-uncased BertModel).")
    for result in results:
        if result.refused:
            console.print(f"[red]{result.flavor} refused by the converter:[/] {escape(result.refused)}",
                          highlight=False)
    return 0 if sizes else 1
