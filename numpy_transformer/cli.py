"""`numpy-transformer`: train, evaluate, compare and list recipes (and more: see --help).

A user's mistake ends in one line naming the option or file and what is wrong, never in a
traceback: exit code 2 for usage errors, 1 for the rest (NT_DEBUG=1 shows the traceback)."""
import argparse
import os
import sys
import warnings

from . import kernels
from .commands import register_all
from .commands._options import UsageError, check_data_dir
from .distributed import get_world, launched_by_mpi


class HelpFormatter(argparse.HelpFormatter):
    """argparse's help with each option's default where it has one worth saying."""

    def _get_help_string(self, action):
        text = action.help or ""
        if (action.option_strings and action.default not in (None, False, argparse.SUPPRESS)
                and "default" not in text and "%(default)" not in text):
            text += " (default: %(default)s)"
        return text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="numpy-transformer", description=__doc__.split("\n")[0],
                                     formatter_class=HelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    register_all(commands)
    for sub in commands.choices.values():
        sub.formatter_class = HelpFormatter
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)       # for a relaunch under mpiexec
    problem = kernels.environment_problem()
    if problem:                         # a misspelt NT_KERNELS: refuse rather than guess
        print(f"numpy-transformer: {problem}", file=sys.stderr)
        return 2
    kernels.tune_cpu()                  # the process-wide CPU settings: the CLI opts in
    code = run_command(args)
    if code and launched_by_mpi():      # one rank's error ends them all, none left waiting
        get_world().abort(code)
    return code


def run_command(args) -> int:
    """The command's exit code; a user's mistake printed in one line."""
    warnings.formatwarning = lambda message, *_, **__: f"numpy-transformer: note: {message}\n"
    who = f"numpy-transformer {args.command}{_rank()}"
    try:
        check_data_dir(args)
        with kernels.using(getattr(args, "kernels", None) or kernels.active()):
            return args.run(args)
    except KeyboardInterrupt:
        if not launched_by_mpi() or get_world().is_main:     # every rank hears it: one says it
            print(f"{who}: interrupted", file=sys.stderr)
        return 130
    except SystemExit as stop:
        if not isinstance(stop.code, str):
            raise
        message = stop.code.removeprefix(f"{args.command}: ")
        print(f"{who}: error: {message}", file=sys.stderr)
        return 1
    except UsageError as error:
        print(f"{who}: error: {error} (numpy-transformer {args.command} --help)", file=sys.stderr)
        return 2
    except (ValueError, KeyError, OSError, FloatingPointError) as error:
        if os.environ.get("NT_DEBUG"):
            raise
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"{who}: error: {message}", file=sys.stderr)
        return 1


def _rank() -> str:
    """' (rank R of N)' in a process of several, so an error names where it happened."""
    if not launched_by_mpi():
        return ""
    try:
        world = get_world()
    except RuntimeError:                        # no mpi4py: the command says so itself
        return ""
    return f" (rank {world.rank} of {world.size})" if world.size > 1 else ""

if __name__ == "__main__":
    sys.exit(main())
