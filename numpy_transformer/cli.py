"""`numpy-transformer`: train, evaluate, compare and list recipes (and more: see --help)."""
import argparse
import sys

from . import kernels
from .commands import register_all


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="numpy-transformer", description=__doc__)
    register_all(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    problem = kernels.environment_problem()
    if problem:                         # a misspelt NT_KERNELS: refuse rather than guess
        print(f"numpy-transformer: {problem}", file=sys.stderr)
        return 2
    kernels.tune_cpu()                  # the process-wide CPU settings: the CLI opts in
    try:
        with kernels.using(getattr(args, "kernels", None) or kernels.active()):
            return args.run(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
