"""What several subcommands share: recipe options and loading a trained run."""
import argparse
import dataclasses
import json
import os
import typing

CHECKPOINT_FILE = "checkpoint.safetensors"


class UsageError(Exception):
    """A command-line value that cannot be used: the CLI prints it with the usage, exit code 2."""


class RecipeHelp(argparse.Action):
    """-h/--help that, after RECIPE, also lists that recipe's own options."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest, nargs=0, default=default, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        parser.print_help()
        name = getattr(namespace, "recipe", None)
        if name:
            from ..recipes import RECIPES
            if name in RECIPES:
                print(f"\n{recipe_options(RECIPES[name])}")
        parser.exit()


def recipe_options(recipe) -> str:
    """A recipe's options, `--set KEY=VALUE` each, with their types and defaults."""
    fields = dataclasses.fields(recipe.config)
    defaults = recipe.make_config()
    width = max(len(f.name) for f in fields)
    lines = [f"options of {recipe.name} (--set KEY=VALUE; the common ones also as --KEY):"]
    for f in fields:
        kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
        lines.append(f"  {f.name:<{width}}  {kind:<5}  default {getattr(defaults, f.name)!r}")
    return "\n".join(lines)


def add_recipe_options(parser) -> None:
    """RECIPE plus the options every recipe has and `--set KEY=VALUE` for the rest."""
    parser.add_argument("-h", "--help", action=RecipeHelp,
                        help="show this help (after RECIPE: with the recipe's own options)")
    parser.add_argument("recipe", help="a recipe name (numpy-transformer list)")
    common = "the recipe's default: see RECIPE --help"
    parser.add_argument("--epochs", type=float, help=f"epochs to train ({common})")
    parser.add_argument("--steps", type=int, help="steps to train, instead of epochs")
    parser.add_argument("--batch-size", type=int, help=f"examples per step ({common})")
    parser.add_argument("--lr", type=float, help=f"the (peak) learning rate ({common})")
    parser.add_argument("--seed", type=int, help="seed of the weights, the batches and dropout (0)")
    parser.add_argument("--eval-every", type=int, help="steps between evaluations (once an epoch)")
    parser.add_argument("--checkpoint-every", type=int,
                        help="steps between checkpoints (at each evaluation)")
    parser.add_argument("--set", action="append", metavar="KEY=VALUE",
                        help="any other recipe option (RECIPE --help lists them)")
    parser.add_argument("--data", metavar="PATH",
                        help="your own data: for the image recipes a folder of MNIST-named IDX "
                             "files, a .npz (x_train, y_train, x_test, y_test) or a folder of "
                             "train/<class>/ and test/<class>/ images; for the text recipes a "
                             "UTF-8 file or a folder of .txt files")
    add_data_dir(parser)
    add_kernels(parser)
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def add_kernels(parser) -> None:
    parser.add_argument("--kernels", choices=["reference", "fast"],
                        help="run the textbook math (reference) or the tuned kernels (fast); "
                             "default: $NT_KERNELS, else fast")


def add_device(parser) -> None:
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"],
                        help="where the model, its gradients and the batches live: cpu (NumPy) "
                             "or cuda (CuPy on an NVIDIA GPU: pip install -e \".[gpu]\")")


def place(setup, device: str) -> None:
    """Put a recipe's modules and loaders on `device`, with its kernel set; a device this machine
    lacks is a DeviceError naming what is missing."""
    if device == "cpu":
        return
    from .. import kernels
    from ..data.device_loader import DeviceLoader
    from ..device import get_device
    get_device(device)
    kernels.use(kernels.for_device(device))
    for module in setup.task.modules.values():
        module.to(device)
    for name in ("train_loader", "eval_loader", "test_loader"):
        loader = getattr(setup, name, None)
        if loader is not None:
            setattr(setup, name, DeviceLoader(loader, device))


def add_data_dir(parser) -> None:
    parser.add_argument("--data-dir", help="folder with the data files (default: $NT_DATA_DIR or the cache)")


def _coerce(field, text: str):
    """Parse `text` as the type of a config dataclass field (int, float, bool, str, or JSON)."""
    kind = field.type if not isinstance(field.type, str) else eval(field.type, vars(typing))
    if typing.get_origin(kind) is typing.Union:
        kind = next(a for a in typing.get_args(kind) if a is not type(None))
    if text.lower() in ("none", "null") and field.default is None:
        return None
    if kind is bool:
        if text.lower() not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            raise ValueError(text)
        return text.lower() in ("1", "true", "yes", "on")
    if kind in (int, float, str):
        return kind(text)
    return json.loads(text)


