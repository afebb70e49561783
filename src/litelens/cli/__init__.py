"""The ``litelens`` command: one subcommand per module, each with ``add_parser`` and ``main``."""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys

# Subcommand name -> module under litelens.cli. Modules import heavy packages inside main() only,
# so `litelens --help` stays fast.
SUBCOMMANDS = {
    "convert": "litelens.cli.convert_cmd",
    "run": "litelens.cli.run_cmd",
    "inspect": "litelens.cli.inspect_cmd",
    "diff": "litelens.cli.diff_cmd",
    "fuzz": "litelens.cli.fuzz_cmd",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="litelens",
        description="Run, inspect and compare quantized TFLite (LiteRT) transformer models, "
        "bit-exact with the official interpreter's kernels.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in SUBCOMMANDS.items():
        if importlib.util.find_spec(module_name) is None:  # a subcommand not built yet
            continue
        module = importlib.import_module(module_name)
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    from litelens.errors import ModelError
    from litelens.flavors import FlavorError

    try:
        return int(args.func(args) or 0)
    except ModelError as err:
        print(f"litelens: error: {err}", file=sys.stderr)
        return 2
    except FlavorError as err:
        print(f"litelens: error: {err}", file=sys.stderr)
        return 2
    except FileNotFoundError as err:
        print(f"litelens: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
