"""Side-by-side timing: each library runs a case in its own process; prints medians and ratios.

A case is a function `case(lib)` registered with `@case("name")`; given "numpy" or "torch" it
builds its inputs and returns a zero-argument step (forward + backward) to time.
Cases live in benchmarks/cases/*.py.

    python -m benchmarks.layers                   # every case, markdown table
    python -m benchmarks.layers --filter Conv2d   # cases whose name contains Conv2d
    python -m benchmarks.layers --rounds 9        # 9 alternating rounds of each library per case
    python -m benchmarks.layers --kernels reference   # our side on the reference math

Our side runs as the command line does: the kernel set NT_KERNELS names (fast unless
--kernels says otherwise), after `kernels.tune_cpu()`.

The machine is noisy (another tenant taking a core, CPU boost): the same case moves by up to 30%
between runs, and the host's share drifts over seconds. So each library's process builds and
warms up the case once, then the two take turns, ours then torch, for `--rounds` short rounds
(at least `ROUND_STEPS` steps and `ROUND_SECONDS` each, a pause between turns so that one
library's spinning threads have gone to sleep before the other starts). The table gives the
median of each library's rounds; the ratio is that of the medians, and "rounds" the lowest and
highest ratio of one round's pair: how far one turn can stray. Before and after the table a line
gives the speed of a 1024^3 float32 product on one thread and on all of them: when the host
lends the VM less than its cores, the second number falls towards the first.
"""
import argparse
import importlib
import json
import os
import pkgutil
import statistics
import subprocess
import sys
import tempfile
import time

CASES = {}
RECIPE_OF = {}
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def case(name: str, target: float = None, recipe: str = None):
    """Register a benchmark case; `target` is the ratio ours/torch we aim at (for the table),
    `recipe` the recipe whose training step the case is."""
    def register(fn):
        CASES[name] = (fn, target)
        RECIPE_OF[name] = recipe
        return fn
    return register


def load_cases():
    from . import cases
    for module in pkgutil.iter_modules(cases.__path__):
        importlib.import_module(f"{cases.__name__}.{module.name}")
    return CASES


def time_step(step, warmup: int = 3, min_repeats: int = 10, min_seconds: float = 2.0) -> float:
    """Median seconds of `step()` after warm-up, over at least `min_repeats` runs and `min_seconds`."""
    for _ in range(warmup):
        step()
    times, start = [], time.perf_counter()
    while len(times) < min_repeats or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


ROUND_STEPS, ROUND_SECONDS = 5, 1.0


class _Library:
    """One library's process for one case: the case is built and warmed up once, then timed
    for a round whenever asked (so neither library's threads disturb the other's)."""

    def __init__(self, name: str, lib: str, threads: int, tree: str = REPO, kernels: str = None):
        env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
                   MKL_NUM_THREADS=str(threads))
        if kernels:
            env["NT_KERNELS"] = kernels
        self.name, self.lib = name, lib
        self.errors = tempfile.TemporaryFile("w+")
        self.process = subprocess.Popen(      # run from `tree`: its numpy_transformer is imported
            [sys.executable, "-m", "benchmarks.layers", "--serve", name, "--lib", lib], env=env,
            cwd=tree, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.errors, text=True)
        self.flops = self._reply().get("flops")         # ready: built and warmed up

    def round(self) -> float:
        """Median seconds of a step over one round (ROUND_STEPS steps and ROUND_SECONDS at least)."""
        self.process.stdin.write(f"{ROUND_SECONDS}\n")
        self.process.stdin.flush()
        return self._reply()["seconds"]

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait()
        self.errors.close()

    def _reply(self) -> dict:
        line = self.process.stdout.readline()
        if not line:
            self.process.wait()
            self.errors.seek(0)
            raise RuntimeError(f"benchmark {self.name!r} ({self.lib}) failed:\n{self.errors.read()}")
        return json.loads(line)


