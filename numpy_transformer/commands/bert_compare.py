"""`numpy-transformer bert-twin`: our BERT and its PyTorch twin trained side by side.

Same initial weights, same batches and masks, dropout 0, the same AdamW, warm-up + cosine
schedule and clipping; prints the largest loss difference over the steps and both times, and
draws both loss curves and their difference into one PNG.
"""
import dataclasses
import os

import numpy as np

from ._options import UsageError

DTYPES = {"float64": np.float64, "float32": np.float32}
TOLERANCE = {"float64": 1e-6, "float32": 1e-3}       # what the tests demand at every step


def run(args) -> int:
    from ..recipes import get_recipe
    from ..train.twin import compare_with_pytorch
    from ._options import _coerce
    recipe = get_recipe("bert-quotes")
    fields = {f.name: f for f in dataclasses.fields(recipe.config)}
    overrides = {}
    for item in args.set or []:
        key, _, text = item.partition("=")
        key = key.replace("-", "_")
        if key not in fields:
            raise UsageError(f"--set {key}: bert-quotes has no option '{key}'; options: {sorted(fields)}")
        overrides[key] = _coerce(fields[key], text)
    overrides.update(steps=args.steps, seed=args.seed)     # the twin trains without dropout
    overrides.setdefault("warmup_steps", max(1, args.steps // 4))   # warm-up, then cosine decay
    config = recipe.make_config(**overrides)
    names = list(DTYPES) if args.dtype == "both" else [args.dtype]
    results = {}
    for name in names:
        result = compare_with_pytorch(recipe, config, args.data_dir, dtype=DTYPES[name],
                                      pause=args.pause, progress=not args.no_progress)
        ours, theirs = result["numpy_transformer"], result["torch"]
        results[name] = {"losses_numpy": ours["losses"], "losses_torch": theirs["losses"]}
        diff = np.abs(np.subtract(ours["losses"], theirs["losses"]))
        worst = int(diff.argmax())
        ours, theirs = ours["train_seconds"], theirs["train_seconds"]
        print(f"{name}: {config.steps} steps, loss {results[name]['losses_numpy'][0]:.4f} -> "
              f"{results[name]['losses_numpy'][-1]:.4f}; max |loss difference| {diff.max():.3g} "
              f"(step {worst + 1}; tolerance {TOLERANCE[name]:g}); "
              f"numpy_transformer {ours:.1f} s, torch {theirs:.1f} s, ratio {ours / theirs:.2f}x",
              flush=True)
    plot_twin_curves(results, args.out, config)
    print(f"wrote {args.out}")
    return 0


def plot_twin_curves(results: dict, path: str, config) -> None:
    """Left: both loss curves per dtype; right: |difference| per step (log scale) and tolerances."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    colors = {"float64": "tab:blue", "float32": "tab:orange"}
    for name, result in results.items():
        steps = np.arange(1, len(result["losses_numpy"]) + 1)
        left.plot(steps, result["losses_numpy"], "-", color=colors[name], lw=2.2, alpha=0.6,
                  label=f"numpy_transformer {name}")
        left.plot(steps, result["losses_torch"], "--", color="black" if name == "float64" else
                  "tab:red", lw=0.9, label=f"torch {name}")
        diff = np.abs(np.subtract(result["losses_numpy"], result["losses_torch"]))
        exact = diff == 0                                  # equal to the last bit: at the floor
        right.semilogy(steps, np.where(exact, 1e-17, diff), ".", color=colors[name], ms=3,
                       label=f"{name} (exactly equal: at 1e-17)")
        right.axhline(TOLERANCE[name], color=colors[name], ls=":", lw=1,
                      label=f"{name} tolerance {TOLERANCE[name]:g}")
    left.set(xlabel="step", ylabel="masked-LM loss", title="BERT and its PyTorch twin")
    right.set(xlabel="step", title="|loss difference|")
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(f"bert-quotes, {config.depth} blocks, width {config.dim}, {config.heads} heads, "
                 f"batch {config.batch_size}, same weights, batches and masks", fontsize=9)
    fig.tight_layout()
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "bert-twin", help="train BERT and its PyTorch twin side by side; plot both loss curves")
    parser.add_argument("--steps", type=int, default=200, help="training steps of each twin")
    parser.add_argument("--dtype", choices=["float64", "float32", "both"], default="both",
                        help="the precision both twins train in")
    parser.add_argument("--seed", type=int, default=0, help="seed of the weights and batches")
    parser.add_argument("--out", default=os.path.join("runs", "bert-twin", "bert_twin_curves.png"),
                        help="the PNG to write")
    parser.add_argument("--pause", type=float, default=2.0,
                        help="seconds between the two libraries' runs (idle threads)")
    parser.add_argument("--set", action="append", metavar="KEY=VALUE",
                        help="a bert-quotes option (dropout is always 0)")
    parser.add_argument("--data-dir", help="folder with the data files (default: $NT_DATA_DIR "
                                           "or the cache)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(run=run)
