"""`numpy-transformer list`: the recipes, one line each."""


def run(args) -> int:
    from ..recipes import RECIPES
    width = max(len(name) for name in RECIPES)
    for name, recipe in sorted(RECIPES.items()):
        print(f"{name:<{width}}  {recipe.description}")
    return 0


def register(subparsers) -> None:
    subparsers.add_parser("list", help="the recipes, one line each").set_defaults(run=run)
