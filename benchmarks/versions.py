"""`python -m benchmarks.versions OTHER_TREE`: this checkout's code against another one's.

Each case's NumPy side runs twice, in a process started in this tree and in one started in
OTHER_TREE (so that each imports its own numpy_transformer and benchmark cases), the two taking
turns as the libraries do in `benchmarks.layers`. The ratio is this tree / the other: below 1,
this tree is faster. To measure the last commit's change:

    git worktree add ../before HEAD~1
    python -m benchmarks.versions ../before --filter "GPT train" --rounds 20

Machine noise hits both alike only when turns are short and many: use more rounds than for the
libraries (their difference is the bigger one).
"""
import argparse
import os
import statistics

from .harness import REPO, load_cases, machine_line, _rounds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("other", help="another checkout of this repository (e.g. a git worktree)")
    parser.add_argument("--filter", default="", help="only cases whose name contains this")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--pause", type=float, default=0.5, help="seconds between turns")
    parser.add_argument("--rounds", type=int, default=11, help="alternating rounds of each tree")
    args = parser.parse_args(argv)
    other = os.path.abspath(args.other)
    if not os.path.isdir(os.path.join(other, "benchmarks")):
        parser.error(f"{args.other} is not a checkout of this repository (no benchmarks/ in it)")
    sides = (("this", "numpy", REPO), ("other", "numpy", other))
    print(f"Machine before: {machine_line(args.threads)}\n", flush=True)
    print(f"| case | this tree (ms) | {args.other} (ms) | ratio | rounds 25-75% |")
    print("|---|---:|---:|---:|---:|")
    rows = []
    for name in load_cases():
        if args.filter not in name:
            continue
        runs = _rounds(name, args.rounds, args.threads, args.pause, sides)
        paired = sorted(a / b for a, b in zip(runs["this"], runs["other"]))
        quartiles = statistics.quantiles(paired, n=4) if len(paired) > 1 else paired * 3
        print(f"| {name} | {statistics.median(runs['this']) * 1e3:.2f} | "
              f"{statistics.median(runs['other']) * 1e3:.2f} | {statistics.median(paired):.3f}x | "
              f"{quartiles[0]:.3f}-{quartiles[-1]:.3f} |", flush=True)
        rows.append({"case": name, "this_s": runs["this"], "other_s": runs["other"],
                     "round_ratios": paired})
    print(f"\nMachine after: {machine_line(args.threads)}", flush=True)
    return rows


if __name__ == "__main__":
    main()
