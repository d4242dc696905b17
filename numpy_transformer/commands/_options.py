"""What several subcommands share: recipe options and loading a trained run."""
import dataclasses
import json
import os
import typing

CHECKPOINT_FILE = "checkpoint.safetensors"


def add_recipe_options(parser) -> None:
    """RECIPE plus the options every recipe has and `--set KEY=VALUE` for the rest."""
    parser.add_argument("recipe")
    parser.add_argument("--epochs", type=float)
    parser.add_argument("--steps", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--lr", type=float)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--eval-every", type=int)
    parser.add_argument("--checkpoint-every", type=int)
    parser.add_argument("--set", action="append", metavar="KEY=VALUE", help="any other recipe option")
    add_data_dir(parser)
    add_kernels(parser)
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def add_kernels(parser) -> None:
    parser.add_argument("--kernels", choices=["reference", "fast"],
                        help="run the textbook math (reference) or the tuned kernels (fast); "
                             "default: $NT_KERNELS, else fast")


def add_data_dir(parser) -> None:
    parser.add_argument("--data-dir", help="folder with the data files (default: $NT_DATA_DIR or the cache)")


def _coerce(field, text: str):
    """Parse `text` as the type of a config dataclass field (int, float, bool, str, or JSON)."""
    kind = field.type if not isinstance(field.type, str) else eval(field.type, vars(typing))
    if typing.get_origin(kind) is typing.Union:
        kind = next(a for a in typing.get_args(kind) if a is not type(None))
    if kind is bool:
        return text.lower() in ("1", "true", "yes", "on")
    if kind in (int, float, str):
        return kind(text)
    return json.loads(text)


def config_overrides(recipe, args) -> dict:
    """The options given on the command line, as config fields (unknown `--set` keys exit)."""
    values = {"epochs": args.epochs, "steps": args.steps, "batch_size": args.batch_size,
              "lr": args.lr, "seed": args.seed, "eval_every": args.eval_every,
              "checkpoint_every": args.checkpoint_every}
    fields = {f.name: f for f in dataclasses.fields(recipe.config)}
    for item in args.set or []:
        key, _, text = item.partition("=")
        key = key.replace("-", "_")
        if key not in fields:
            raise SystemExit(f"recipe '{recipe.name}' has no option '{key}'; options: {sorted(fields)}")
        values[key] = _coerce(fields[key], text)
    values = {k: v for k, v in values.items() if v is not None}
    if "steps" in values:
        values["epochs"] = None   # a step count replaces the default number of epochs
    return values


def checkpoint_path(path) -> str:
    """A checkpoint file, or the run folder holding checkpoint.safetensors."""
    return os.path.join(path, CHECKPOINT_FILE) if os.path.isdir(path) else path


def load_run(path, data_dir=None):
    """(recipe, config, setup, checkpoint) of a trained run, its weights loaded into the setup."""
    from ..recipes import get_recipe
    from ..train import load_checkpoint, restore
    checkpoint = load_checkpoint(checkpoint_path(path))
    recipe = get_recipe(checkpoint.state["recipe"])
    config = recipe.make_config(**checkpoint.state["config"])
    setup = recipe.build(config, data_dir)
    restore(checkpoint, setup.task.modules)
    return recipe, config, setup, checkpoint
