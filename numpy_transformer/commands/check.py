"""`numpy-transformer check week-N [FILE]`: grade a curriculum exercise against PyTorch."""
import os
import sys


def run(args) -> int:
    from ..curriculum.grader import format_result, format_summary, week_checks, week_number
    from ..curriculum.runner import grade_file
    week = week_number(args.week)
    path = args.path or os.path.join("curriculum", f"week_{week}", "exercise.py")
    if not os.path.isfile(path):
        print(f"no exercise file at {path}: run this from the repository's root folder, or give "
              f"the path of your file (numpy-transformer check week-{week} PATH)", file=sys.stderr)
        return 2
    checks = week_checks(week)
    print(f"week {week}: checking {path} ({len(checks)} checks, each against PyTorch and finite "
          f"differences; time limit {args.time_limit:g} s per check)\n", flush=True)
    shown = []

    def show(result):
        if result["status"] == "error" and shown and result.get("detail") == shown[-1].get("detail") \
                and "could not be loaded" in result["detail"]:
            print(f"ERROR {result['check']}  (the same)", flush=True)
        else:
            print(format_result(result), flush=True)
        shown.append(result)

    try:
        results = grade_file(week, path, time_limit=args.time_limit, on_result=show,
                             on_output=lambda line: print(f"  | {line}", flush=True))
        print("\n" + format_summary(results), flush=True)
    except BrokenPipeError:                      # the reader left (| head): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return 0 if all(r["status"] == "pass" for r in results) else 1


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "check", help="grade a curriculum exercise (week-1 .. week-6) against PyTorch",
        description="Grade your exercise file: each function against PyTorch and finite "
                    "differences, in a separate process with a time limit per check.")
    parser.add_argument("week", help="week-1 .. week-6")
    parser.add_argument("path", nargs="?",
                        help="your exercise file, .py or .ipynb (default: curriculum/week_N/exercise.py)")
    parser.add_argument("--time-limit", type=float, default=30.0, metavar="SECONDS",
                        help="stop a check that runs longer than this (default 30)")
    parser.set_defaults(run=run)
