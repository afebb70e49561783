"""``litelens run MODEL``: run a model on text or arrays and print its outputs."""
from __future__ import annotations

import argparse
import time


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "run",
        help="run a .tflite model with litelens's kernels and print its outputs",
        description="Run a .tflite model with litelens's kernels (bit-exact with the official reference "
        "kernels) and print every output, dequantized when quantized.",
    )
    p.add_argument("model", help="path to a .tflite file")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--text", help="text to tokenize (WordPiece) for a BERT-style model")
    source.add_argument("--input", action="append", default=[], metavar="NAME=FILE.npy",
                        help="an input array (repeatable), or one FILE.npz keyed by input name")
    p.add_argument("--vocab", help="WordPiece vocab.txt for --text (default: litelens's sample vocabulary, "
                   "which fits the factory models; give a real checkpoint's own)")
    p.add_argument("--labels", help="comma-separated class names for a classifier output, e.g. "
                   "negative,neutral,positive")
    p.add_argument("--flavor", default="reference", help="whose kernels to reproduce: reference (BUILTIN_REF), optimized "
                   "(BUILTIN_WITHOUT_DEFAULT_DELEGATES), xnnpack (the default AUTO path), optimized-arm64, "
                   "xnnpack-arm64, or per-op overrides like 'reference,SOFTMAX=optimized' (default: reference)")
    p.add_argument("--threads", type=int, default=1, metavar="N",
                   help="threads for the big ops (matrix products split by rows; same bits as one thread; "
                   "default: 1)")
    p.add_argument("-v", "--verbose", action="count", default=0,
                   help="trace every op as it runs: -v one line per op, -vv also the dtype, shape and range of "
                   "each output, -vvv also its first values")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    import numpy as np

    import litelens
    from litelens.inputs import file_inputs, fill_inputs, text_inputs

    if args.threads < 1:
        raise litelens.InputError(f"--threads must be at least 1, got {args.threads}")
    interp = litelens.Interpreter(model_path=args.model, flavor=args.flavor, num_threads=args.threads)
    interp.allocate_tensors()
    if args.text is not None:
        inputs = text_inputs(interp, args.text, args.vocab)
    elif args.input:
        inputs = file_inputs(interp, args.input)
    else:
        raise litelens.InputError("give --text or --input")
    fill_inputs(interp, inputs)
    observer = None
    if args.verbose:
        from litelens.inspect.trace import Tracer

        observer = Tracer(args.verbose)
    start = time.perf_counter()
    interp.invoke(observer=observer)
    elapsed = time.perf_counter() - start
    labels = args.labels.split(",") if args.labels else None
    traced = " (with tracing)" if args.verbose else ""
    print(f"{args.model}: {len(interp.graph.operators)} ops, invoke {elapsed * 1e3:.1f} ms{traced}")
    for d in interp.get_output_details():
        value = interp.get_tensor(d["index"])
        scale, zero_point = d["quantization"]
        print(f"output '{d['name']}' {value.dtype.name}{list(value.shape)}")
        with np.printoptions(precision=5, suppress=True, linewidth=110, threshold=64):
            print(f"  values: {value.reshape(-1) if value.size <= 64 else value}")
            if scale:
                print(f"  real (scale {scale:.6g}, zero point {zero_point}): "
                      f"{(scale * (value.astype(np.float64) - zero_point)).reshape(-1)[:64]}")
        if labels and value.shape[-1] == len(labels):
            real = scale * (value.astype(np.float64) - zero_point) if scale else value.astype(np.float64)
            row = real.reshape(-1, len(labels))[0]
            probs = np.exp(row - row.max())
            probs /= probs.sum()
            best = int(np.argmax(row))
            shares = ", ".join(f"{name} {p:.3f}" for name, p in zip(labels, probs))
            print(f"  class: {labels[best]}  (softmax: {shares})")
    return 0
