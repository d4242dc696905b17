"""Timings that survive a busy machine: the minimum over repeats of each step's wall time and of
its process CPU time, each (case, library) in its own process with a given thread count.

On a shared machine the harness's medians are mostly noise; the minimum wall time at one thread
and the CPU time (which counts only this process's work, on every thread) are much steadier.

    python -m benchmarks.cputime --filter LayerNorm            # 1 thread, ours and torch
    python -m benchmarks.cputime --filter LayerNorm --threads 2 --lib numpy
    python -m benchmarks.cputime --filter LayerNorm --pool-only --threads 2 --lib numpy

--pool-only keeps OpenBLAS on one thread and also reports the main thread's CPU time: our own
threads (numpy_transformer/kernels/cpu/threads.py) block when idle, so the main thread's time is the
critical path of everything but the GEMMs, and the difference shows how much work the pool took.
"""
import argparse
import json
import os
import subprocess
import sys
import time

from .harness import load_cases, tune_cpu_as_the_cli_does


def measure(step, repeats: int, min_seconds: float):
    """(min wall, min process cpu, min main-thread cpu) seconds of step() after two warm-ups."""
    for _ in range(2):
        step()
    walls, cpus, mains, start = [], [], [], time.perf_counter()
    while len(walls) < repeats or time.perf_counter() - start < min_seconds:
        w0, c0, m0 = time.perf_counter(), time.process_time(), time.thread_time()
        step()
        mains.append(time.thread_time() - m0)
        cpus.append(time.process_time() - c0)
        walls.append(time.perf_counter() - w0)
    return min(walls), min(cpus), min(mains)


def _child(name, lib, repeats, min_seconds):
    if lib == "torch":
        import torch
        torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    else:
        tune_cpu_as_the_cli_does()
    fn, _ = load_cases()[name]
    wall, cpu, main = measure(fn(lib), repeats, min_seconds)
    print(json.dumps({"wall": wall, "cpu": cpu, "main": main}))


def run_one(name, lib, threads, repeats, min_seconds, pool_only=False):
    blas = 1 if pool_only else threads
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(blas),
               MKL_NUM_THREADS=str(blas))
    out = subprocess.run([sys.executable, "-m", "benchmarks.cputime", "--one", name, "--lib", lib,
                          "--repeats", str(repeats), "--min-seconds", str(min_seconds)],
                         env=env, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"{name!r} ({lib}) failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--filter", default="")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--lib", choices=("numpy", "torch", "both"), default="both")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--min-seconds", type=float, default=2.0)
    parser.add_argument("--pool-only", action="store_true",
                        help="OpenBLAS on one thread; also report the main thread's CPU time")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        return _child(args.one, args.lib, args.repeats, args.min_seconds)
    libs = ("numpy", "torch") if args.lib == "both" else (args.lib,)
    what = "wall / cpu / main-thread cpu" if args.pool_only else "wall / cpu"
    print("| case | threads | " + " | ".join(f"{lib} {what} (ms)" for lib in libs)
          + (" | ratio wall / cpu |" if len(libs) == 2 else " |"))
    for name in load_cases():
        if args.filter not in name:
            continue
        got = [run_one(name, lib, args.threads, args.repeats, args.min_seconds, args.pool_only)
               for lib in libs]
        cells = [f"{g['wall'] * 1e3:.2f} / {g['cpu'] * 1e3:.2f}"
                 + (f" / {g['main'] * 1e3:.2f}" if args.pool_only else "") for g in got]
        if len(got) == 2:
            cells.append(f"{got[0]['wall'] / got[1]['wall']:.2f}x / {got[0]['cpu'] / got[1]['cpu']:.2f}x")
        print(f"| {name} | {args.threads} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
