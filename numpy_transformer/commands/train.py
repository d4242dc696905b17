"""`numpy-transformer train RECIPE`: train, log, plot, checkpoint; `--resume` continues exactly."""
import dataclasses
import json
import os

from ._options import CHECKPOINT_FILE, add_recipe_options, config_overrides


def run(args) -> int:
    from .. import kernels
    from ..random import manual_seed
    from ..recipes import get_recipe
    from ..io import atomic_write, provenance
    from ..kernels.cpu.threads import num_threads
    from ..train import Trainer, load_checkpoint
    recipe = get_recipe(args.recipe)
    out_dir = args.out or os.path.join("runs", recipe.name)
    overrides = config_overrides(recipe, args)
    if args.resume:
        saved = load_checkpoint(os.path.join(out_dir, CHECKPOINT_FILE)).state["config"]
        overrides = {**saved, **overrides}
    config = recipe.make_config(**overrides)
    manual_seed(config.seed)
    setup = recipe.build(config, args.data_dir)
    trainer = Trainer(setup.task, setup.train_loader, setup.eval_loader, epochs=config.epochs,
                      steps=config.steps, eval_every=config.eval_every, log_every=config.log_every,
                      checkpoint_every=config.checkpoint_every, out_dir=out_dir,
                      progress=not args.no_progress,
                      info={"recipe": recipe.name, "config": dataclasses.asdict(config)})
    size = sum(m.num_parameters() for m in setup.task.modules.values())
    print(f"training {recipe.name}: {size:,} parameters, {trainer.total_steps} steps of batch "
          f"{config.batch_size}, writing {out_dir}\n{kernels.describe()}", flush=True)
    trainer.fit(resume=args.resume)
    result = {"recipe": recipe.name, "step": trainer.step,
              "train_seconds": round(trainer.train_seconds, 2),
              "wall_seconds": round(trainer.wall_seconds, 2), "kernels": kernels.active(),
              **provenance(threads=num_threads()), "config": dataclasses.asdict(config)}
    if setup.test_loader is not None:
        metrics = setup.task.evaluate(setup.test_loader)
        result.update({f"test_{k}": v for k, v in metrics.items()})
        shown = ", ".join(f"test {k} {v:.4f}" for k, v in metrics.items())
        print(f"done: {shown} after {trainer.step} steps ({trainer.train_seconds:.1f} s in training "
              f"steps, {trainer.wall_seconds / 60:.1f} min in all)")
    with atomic_write(os.path.join(out_dir, "result.json"), "w") as handle:
        json.dump(result, handle, indent=1)
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser("train", help="train a recipe")
    add_recipe_options(parser)
    parser.add_argument("--out", help="output folder (default: runs/RECIPE)")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.safetensors")
    parser.set_defaults(run=run)
