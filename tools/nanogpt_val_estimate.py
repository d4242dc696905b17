"""nanoGPT's validation estimate, drawn many times on one of our trained GPT runs.

nanoGPT's CPU run reports the val loss as the mean over `eval_iters` = 20 random batches of
12 x 64 windows. This draws that estimate `--draws` times (each from its own seed) and prints
its spread next to the loss on the whole validation split, to show how far a single
20-batch figure (such as nanoGPT's 1.88) can fall from the split's loss.

    python tools/nanogpt_val_estimate.py runs/gpt-shakespeare --draws 300
"""
import argparse

import numpy as np

from numpy_transformer.commands._options import load_run
from numpy_transformer.data import RandomBlocks, SplitWindows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="a gpt-shakespeare run folder (or its checkpoint)")
    parser.add_argument("--draws", type=int, default=300)
    parser.add_argument("--eval-iters", type=int, default=20, help="batches per estimate")
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args(argv)

    recipe, config, setup, _ = load_run(args.run, args.data_dir)
    if not hasattr(setup.eval_loader, "tokens"):
        parser.error(f"{args.run} is not a language-model run")
    val, task = setup.eval_loader.tokens, setup.task
    windows = config.batch_size * args.eval_iters            # one estimate: one forward pass
    estimates = np.array([
        task.evaluate(RandomBlocks(val, config.block_size, windows, batches_per_epoch=1,
                                   seed=draw, fixed=True))["loss"]
        for draw in range(args.draws)])
    whole = task.evaluate(SplitWindows(val, config.block_size, windows))["loss"]
    quantiles = np.quantile(estimates, [0.05, 0.25, 0.5, 0.75, 0.95])
    print(f"whole validation split ({len(val) - 1} targets): {whole:.4f}")
    print(f"{args.draws} estimates of {args.eval_iters} batches of {config.batch_size} x "
          f"{config.block_size}: mean {estimates.mean():.4f}, sd {estimates.std(ddof=1):.4f}, "
          f"min {estimates.min():.4f}, max {estimates.max():.4f}")
    print("quantiles 5/25/50/75/95%: " + " / ".join(f"{q:.4f}" for q in quantiles))
    for line in (1.88, 1.89):
        print(f"share of estimates <= {line}: {np.mean(estimates <= line):.2f}")


if __name__ == "__main__":
    main()