def config_overrides(recipe, args) -> dict:
    """The options given on the command line, as config fields (a bad `--set` is a UsageError)."""
    values = {"epochs": args.epochs, "steps": args.steps, "batch_size": args.batch_size,
              "lr": args.lr, "seed": args.seed, "eval_every": args.eval_every,
              "checkpoint_every": args.checkpoint_every}
    fields = {f.name: f for f in dataclasses.fields(recipe.config)}
    for item in args.set or []:
        key, equals, text = item.partition("=")
        key = key.replace("-", "_")
        if not equals:
            raise UsageError(f"--set {item}: give KEY=VALUE")
        if key not in fields:
            raise UsageError(f"--set {item}: recipe '{recipe.name}' has no option '{key}'; "
                             f"its options: {', '.join(sorted(fields))}")
        try:
            values[key] = _coerce(fields[key], text)
        except ValueError:
            raise UsageError(f"--set {item}: {key} takes a value of type {_type_name(fields[key])}, "
                             f"got {text!r}") from None
    if getattr(args, "data", None):
        values[data_field(recipe)] = data_path(args.data)
    values = {k: v for k, v in values.items() if v is not None}
    if "steps" in values:
        values["epochs"] = None   # a step count replaces the default number of epochs
    elif "epochs" in values:
        values["steps"] = None    # and a number of epochs a saved or default step count
    return values


def data_field(recipe) -> str:
    """The config field `--data` sets for this recipe; a recipe without one refuses it."""
    if recipe.data_field is None:
        from ..recipes import RECIPES
        takers = sorted(name for name, r in RECIPES.items() if r.data_field)
        raise UsageError(f"--data: recipe '{recipe.name}' trains on its own data only; the recipes "
                         f"that take yours: {', '.join(takers)}")
    return recipe.data_field


def data_path(path: str) -> str:
    """--data as an absolute path (the run keeps it), which must exist."""
    full = os.path.abspath(os.path.expanduser(path))
    if not os.path.exists(full):
        raise UsageError(f"--data {path}: no such file or folder")
    return full


def _type_name(field) -> str:
    return field.type if isinstance(field.type, str) else getattr(field.type, "__name__", "")


def recipe_and_config(args, saved: dict = None):
    """(recipe, config) from RECIPE and the options, over a resumed run's `saved` config; a value
    no training can run with is a UsageError naming it."""
    from ..recipes import RECIPES
    if args.recipe not in RECIPES:
        raise UsageError(f"unknown recipe '{args.recipe}'; the recipes: {', '.join(sorted(RECIPES))}")
    recipe = RECIPES[args.recipe]
    overrides = config_overrides(recipe, args)
    try:
        if saved is not None:
            return recipe, recipe.saved_config(saved, **overrides)
        return recipe, recipe.make_config(**overrides)
    except ValueError as error:
        raise UsageError(str(error)) from None


def check_data_dir(args) -> None:
    """A --data-dir that does not exist is a mistake: say so before anything is created."""
    data_dir = getattr(args, "data_dir", None)
    if data_dir is not None and not os.path.isdir(os.path.expanduser(data_dir)):
        raise UsageError(f"--data-dir {data_dir}: no such folder (give the folder that holds "
                         "mnist/, text/, ... or leave it out to use the cache)")


def checkpoint_path(path) -> str:
    """A checkpoint file, or the run folder holding checkpoint.safetensors."""
    return os.path.join(path, CHECKPOINT_FILE) if os.path.isdir(path) else path


def load_run(path, data_dir=None):
    """(recipe, config, setup, checkpoint) of a trained run, its weights loaded into the setup."""
    from ..recipes import get_recipe
    from ..train import load_checkpoint, restore
    checkpoint = load_checkpoint(checkpoint_path(path))
    recipe = get_recipe(checkpoint.state["recipe"])
    config = recipe.saved_config(checkpoint.state["config"])
    setup = recipe.build(config, data_dir)
    kept, now = checkpoint.state.get("classes"), setup.notes.get("classes")
    if kept and now and kept != now:
        raise ValueError(f"{checkpoint_path(path)} was trained on the classes {kept}, but its data "
                         f"now holds {now}")
    restore(checkpoint, setup.task.modules)
    return recipe, config, setup, checkpoint
