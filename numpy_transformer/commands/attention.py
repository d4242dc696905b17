"""`numpy-transformer attention CHECKPOINT`: plot a trained model's attention maps as a PNG.

Generic: the run's recipe draws them through its "attention" hook,
`hook(setup, out=..., count=..., text=..., data_dir=...)` (images for a ViT, a sentence for
a translation model)."""
from ._options import UsageError, add_data_dir, load_run


def recipes_with_attention():
    """Names of the recipes that have an "attention" hook."""
    from ..recipes import RECIPES
    return sorted(name for name, recipe in RECIPES.items() if "attention" in recipe.hooks)


def run(args) -> int:
    if args.count < 1:
        raise UsageError(f"--count must be at least 1, got {args.count}")
    recipe, _, setup, _ = load_run(args.checkpoint, args.data_dir)
    hook = recipe.hooks.get("attention")
    if hook is None:
        raise SystemExit(f"recipe '{recipe.name}' has no attention maps to draw; recipes that do: "
                         f"{', '.join(recipes_with_attention()) or 'none'}")
    written = hook(setup, out=args.out, count=args.count, text=args.text, data_dir=args.data_dir)
    print(f"wrote {written or args.out}")
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser("attention", help="plot the attention maps of a trained run")
    parser.add_argument("checkpoint", help="a checkpoint file or the run folder holding it")
    parser.add_argument("--out", default="attention.png",
                        help="PNG to write (default: attention.png)")
    parser.add_argument("--count", type=int, default=6, help="how many examples (default: 6)")
    parser.add_argument("--text", help="a sentence to attend over (text models)")
    add_data_dir(parser)
    parser.set_defaults(run=run)
