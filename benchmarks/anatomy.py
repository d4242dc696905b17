"""`python -m benchmarks.anatomy`: where a training step's CPU time goes, ours and PyTorch's.

    python -m benchmarks.anatomy --filter "GPT train step"
    python -m benchmarks.anatomy --json docs/results/anatomy.json --write docs/performance.md

Each library runs the case in its own process under Linux `perf record` (sampling 999 times a
second on every thread), switched on only while the warmed-up step runs for `--seconds`. Each
sample is put in a part by the library and function it landed in:

    products        BLAS matrix products (OpenBLAS for NumPy; MKL inside libtorch) and
                    oneDNN's generated code (PyTorch's convolutions and LSTM: their products)
    compiled        our Numba kernels (generated code, so for us "JIT" means Numba)
    elementwise     NumPy's or ATen's own loops: ufuncs, reductions, copies
    python          the interpreter
    waiting         threads spinning or sleeping for work (OpenMP, OpenBLAS, futexes)
    system          the kernel: page faults, scheduling
    other           the rest

A part's milliseconds per step are its share of the samples times the CPU time per step. The
products' line also gives their floor: the step's FLOPs (torch's flop counter) at the GEMM
probe's speed on all threads, the time they would take at the speed of a 1024^3 product.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

from .harness import (REPO, build_step, gemm_speeds, load_cases, model_flops, probe_text,
                      record_of)

PARTS = ("products", "compiled", "elementwise", "python", "waiting", "system", "other")
SAMPLE_LINE = re.compile(r"^\s*([\d.]+)%\s+(\S+(?: \S+)*?)\s+\[[.k]\]\s+(.*)$")


def part_of(dso: str, symbol: str, lib: str) -> str:
    """The part of a sample in shared object `dso`, function `symbol`, in `lib`'s process."""
    if dso.startswith("[kernel") or "[k]" in symbol:
        return "system"
    if re.search(r"thread_server|sched_yield|gomp_|kmp_|__kmp|futex|pthread_cond", symbol):
        return "waiting"
    if "libgomp" in dso or "libiomp" in dso:
        return "waiting"
    if "openblas" in dso:
        return "products"
    if "libtorch" in dso and re.search(r"mkl_blas|gemm|dnnl|brgemm", symbol, re.I):
        return "products"
    if dso.startswith(("[unknown]", "[JIT]", "perf-", "[anon")):
        return "products" if lib == "torch" else "compiled"   # oneDNN's code, or Numba's
    if "multiarray" in dso or "umath" in dso or "libtorch" in dso or "libc" in dso \
            or "libm" in dso or "libc10" in dso:
        return "elementwise"
    if "libpython" in dso or dso.startswith("python") or "_dispatcher" in dso:
        return "python"                                       # (Numba's call overhead too)
    return "other"


def _serve(name: str, lib: str, seconds: float, control: str, ack: str) -> None:
    """The child: build and warm up the case, switch perf on, run steps for `seconds`, switch it
    off; print {"steps", "wall", "cpu"} (seconds)."""
    replies, sys.stdout = sys.stdout, sys.stderr
    step = build_step(name, lib)
    started = time.perf_counter()
    while time.perf_counter() - started < 1.0:                # warm-up: caches, threads, JIT
        step()
    flops = model_flops(step) if lib == "torch" else None
    with open(control, "w") as ctl, open(ack) as acknowledged:
        ctl.write("enable\n")
        ctl.flush()
        acknowledged.readline()
        cpu0, wall0, steps = time.process_time(), time.perf_counter(), 0
        while time.perf_counter() - wall0 < seconds:
            step()
            steps += 1
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        ctl.write("disable\n")
        ctl.flush()
        acknowledged.readline()
    print(json.dumps({"steps": steps, "wall": wall, "cpu": cpu, "flops": flops}), file=replies)


