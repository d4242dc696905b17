"""Ranks against threads on this machine, the all-reduce's cost, and a model of many machines.

    python -m benchmarks.distributed                     # prints the tables
    python -m benchmarks.distributed --json docs/results/distributed.json --write docs/distributed.md
    python -m benchmarks.distributed --from-json docs/results/distributed.json --write docs/distributed.md

1. Throughput: `numpy-transformer train RECIPE --steps N` as one process on every core and as
   `--nproc` ranks of one thread each, taking turns for `--rounds` rounds; the median seconds
   per training step of each (the CLI's own `train_seconds`), and their ratio.
2. The all-reduce: per step, the time spent packing and starting buckets and the time left
   waiting after backward (the ranks' own counters), against the time the same buckets take to
   all-reduce alone (from the probe's fit): the share of it that backward hid.
3. The probe (benchmarks.mpi_probe on 2 ranks): latency and bandwidth, and all-reduce times by
   size, fitted to the ring's cost 2(p-1) alpha + 2(p-1)/p n beta.
4. GPT-2 124M at 8, 64 and 512 ranks: the step time and scaling efficiency that the fit and this
   machine's measured FLOP/s per rank predict, with the ring all-reduce in 25 MiB buckets.
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile

from benchmarks.harness import REPO, gemm_speeds, probe_text

RECIPES = ("gpt-shakespeare", "vit-mnist")
GPT2_PARAMS = 124_439_808                 # GPT-2 small, tied embeddings
BUCKET_BYTES = 25 << 20
RANKS = (8, 64, 512)
SEQUENCE = 1024                           # GPT-2's context
GPU_SPEEDUP = 100                         # a rank computing 100x faster: an accelerator each
NETWORKS = {                              # (alpha seconds, bytes per second); the first measured
    "10 GbE (assumed: 25 us, 1.25 GB/s)": (25e-6, 1.25e9),
    "InfiniBand HDR (assumed: 2 us, 25 GB/s)": (2e-6, 25e9),
}


def shared_data() -> str:
    return os.environ.get("NT_SHARED_DATA", os.path.join(os.path.dirname(REPO), "shared", "data"))


def train_once(recipe: str, steps: int, nproc: int) -> dict:
    """One run's result.json, its parameter count added."""
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "numpy_transformer", "train", recipe, "--steps", str(steps),
                   "--out", out, "--no-progress", "--data-dir", shared_data(),
                   "--set", "eval_every=100000", "--nproc", str(nproc)]
        subprocess.run(command, cwd=REPO, check=True, capture_output=True, text=True)
        with open(os.path.join(out, "result.json")) as handle:
            result = json.load(handle)
        from numpy_transformer.train import load_checkpoint
        modules = load_checkpoint(os.path.join(out, "checkpoint.safetensors")).modules
        result["parameters"] = sum(v.size for state in modules.values() for k, v in state.items()
                                   if not k.endswith(("running_mean", "running_var", "tracked")))
    return result


def throughput(recipe: str, steps: int, nproc: int, rounds: int) -> dict:
    """Seconds per step, one process on every core against `nproc` one-thread ranks, in turns."""
    runs = {"process": [], "ranks": []}
    for _ in range(rounds):
        runs["process"].append(train_once(recipe, steps, 1))
        runs["ranks"].append(train_once(recipe, steps, nproc))
    per_step = {k: statistics.median(r["train_seconds"] / r["step"] for r in v)
                for k, v in runs.items()}
    waits = {key: statistics.median(r["all_reduce_ms_per_step"][key] for r in runs["ranks"])
             for key in ("sending", "exposed", "skew")}
    config = runs["process"][0]["config"]
    return {"recipe": recipe, "steps": steps, "nproc": nproc,
            "batch": config["batch_size"], "tokens": config.get("block_size"),
            "parameters": runs["process"][0]["parameters"],
            "process_s": per_step["process"], "ranks_s": per_step["ranks"],
            "ratio": per_step["process"] / per_step["ranks"], "all_reduce_ms": waits}


