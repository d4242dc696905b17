"""`numpy-transformer experiment week-N`: run a week's experiment, print its table, write its plot."""
import importlib
import time
from pathlib import Path


def run(args) -> int:
    from ..curriculum.grader import week_number
    week = week_number(args.week)
    out = Path(args.out or Path("runs") / f"week-{week}")
    out.mkdir(parents=True, exist_ok=True)
    module = importlib.import_module(f"numpy_transformer.curriculum.experiments.week_{week}")
    title = (module.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
    title = title.split(": ", 1)[-1]
    print(f"week {week} experiment{' (quick)' if args.quick else ''}: {title}\n", flush=True)
    started = time.perf_counter()
    module.run(out, quick=args.quick, data_dir=args.data_dir,
               log=lambda line="": print(line, flush=True))
    print(f"\ndone in {time.perf_counter() - started:.1f} s; output in {out}")
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "experiment", help="run a curriculum week's experiment (week-1 .. week-6)",
        description="Run the experiment of a curriculum week: prints a result table and writes "
                    "its plot (PNG) into --out.")
    parser.add_argument("week", help="week-1 .. week-6")
    parser.add_argument("--quick", action="store_true",
                        help="a tiny version that runs in seconds (a smoke test)")
    parser.add_argument("--out", help="folder for the plot (default: runs/week-N)")
    parser.add_argument("--data-dir", help="folder with the data files (default: $NT_DATA_DIR "
                                           "or the cache)")
    parser.set_defaults(run=run)