def build_step(name: str, lib: str):
    """Case `name`'s step for `lib`, in a process set up as that library runs: torch on
    OMP_NUM_THREADS threads, ours with the CLI's CPU settings."""
    if lib == "torch":
        import torch
        torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    else:
        tune_cpu_as_the_cli_does()
    fn, _ = load_cases()[name]
    return fn(lib)


def _serve(name: str, lib: str) -> None:
    """The child: build the case, warm up, then time a round per line read from stdin (its
    minimum seconds).

    Replies go to the real stdout; anything the case prints goes to stderr."""
    replies, sys.stdout = sys.stdout, sys.stderr
    step = build_step(name, lib)
    for _ in range(3):
        step()
    print(json.dumps({"ready": True, "flops": model_flops(step) if lib == "torch" else None}),
          file=replies, flush=True)
    for line in sys.stdin:
        seconds = time_step(step, warmup=0, min_repeats=ROUND_STEPS, min_seconds=float(line))
        print(json.dumps({"seconds": seconds}), file=replies, flush=True)


def model_flops(step) -> int:
    """The FLOPs of one step of a torch case: its products and convolutions, forward and
    backward, as torch.utils.flop_counter counts them (the same for our twin of the model), plus
    the step's `uncounted_flops` (what the counter does not see, e.g. an LSTM)."""
    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as counter:
        step()
    return int(counter.get_total_flops()) + getattr(step, "uncounted_flops", 0)


def tune_cpu_as_the_cli_does() -> None:
    """Our process-wide CPU settings, made as the command line makes them."""
    import numpy_transformer as nt
    nt.kernels.tune_cpu()


LIBRARIES = (("numpy", "numpy", REPO), ("torch", "torch", REPO))   # (label, lib, tree)


def _rounds(name: str, rounds: int, threads: int, pause: float, sides=LIBRARIES,
            kernels: str = None, found: dict = None) -> dict:
    """{label: [median seconds of each round]}, the sides (label, lib, tree) taking turns;
    `found` gets the step's model FLOPs (counted on the torch side)."""
    libraries = [(label, _Library(name, lib, threads, tree, kernels))
                 for label, lib, tree in sides]
    if found is not None:
        found["flops"] = next((lib.flops for _, lib in libraries if lib.flops), None)
    try:
        times = {label: [] for label, _ in libraries}
        for _ in range(max(1, rounds)):
            for label, library in libraries:
                time.sleep(pause)
                times[label].append(library.round())
        return times
    finally:
        for _, library in libraries:
            library.close()


def _probe_child() -> None:
    import numpy as np
    a = np.random.default_rng(0).standard_normal((1024, 1024), dtype=np.float32)
    seconds = time_step(lambda: a @ a, min_repeats=10, min_seconds=0.5)
    print(json.dumps({"gflops": 2 * 1024 ** 3 / seconds / 1e9}))


def gemm_speeds(threads: int) -> list[float]:
    """GFLOP/s of a 1024^3 float32 product on 1 thread and on `threads`, each in a fresh process."""
    speeds = []
    for n in (1, threads):
        env = dict(os.environ, OMP_NUM_THREADS=str(n), OPENBLAS_NUM_THREADS=str(n))
        out = subprocess.run([sys.executable, "-m", "benchmarks.layers", "--probe"], env=env,
                             cwd=REPO, capture_output=True, text=True, check=True)
        speeds.append(round(json.loads(out.stdout.strip().splitlines()[-1])["gflops"], 1))
    return speeds


def probe_text(speeds: list[float], threads: int) -> str:
    return (f"1024^3 float32 product: {speeds[0]:.0f} GFLOP/s on 1 thread, {speeds[1]:.0f} on "
            f"{threads}")


def machine_line(threads: int) -> str:
    """'1024^3 float32 product: X GFLOP/s on 1 thread, Y on N'."""
    return probe_text(gemm_speeds(threads), threads)


def record_of(command: str, threads: int, kernels: str, rounds: int) -> dict:
    """The provenance a benchmark's JSON carries (date, commit, machine, versions)."""
    from importlib.metadata import version
    from numpy_transformer.io import provenance
    return {"command": command, **provenance(threads), "torch": version("torch"),
            "kernels": kernels, "rounds": rounds}


