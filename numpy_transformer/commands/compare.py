"""`numpy-transformer compare RECIPE`: ours and the PyTorch twin, same weights, same batches."""
import numpy as np

from ._options import add_recipe_options, recipe_and_config


def run(args) -> int:
    from ..train import twin
    recipe, config = recipe_and_config(args)
    result = twin.compare_with_pytorch(recipe, config, args.data_dir, progress=not args.no_progress)
    ours, theirs = result["numpy_transformer"], result["torch"]
    print(f"{recipe.name}: {result['steps']} steps, same initial weights, same batches")
    metrics = result["metrics"]                          # what the recipe's twin reports
    header = "".join(f"{m.replace('_', ' '):>14}" for m in metrics)
    print(f"{'':<18}{header}{'train seconds':>15}")
    for name, r in (("numpy_transformer", ours), ("torch", theirs)):
        values = "".join(f"{r[m]:>14.4f}" for m in metrics)
        print(f"{name:<18}{values}{r['train_seconds']:>15.1f}")
    print(f"time ratio numpy_transformer / torch: {ours['train_seconds'] / theirs['train_seconds']:.2f}x")
    if result.get("chunk_ratios"):                       # the libraries took turns
        ratios = np.sort(result["chunk_ratios"])
        low, high = np.quantile(ratios, [0.1, 0.9])
        print(f"  in {len(ratios)} turns each: median {np.median(ratios):.2f}x, "
              f"10-90% {low:.2f}x to {high:.2f}x, all {ratios[0]:.2f}x to {ratios[-1]:.2f}x")
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser("compare", help="train a recipe and its PyTorch twin side by side",
                                   add_help=False)
    add_recipe_options(parser)
    parser.set_defaults(run=run)