def profile(name: str, lib: str, seconds: float, threads: int) -> dict:
    """{"ms_per_step", "cpu_ms_per_step", "parts": {part: CPU ms per step}, "flops"} of one
    library's process."""
    with tempfile.TemporaryDirectory() as folder:
        control, ack, data = (os.path.join(folder, f) for f in ("ctl", "ack", "perf.data"))
        os.mkfifo(control)
        os.mkfifo(ack)
        env = dict(os.environ, OMP_NUM_THREADS=str(threads))
        command = ["perf", "record", "-F", "999", "-D", "-1", "--control",
                   f"fifo:{control},{ack}", "-o", data, "--", sys.executable, "-m",
                   "benchmarks.anatomy", "--serve", name, lib, "--seconds", str(seconds),
                   "--control-fifo", control, "--ack-fifo", ack]
        run = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
        if run.returncode != 0:
            raise RuntimeError(f"{name} ({lib}) failed:\n{run.stderr[-3000:]}")
        measured = json.loads(run.stdout.strip().splitlines()[-1])
        report = subprocess.run(["perf", "report", "-i", data, "--sort", "dso,sym", "--stdio",
                                 "--no-children"], capture_output=True, text=True).stdout
    shares = dict.fromkeys(PARTS, 0.0)
    for line in report.splitlines():
        match = SAMPLE_LINE.match(line)
        if match:
            percent, dso, symbol = match.groups()
            shares[part_of(dso.strip(), symbol, lib)] += float(percent) / 100
    cpu_ms = 1e3 * measured["cpu"] / measured["steps"]
    return {"ms_per_step": 1e3 * measured["wall"] / measured["steps"],
            "cpu_ms_per_step": cpu_ms, "flops": measured["flops"],
            "parts": {part: share * cpu_ms for part, share in shares.items()}}


def table(rows: list, gflops: float) -> str:
    """A markdown table: per case and library, the step and its parts in ms."""
    from numpy_transformer.io import markdown_table
    header = ["case", "library", "step (ms)", "CPU (ms)", *PARTS, "products at the probe's speed"]
    lines = []
    for row in rows:
        floor = f"{row['flops'] / gflops / 1e6:.1f}" if row.get("flops") else ""
        for lib in ("numpy", "torch"):
            side = row[lib]
            lines.append([row["case"] if lib == "numpy" else "", lib, f"{side['ms_per_step']:.1f}",
                          f"{side['cpu_ms_per_step']:.1f}",
                          *(f"{side['parts'][p]:.1f}" for p in PARTS), floor if lib == "numpy" else ""])
    return markdown_table(header, lines, "ll" + "r" * (len(header) - 2))


def write(record: dict, json_path: str = None, markdown_path: str = None) -> None:
    """Print the table; save the record as JSON and/or rewrite its block in a Markdown file."""
    from numpy_transformer.io import replace_block
    text = (f"`{record['command']}`, {record['date']}, commit `{record['commit']}`, "
            f"{record['machine']}, {record['threads']} threads; NumPy {record['numpy']}, PyTorch "
            f"{record['torch']}, our kernels: {record['kernels']}. GEMM probe: "
            f"{probe_text(record['probe'], record['threads'])}.\n\n"
            f"{table(record['rows'], record['probe'][1])}")
    print(text)
    if json_path:
        with open(json_path, "w") as handle:
            json.dump(record, handle, indent=1)
    if markdown_path:
        replace_block(markdown_path, record["command"], text, heading=f"## {record['command']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--filter", default="train step", help="cases whose name contains this")
    parser.add_argument("--seconds", type=float, default=6.0, help="sampled seconds per library")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", metavar="FILE", help="also save the figures, with their date, "
                        "commit and machine, as JSON")
    parser.add_argument("--write", metavar="FILE", help="rewrite this table's block in a "
                        "Markdown file, e.g. docs/performance.md")
    parser.add_argument("--from-json", metavar="FILE", help="sample nothing: write a saved record")
    parser.add_argument("--serve", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--control-fifo", help=argparse.SUPPRESS)
    parser.add_argument("--ack-fifo", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return _serve(*args.serve, args.seconds, args.control_fifo, args.ack_fifo)
    if args.from_json:
        with open(args.from_json) as handle:
            return write(json.load(handle), markdown_path=args.write)
    import numpy_transformer as nt
    command = "python -m benchmarks.anatomy" + (f' --filter "{args.filter}"'
                                                if args.filter != "train step" else "")
    kernels = nt.kernels.active() + (" + Numba" if nt.kernels.compiled.available() else "")
    record = {**record_of(command, args.threads, kernels, None),
              "probe": gemm_speeds(args.threads), "seconds": args.seconds, "rows": []}
    for name in [n for n in load_cases() if args.filter in n]:
        ours = profile(name, "numpy", args.seconds, args.threads)
        theirs = profile(name, "torch", args.seconds, args.threads)
        record["rows"].append({"case": name, "numpy": ours, "torch": theirs,
                               "flops": theirs["flops"]})
        print(f"{name}: ours {ours['ms_per_step']:.1f} ms, torch {theirs['ms_per_step']:.1f} ms",
              file=sys.stderr)
    write(record, args.json, args.write)


if __name__ == "__main__":
    main()
