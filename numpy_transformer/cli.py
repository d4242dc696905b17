"""`numpy-transformer`: train, evaluate, compare and list recipes from the command line."""
import argparse
import dataclasses
import json
import os
import sys
import typing

from .random import manual_seed


def _coerce(field, text: str):
    """Parse `text` as the type of a config dataclass field (int, float, bool, str, tuple)."""
    kind = field.type if not isinstance(field.type, str) else eval(field.type, vars(typing))
    origin = typing.get_origin(kind)
    if origin is typing.Union:
        kind = next(a for a in typing.get_args(kind) if a is not type(None))
    if kind is bool:
        return text.lower() in ("1", "true", "yes", "on")
    if kind in (int, float, str):
        return kind(text)
    return json.loads(text)


def _overrides(recipe, args) -> dict:
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


def cmd_list(args) -> int:
    from .recipes import RECIPES
    width = max(len(name) for name in RECIPES)
    for name, recipe in sorted(RECIPES.items()):
        print(f"{name:<{width}}  {recipe.description}")
    return 0


def cmd_train(args) -> int:
    from .recipes import get_recipe
    from .train import Trainer, load_checkpoint
    from .train.trainer import CHECKPOINT
    recipe = get_recipe(args.recipe)
    out_dir = args.out or os.path.join("runs", recipe.name)
    overrides = _overrides(recipe, args)
    if args.resume:
        saved = load_checkpoint(os.path.join(out_dir, CHECKPOINT)).state["config"]
        overrides = {**saved, **overrides}
    config = recipe.make_config(**overrides)
    manual_seed(config.seed)
    setup = recipe.build(config, args.data_dir)
    trainer = Trainer(setup.task, setup.train_loader, setup.eval_loader, epochs=config.epochs,
                      steps=config.steps, eval_every=config.eval_every, log_every=config.log_every,
                      checkpoint_every=config.checkpoint_every, out_dir=out_dir,
                      progress=not args.no_progress,
                      info={"recipe": recipe.name, "config": dataclasses.asdict(config)})
    print(f"training {recipe.name}: {setup.task.modules['model'].num_parameters() if 'model' in setup.task.modules else ''} "
          f"parameters, {trainer.total_steps} steps of batch {setup.train_loader.batch_size}, "
          f"writing {out_dir}", flush=True)
    trainer.fit(resume=args.resume)
    return _report(setup, trainer, out_dir)


def _report(setup, trainer, out_dir) -> int:
    result = {"step": trainer.step, "train_seconds": round(trainer.train_seconds, 2)}
    if setup.test_loader is not None:
        metrics = setup.task.evaluate(setup.test_loader)
        result.update({f"test_{k}": v for k, v in metrics.items()})
        shown = ", ".join(f"test {k} {v:.4f}" for k, v in metrics.items())
        print(f"done: {shown} after {trainer.step} steps ({trainer.train_seconds:.1f} s of training)")
    with open(os.path.join(out_dir, "result.json"), "w") as handle:
        json.dump(result, handle, indent=1)
    return 0


def cmd_eval(args) -> int:
    from .recipes import get_recipe
    from .train import load_checkpoint, restore
    path = args.checkpoint
    if os.path.isdir(path):
        path = os.path.join(path, "checkpoint.safetensors")
    checkpoint = load_checkpoint(path)
    recipe = get_recipe(checkpoint.state["recipe"])
    config = recipe.make_config(**checkpoint.state["config"])
    setup = recipe.build(config, args.data_dir)
    restore(checkpoint, setup.task.modules)
    metrics = setup.task.evaluate(setup.test_loader)
    print(json.dumps({"checkpoint": path, "recipe": recipe.name, "step": checkpoint.state["step"],
                      **{f"test_{k}": round(v, 6) for k, v in metrics.items()}}))
    return 0


def cmd_compare(args) -> int:
    from .recipes import get_recipe
    from .train.compare import compare_with_pytorch
    recipe = get_recipe(args.recipe)
    config = recipe.make_config(**_overrides(recipe, args))
    result = compare_with_pytorch(recipe, config, args.data_dir, progress=not args.no_progress)
    ours, theirs = result["numpy_transformer"], result["torch"]
    print(f"{recipe.name}: {result['steps']} steps, same initial weights, same batches")
    print(f"{'':<18}{'test accuracy':>14}{'train seconds':>15}")
    for name, r in (("numpy_transformer", ours), ("torch", theirs)):
        print(f"{name:<18}{r['test_accuracy']:>14.4f}{r['train_seconds']:>15.1f}")
    print(f"time ratio numpy_transformer / torch: {ours['train_seconds'] / theirs['train_seconds']:.2f}x")
    return 0


def _add_config_options(parser) -> None:
    parser.add_argument("recipe")
    parser.add_argument("--epochs", type=float)
    parser.add_argument("--steps", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--lr", type=float)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--eval-every", type=int)
    parser.add_argument("--checkpoint-every", type=int)
    parser.add_argument("--set", action="append", metavar="KEY=VALUE", help="any other recipe option")
    parser.add_argument("--data-dir", help="folder with the data files (default: $NT_DATA_DIR or the cache)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="numpy-transformer", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("list", help="the recipes, one line each").set_defaults(run=cmd_list)

    train = commands.add_parser("train", help="train a recipe")
    _add_config_options(train)
    train.add_argument("--out", help="output folder (default: runs/RECIPE)")
    train.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.safetensors")
    train.set_defaults(run=cmd_train)

    compare = commands.add_parser("compare", help="train a recipe and its PyTorch twin side by side")
    _add_config_options(compare)
    compare.set_defaults(run=cmd_compare)

    evaluate = commands.add_parser("eval", help="evaluate a checkpoint on its test set")
    evaluate.add_argument("checkpoint", help="a checkpoint file or the run folder holding it")
    evaluate.add_argument("--data-dir")
    evaluate.set_defaults(run=cmd_eval)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