def probe(nproc: int = 2) -> dict:
    from numpy_transformer.distributed.launch import mpiexec
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    out = subprocess.run([mpiexec(), "-n", str(nproc), sys.executable, "-m", "benchmarks.mpi_probe"],
                         cwd=REPO, env=env, check=True, capture_output=True, text=True).stdout
    found = json.loads(out.strip().splitlines()[-1])
    found["allreduce_s"] = {int(k): v for k, v in found["allreduce_s"].items()}
    return found


def ring_fit(measured: dict) -> tuple:
    """(alpha, beta) of T(n) = 2(p-1) alpha + 2(p-1)/p n beta from 2 ranks' all-reduce times:
    alpha from the smallest message, beta from the largest no bigger than a bucket (what the
    gradients are all-reduced in)."""
    p = measured["ranks"]
    times = measured["allreduce_s"]
    small, large = min(times), max(n for n in times if n <= BUCKET_BYTES)
    alpha = times[small] / (2 * (p - 1))
    beta = (times[large] - 2 * (p - 1) * alpha) / (2 * (p - 1) / p * large)
    return alpha, beta


def ring_seconds(nbytes: float, p: int, alpha: float, beta: float, bucket: int = BUCKET_BYTES):
    """A ring all-reduce of `nbytes` in buckets over p ranks."""
    buckets = math.ceil(nbytes / bucket)
    return buckets * 2 * (p - 1) * alpha + 2 * (p - 1) / p * nbytes * beta