def record_heading(record: dict) -> str:
    """The lines above a written table: what ran, when, at which commit, on what."""
    runs = record.get("runs", [record])
    when = "; ".join(f"{run['date']}, commit `{run['commit']}`" for run in runs)
    labels = [f"Run {k + 1}, GEMM probe" for k in range(len(runs))] if len(runs) > 1 \
        else ["GEMM probe"]
    probes = "".join(f"\n{label} before: {probe_text(run['probe_before'], record['threads'])}; "
                     f"after: {probe_text(run['probe_after'], record['threads'])}."
                     for label, run in zip(labels, runs))
    median = f"the median of {len(runs)} runs: " if len(runs) > 1 else ""
    return (f"`{record['command']}`, {median}{when}; {record['machine']}, {record['threads']} "
            f"threads; NumPy {record['numpy']}, PyTorch {record['torch']}, our kernels: "
            f"{record['kernels']}.{probes}")


def median_record(records: list) -> dict:
    """One record of several runs of the same command: each case's times and ratio are the
    median of the runs' (the ratio of their ratios), its rounds all runs' rounds, `run_ratios`
    each run's ratio; `runs` keeps each run's date, commit and GEMM probes, and the MFU's
    ceiling is the median of all their probes."""
    commands = {record["command"] for record in records}
    if len(commands) > 1:
        raise ValueError(f"the records are of different commands: {sorted(commands)}")
    rows = []
    for row in records[0]["rows"]:
        same = [next((r for r in record["rows"] if r["case"] == row["case"]), None)
                for record in records]
        if None in same:
            continue                                    # a case some run did not time
        rows.append({**row, "numpy_s": statistics.median(r["numpy_s"] for r in same),
                     "torch_s": statistics.median(r["torch_s"] for r in same),
                     "ratio": statistics.median(r["ratio"] for r in same),
                     "round_ratios": [x for r in same for x in r["round_ratios"]],
                     "run_ratios": [r["ratio"] for r in same]})
    runs = [{key: record[key] for key in ("date", "commit", "probe_before", "probe_after")}
            for record in records]
    probes = [run[key] for run in runs for key in ("probe_before", "probe_after")]
    ceiling = [statistics.median(probe[i] for probe in probes) for i in (0, 1)]   # for the MFU
    return {**records[0], "rows": rows, "runs": runs, "probe_before": ceiling}


def layers_table(record: dict) -> str:
    """The Markdown table of a benchmarks.layers record (with model FLOP utilisation against
    the GEMM probe's all-thread speed, where the record counted FLOPs)."""
    from numpy_transformer.io import markdown_table
    mfu = any(row.get("gflop") for row in record["rows"])
    runs = "runs" in record                             # a median of several runs
    ceiling = record["probe_before"][1]                     # GFLOP/s of a big product, N threads
    rows = [[row["case"], f"{row['numpy_s'] * 1e3:.2f}", f"{row['torch_s'] * 1e3:.2f}",
             f"{row['ratio']:.2f}x"]
            + ([", ".join(f"{r:.2f}x" for r in row["run_ratios"])] if runs else [])
            + [f"{min(row['round_ratios']):.2f}-{max(row['round_ratios']):.2f}",
               f"<= {row['target']}" if row["target"] else ""]
            + ([f"{row['gflop']:.2f}", f"{row['gflop'] / row['numpy_s'] / ceiling:.0%}",
                f"{row['gflop'] / row['torch_s'] / ceiling:.0%}"] if mfu and row.get("gflop")
               else ["", "", ""] if mfu else [])
            for row in record["rows"]]
    header = (["case", "numpy_transformer (ms)", "torch (ms)", "ratio"] + ["each run"] * runs
              + ["rounds", "target"])
    if mfu:
        header += ["GFLOP per step", "MFU ours", "MFU torch"]
    return markdown_table(header, rows, "lrrr" + "r" * runs + "rr" + "rrr" * mfu)


