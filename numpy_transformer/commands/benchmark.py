"""`numpy-transformer benchmark`: the side-by-side timings in benchmarks/ (a source checkout)."""
import os
import subprocess
import sys

from ._options import add_device, add_kernels


def run(args) -> int:
    root = args.root or os.getcwd()
    if args.device == "cuda":                 # the GPU's training steps against torch's
        from ..device import get_device
        get_device("cuda")
    if not os.path.isdir(os.path.join(root, "benchmarks", "cases")):
        raise SystemExit(f"no benchmarks/ folder in {root}: run this from a source checkout of "
                         "numpy_transformer (or pass --root)")
    if args.device == "cuda":
        command = [sys.executable, "-m", "benchmarks.gpu_steps"]
        if args.json:
            command += ["--json", os.path.abspath(args.json)]
        return subprocess.call(command, cwd=root)
    command = [sys.executable, "-m", "benchmarks.layers", "--threads", str(args.threads),
               "--rounds", str(args.rounds)]
    if args.filter:
        command += ["--filter", args.filter]
    if args.kernels:
        command += ["--kernels", args.kernels]
    for option in ("json", "write"):
        if getattr(args, option):
            command += [f"--{option}", os.path.abspath(getattr(args, option))]
    return subprocess.call(command, cwd=root)


def register(subparsers) -> None:
    parser = subparsers.add_parser("benchmark", help="time layers and models against PyTorch")
    parser.add_argument("--filter", help="only cases whose name contains this")
    parser.add_argument("--threads", type=int, default=2, help="threads of each library")
    parser.add_argument("--rounds", type=int, default=5,
                        help="turns of each library per case, taken alternately")
    parser.add_argument("--root", help="the source checkout (default: the current folder)")
    parser.add_argument("--json", metavar="FILE", help="also save the results as JSON")
    parser.add_argument("--write", metavar="FILE",
                        help="rewrite the table's block in a Markdown file (docs/performance.md)")
    add_kernels(parser)
    add_device(parser)
    parser.set_defaults(run=run)
