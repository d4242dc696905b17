"""`numpy-transformer`: train, evaluate, compare and list recipes (and more: see --help)."""
import argparse
import sys

from .commands import register_all


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="numpy-transformer", description=__doc__)
    register_all(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