def write_outputs(record: dict, json_path: str = None, markdown_path: str = None) -> None:
    """Save the record as JSON and/or rewrite its block (named by its command) in a Markdown file."""
    if json_path:
        os.makedirs(os.path.dirname(os.path.abspath(json_path)), exist_ok=True)
        with open(json_path, "w") as handle:
            json.dump(record, handle, indent=1)
    if markdown_path:
        from numpy_transformer.io import replace_block
        replace_block(markdown_path, record["command"],
                      record_heading(record) + "\n\n" + layers_table(record),
                      heading=f"## {record['command']}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--filter", default="", help="only cases whose name contains this")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--pause", type=float, default=0.5, help="seconds between turns")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds of each library per case")
    parser.add_argument("--kernels", choices=("reference", "fast"),
                        help="our kernel set (default: $NT_KERNELS, else fast)")
    parser.add_argument("--json", metavar="FILE", help="also save the results, with their "
                        "date, commit, machine and GEMM probe, as JSON")
    parser.add_argument("--write", metavar="FILE", help="rewrite this table's block (named by the "
                        "command) in a Markdown file, e.g. docs/performance.md")
    parser.add_argument("--from-json", metavar="FILE", nargs="+", help="time nothing: write the "
                        "table of a saved --json record (with --write); of several runs of one "
                        "command, the table of their medians (with --json: saved as one record)")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--lib", help=argparse.SUPPRESS)
    parser.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.probe:
        return _probe_child()
    if args.serve:
        return _serve(args.serve, args.lib)
    if args.from_json:
        records = []
        for path in args.from_json:
            with open(path) as handle:
                records.append(json.load(handle))
        record = records[0] if len(records) == 1 else median_record(records)
        write_outputs(record, args.json if len(records) > 1 else None, args.write)
        return record["rows"]
    rows = []
    kernels = args.kernels or os.environ.get("NT_KERNELS") or "fast"
    command = " ".join(["python -m benchmarks.layers", f"--rounds {args.rounds}"]
                       + ([f'--filter "{args.filter}"'] if args.filter else [])
                       + ([f"--kernels {args.kernels}"] if args.kernels else [])
                       + ([f"--threads {args.threads}"] if args.threads != 2 else []))
    probe_before = gemm_speeds(args.threads)
    print(f"Machine before: {probe_text(probe_before, args.threads)}\n"
          f"numpy_transformer's kernels: {kernels}\n", flush=True)
    print("| case | numpy_transformer (ms) | torch (ms) | ratio | rounds | target |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, (_, target) in load_cases().items():
        if args.filter not in name:
            continue
        found = {}
        runs = _rounds(name, args.rounds, args.threads, args.pause, kernels=args.kernels,
                       found=found)
        ours, theirs = statistics.median(runs["numpy"]), statistics.median(runs["torch"])
        ratio = ours / theirs
        paired = [a / b for a, b in zip(runs["numpy"], runs["torch"])]    # one round's pair each
        goal = f"<= {target}" if target else ""
        print(f"| {name} | {ours * 1e3:.2f} | {theirs * 1e3:.2f} | {ratio:.2f}x | "
              f"{min(paired):.2f}-{max(paired):.2f} | {goal} |", flush=True)
        rows.append({"case": name, "recipe": RECIPE_OF.get(name), "numpy_s": ours,
                     "torch_s": theirs, "ratio": ratio, "round_ratios": paired, "target": target,
                     "gflop": found["flops"] / 1e9 if found.get("flops") else None})
    probe_after = gemm_speeds(args.threads)
    print(f"\nMachine after: {probe_text(probe_after, args.threads)}", flush=True)
    if args.json or args.write:
        record = {**record_of(command, args.threads, kernels, args.rounds),
                  "probe_before": probe_before, "probe_after": probe_after, "rows": rows}
        write_outputs(record, args.json, args.write)
    return rows