def gpt2_table(flops_per_rank: float, alpha: float, beta: float, overlap: float) -> list:
    """Rows (network, scaling, p, sequences per rank, compute s, all-reduce s, step s,
    efficiency, efficiency with compute GPU_SPEEDUP times faster) for GPT-2 124M: weak scaling (8 sequences per rank) and strong scaling (a global
    batch of 512 sequences, about 0.5M tokens)."""
    rows = []
    networks = {f"loopback here (measured: {alpha * 1e6:.1f} us, {1 / beta / 1e9:.1f} GB/s)":
                (alpha, beta), **{k: (a, 1 / b) for k, (a, b) in NETWORKS.items()}}
    for network, (a, b) in networks.items():
        for scaling in ("weak", "strong"):
            for p in RANKS:
                sequences = 8 if scaling == "weak" else max(1, 512 // p)
                compute = 6 * GPT2_PARAMS * sequences * SEQUENCE / flops_per_rank
                reduce = ring_seconds(4 * GPT2_PARAMS, p, a, b)
                step = compute + (1 - overlap) * reduce
                fast = compute / GPU_SPEEDUP
                rows.append([network, scaling, p, sequences, compute, reduce, step, compute / step,
                             fast / (fast + (1 - overlap) * reduce)])
    return rows


def measure(args) -> dict:
    record = {"command": "python -m benchmarks.distributed", "rounds": args.rounds,
              "probe_before": gemm_speeds(args.threads)}
    from numpy_transformer.io import provenance
    record.update(provenance(args.threads))
    record["mpi"] = probe()
    record["rows"] = [throughput(recipe, args.steps, args.threads, args.rounds)
                      for recipe in args.recipes]
    record["probe_after"] = gemm_speeds(args.threads)
    return record


def report(record: dict) -> str:
    """The Markdown of a record: provenance, throughput, all-reduce, probe and the model."""
    from numpy_transformer.io import markdown_table
    mpi = record["mpi"]
    alpha, beta = ring_fit(mpi)
    lines = [f"`{record['command']}`, {record['date']}, commit `{record['commit']}`, "
             f"{record['machine']}, {record['rounds']} rounds. GEMM "
             f"probe before: {probe_text(record['probe_before'], record['threads'])}; after: "
             f"{probe_text(record['probe_after'], record['threads'])}.", ""]
    rows = [[r["recipe"], f"{r['process_s'] * 1e3:.1f}", f"{r['ranks_s'] * 1e3:.1f}",
             f"{r['ratio']:.2f}"] for r in record["rows"]]
    lines += ["**Ranks against threads** (ms per training step, median; ratio = one process's "
              "time / the ranks' time, goal >= 0.9):", "",
              markdown_table(["recipe", f"1 process x {record['threads']} threads",
                              f"{record['threads']} ranks x 1 thread", "ratio"], rows, "lrrr"), ""]
    rows, overlaps = [], []
    for r in record["rows"]:
        alone = ring_seconds(4 * r["parameters"], mpi["ranks"], alpha, beta) * 1e3
        timing = r["all_reduce_ms"]
        hidden = max(0.0, min(1.0, 1 - timing["exposed"] / alone)) if alone else 0.0
        overlaps.append(hidden)
        rows.append([r["recipe"], f"{r['parameters']:,}",
                     math.ceil(4 * r["parameters"] / BUCKET_BYTES), f"{alone:.2f}",
                     f"{timing['sending']:.2f}", f"{timing['exposed']:.2f}",
                     f"{timing['skew']:.2f}", f"{hidden:.0%}",
                     f"{timing['exposed'] / (r['ranks_s'] * 1e3):.1%}"])
    lines += ["**The all-reduce per step** (ms, 2 ranks, steps after the first: the gradients' "
              "all-reduce alone, from the fit below; packing and starting the buckets; exposed: "
              "what the rank arriving last waited after its backward; skew: how much earlier the "
              "other arrived; the share of the all-reduce that backward hid; exposed time's share "
              "of the step):", "",
              markdown_table(["recipe", "parameters", "buckets", "all-reduce alone", "sending",
                              "exposed", "skew", "hidden", "of the step"], rows, "lrrrrrrrr"), ""]
    rows = [[f"{size:,}", f"{seconds * 1e6:.1f}",
             f"{size / seconds / 1e9:.2f}" if size >= 1 << 20 else ""]
            for size, seconds in sorted(mpi["allreduce_s"].items())]
    lines += [f"**The probe** (`mpiexec -n 2 python -m benchmarks.mpi_probe`): latency "
              f"{mpi['latency_us']:.1f} us, bandwidth {mpi['bandwidth_gbs']:.1f} GB/s one way; "
              f"ring fit alpha = {alpha * 1e6:.2f} us, 1/beta = {1 / beta / 1e9:.2f} GB/s.", "",
              markdown_table(["all-reduce bytes", "us", "GB/s"], rows, "rrr"), ""]
    gpt = next(r for r in record["rows"] if r["recipe"].startswith("gpt"))
    flops = 6 * gpt["parameters"] * gpt["batch"] * gpt["tokens"] / gpt["nproc"] / gpt["ranks_s"]
    overlap = overlaps[record["rows"].index(gpt)]
    rows = [[n, s, p, q, f"{c:.1f}", f"{r:.2f}", f"{t:.1f}", f"{e:.1%}", f"{g:.1%}"]
            for n, s, p, q, c, r, t, e, g in gpt2_table(flops, alpha, beta, overlap)]
    lines += [f"**GPT-2 124M, predicted**: {4 * GPT2_PARAMS / 1e6:.0f} MB of float32 gradients "
              f"in {math.ceil(4 * GPT2_PARAMS / BUCKET_BYTES)} buckets; compute at "
              f"{flops / 1e9:.1f} GFLOP/s per rank (6 x parameters x tokens, the GPT recipe's rate "
              f"per one-thread rank here); {overlap:.0%} of the all-reduce hidden, as measured.", "",
              markdown_table(["network", "scaling", "ranks", "sequences per rank", "compute s",
                              "all-reduce s", "step s", "efficiency",
                              f"efficiency at {GPU_SPEEDUP}x compute"], rows, "llrrrrrrr")]
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES))
    parser.add_argument("--steps", type=int, default=40, help="training steps per run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                        help="the cores: one process's threads, and the number of ranks")
    parser.add_argument("--json", metavar="FILE", help="save the record as JSON")
    parser.add_argument("--write", metavar="FILE", help="rewrite its block in a Markdown file")
    parser.add_argument("--from-json", metavar="FILE", help="measure nothing: report a record")
    args = parser.parse_args(argv)
    if args.from_json:
        with open(args.from_json) as handle:
            record = json.load(handle)
        record["mpi"]["allreduce_s"] = {int(k): v for k, v in record["mpi"]["allreduce_s"].items()}
    else:
        record = measure(args)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(record, handle, indent=1)
    text = report(record)
    print(text)
    if args.write:
        from numpy_transformer.io import replace_block
        replace_block(args.write, record["command"], text, heading="## Measured")


if __name__ == "__main__":
    main()
