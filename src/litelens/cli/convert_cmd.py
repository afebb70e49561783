"""``litelens convert``: build a preset with random weights, or a Hugging Face checkpoint with its own
weights, in TensorFlow and convert it to each flavor."""
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
    from litelens.factory.config import HEADS, PRESETS
    from litelens.factory.flavors import FLAVORS

    parser = subparsers.add_parser(
        "convert",
        help="build a preset (random weights) or a HF checkpoint and convert it to .tflite flavors",
        description="Build a model in TensorFlow and convert it with the official converter: either a "
        "preset with seeded RANDOM weights (no accuracy on any task: these models exercise the converter "
        "and interpreters), or a Hugging Face MobileBERT/BERT checkpoint (.safetensors + config.json) with "
        "its own weights. Writes DIR/<name>-<flavor>.tflite and prints sizes and conversion times.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--preset", choices=sorted(PRESETS))
    source.add_argument("--checkpoint", type=Path, metavar="PATH.safetensors",
                        help="HF MobileBertModel/BertModel weights (or a *ForSequenceClassification model's), "
                        "architecture from the config.json beside it")
    parser.add_argument("--flavor", default="all",
                        help=f"'all' or a comma list of {', '.join(FLAVORS)} (default all)")
    parser.add_argument("--out", required=True, type=Path, help="output directory")
    parser.add_argument("--seq", type=int, help="sequence length of the inputs (default 128)")
    parser.add_argument("--layers", type=int, help="preset only: number of encoder layers")
    parser.add_argument("--vocab-size", type=int, help="preset only: rows of the word embedding table")
    parser.add_argument("--seed", type=int, help="preset only: seed of the random weights (default 0)")
    parser.add_argument("--config", type=Path, help="checkpoint only: its config.json (default: beside it)")
    parser.add_argument("--head", choices=("auto",) + HEADS, default=None,
                        help="checkpoint only: the graph's output: logits (pooler + classifier), embedding "
                        "(masked mean, L2-normalised), hidden (last_hidden_state); auto (default) = logits "
                        "if the checkpoint has a classifier, else hidden")
    parser.add_argument("--name", help="checkpoint only: file name stem (default: the checkpoint's folder name "
                        "for model.safetensors, else its stem)")
    parser.add_argument("--calibration", type=Path,
                        help="text file, one text per line, for int8/int16x8 calibration (default: the "
                        "sample corpus)")
    parser.add_argument("--vocab", type=Path,
                        help="WordPiece vocab.txt to tokenize the calibration texts with (default: the "
                        "checkpoint's vocab.txt beside it, else the sample vocabulary)")
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


def fail(message: str) -> SystemExit:
    return SystemExit(f"litelens convert: {message}")


def preset_model(args: argparse.Namespace, console):
    """(name, config, tf module) of a preset with random weights."""
    from litelens.factory.build import build_module
    from litelens.factory.config import preset_config
    from litelens.factory.params import count_params

    for option in ("config", "head", "name"):
        if getattr(args, option) is not None:
            raise fail(f"--{option} goes with --checkpoint, not --preset")
    if args.vocab is not None and not args.vocab.is_file():
        raise FileNotFoundError(f"vocabulary file not found: {args.vocab}")
    try:
        config = preset_config(args.preset, seq=args.seq, layers=args.layers, vocab_size=args.vocab_size)
    except ValueError as err:
        raise fail(str(err)) from None
    seed = 0 if args.seed is None else args.seed
    console.print(f"[bold]{args.preset}[/]: {config.num_hidden_layers} layers, seq {config.seq}, vocab "
                  f"{config.vocab_size}, {count_params(config):,} parameters (random weights, seed {seed})")
    return args.preset, config, build_module(config, seed), args.vocab


def checkpoint_model(args: argparse.Namespace, console):
    """(name, config, tf module, calibration vocab) of a HF checkpoint with its own weights."""
    from rich.markup import escape

    from litelens.factory.build import build_module, output_name
    from litelens.factory.checkpoint import CheckpointError, load_checkpoint
    from litelens.factory.params import count_params

    for option in ("layers", "vocab_size", "seed"):
        if getattr(args, option) is not None:
            raise fail(f"--{option.replace('_', '-')} goes with --preset; a checkpoint's config.json gives "
                       "the architecture")
    try:
        ckpt = load_checkpoint(args.checkpoint, args.config, seq=args.seq or 128, head=args.head or "auto")
    except CheckpointError as err:
        raise fail(str(err)) from None
    c = ckpt.config
    name = args.name or (args.checkpoint.parent.resolve().name if args.checkpoint.stem == "model"
                         else args.checkpoint.stem)
    width = f"hidden {c.hidden_size}" + (f", bottleneck {c.true_hidden_size}" if c.true_hidden_size != c.hidden_size
                                        else "")
    console.print(f"[bold]{escape(name)}[/] ({escape(str(args.checkpoint))}): {c.arch}, {c.num_hidden_layers} "
                  f"layers, {width}, {c.num_attention_heads} heads, {c.hidden_act}, seq {c.seq}, vocab "
                  f"{c.vocab_size}, {count_params(c):,} parameters (checkpoint weights)", highlight=False)
    labels = f" ({', '.join(ckpt.labels)})" if ckpt.labels else ""
    console.print(f"head: {c.head} -> output '{output_name(c)}'{escape(labels)}", highlight=False)
    if ckpt.converted_dtypes:
        console.print(f"weights stored as {', '.join(ckpt.converted_dtypes)}, widened to float32")
    if ckpt.ignored:
        shown = ", ".join(ckpt.ignored[:6]) + (f" ... ({len(ckpt.ignored)} in all)" if len(ckpt.ignored) > 6 else "")
        console.print(f"not used by this graph: {escape(shown)}", highlight=False)
    vocab = args.vocab or ckpt.vocab
    if vocab is not None and not Path(vocab).is_file():
        raise FileNotFoundError(f"vocabulary file not found: {vocab}")
    if vocab is None and any(f in ("int8", "int16x8") for f in parse_flavors(args.flavor)):
        console.print("[yellow]no vocab.txt beside the checkpoint (and no --vocab): calibration texts are "
                      "tokenized with litelens's sample vocabulary, whose ids are other words for this "
                      "model[/]")
    return name, c, build_module(c, params=ckpt.params), vocab


def main(args: argparse.Namespace) -> int:
    flavors = parse_flavors(args.flavor)
    quiet_tensorflow()
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from litelens.factory.build import calibration_texts, convert_flavors

    if args.calibration is not None:
        if not args.calibration.is_file():
            raise FileNotFoundError(f"calibration file not found: {args.calibration}")
        try:
            calibration_texts(args.calibration)
        except (ValueError, UnicodeDecodeError) as err:
            raise fail(str(err)) from None
    console = Console()
    make = checkpoint_model if args.checkpoint is not None else preset_model
    name, config, module, vocab = make(args, console)
    results = convert_flavors(module, config, flavors, args.calibration, vocab)

    args.out.mkdir(parents=True, exist_ok=True)
    sizes = {}
    for result in results:
        if result.model is not None:
            path = args.out / f"{name}-{result.flavor}.tflite"
            path.write_bytes(result.model)
            sizes[result.flavor] = len(result.model)
    table = Table(title=f"{escape(name)} -> {escape(str(args.out))}")
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
