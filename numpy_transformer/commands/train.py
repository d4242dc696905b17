"""`numpy-transformer train RECIPE`: train, log, plot, checkpoint; `--resume` continues exactly."""
import dataclasses
import json
import os

from ._options import (CHECKPOINT_FILE, UsageError, add_device, add_recipe_options, place,
                       recipe_and_config)

RUN_FILES = (CHECKPOINT_FILE, "log.jsonl", "result.json")   # what makes a folder a run


def run(args) -> int:
    from .. import kernels
    from ..distributed import get_world
    from ..distributed.launch import launched_by_mpi, relaunch, share_pids
    from ..distributed.sharded_loader import ShardedLoader
    from ..io import atomic_write, provenance
    from ..kernels.cpu.threads import num_threads
    from ..random import manual_seed
    from ..recipes import time_to_target
    from ..train import Trainer
    from ..train.log import read_log
    from ..train.trainer import LOG
    if args.nproc > 1 and not launched_by_mpi():
        return relaunch(args.nproc, args.argv)
    world = get_world()
    pids = share_pids(world) if world.size > 1 else []
    say = print if world.is_main else (lambda *a, **k: None)
    out_dir = args.out or os.path.join("runs", args.recipe)
    saved = resumed_config(args, out_dir) if args.resume else None
    recipe, config = recipe_and_config(args, saved)
    if not args.resume and world.is_main:
        make_room(out_dir, args.force, dry_run=True)
    manual_seed(config.seed)
    setup = build(recipe, config, args)
    place(setup, args.device)
    if not args.resume and world.is_main:
        make_room(out_dir, args.force)
    world.barrier()
    trainer = Trainer(setup.task, setup.train_loader, setup.eval_loader, epochs=config.epochs,
                      steps=config.steps, eval_every=config.eval_every, log_every=config.log_every,
                      checkpoint_every=config.checkpoint_every, out_dir=out_dir,
                      progress=not args.no_progress, zero=args.zero,
                      info={"recipe": recipe.name, "config": dataclasses.asdict(config),
                            **kept_notes(setup)})
    size = sum(m.num_parameters() for m in setup.task.modules.values())
    ranks = f" on {world.size} processes (pids {' '.join(map(str, pids))})" if pids else ""
    say(f"training {recipe.name}: {size:,} parameters, {trainer.total_steps} steps of batch "
        f"{config.batch_size}{ranks}, writing {out_dir}\n{kernels.describe()}", flush=True)
    measured = provenance(threads=num_threads())     # the code that trains: taken before it runs
    trainer.fit(resume=args.resume)
    state_bytes = trainer.optimizer_state_bytes()
    parallel = getattr(setup.task, "data_parallel", None)
    timing = parallel.timing() if parallel is not None else {}
    test = None if setup.test_loader is None else setup.task.evaluate(
        ShardedLoader(setup.test_loader, world) if pids else setup.test_loader)
    if not world.is_main:
        return 0
    result = {"recipe": recipe.name, "step": trainer.step,
              "train_seconds": round(trainer.train_seconds, 2),
              "wall_seconds": round(trainer.wall_seconds, 2), "kernels": kernels.active(),
              **measured, "processes": world.size, "zero": args.zero,
              "device": args.device,
              "optimizer_state_mib": {k: round(v / 2 ** 20, 3) for k, v in state_bytes.items()},
              "config": dataclasses.asdict(config)}
    result.update(kept_notes(setup))
    if timing:
        result["all_reduce_ms_per_step"] = timing
    if args.zero and world.size > 1:
        print(f"ZeRO-1: {state_bytes['per_rank'] / 2 ** 20:.2f} MiB of optimizer state per rank, "
              f"against {state_bytes['whole'] / 2 ** 20:.2f} MiB each without")
    if recipe.target is not None:            # the whole run's evaluations, resumed ones too
        result["target"] = time_to_target(read_log(os.path.join(out_dir, LOG)), recipe.target)
    if test is not None:
        result.update({f"test_{k}": v for k, v in test.items()})
        shown = ", ".join(f"test {k} {v:.4f}" for k, v in test.items())
        print(f"done: {shown} after {trainer.step} steps ({trainer.train_seconds:.1f} s in training "
              f"steps, {trainer.wall_seconds / 60:.1f} min in all)")
    with atomic_write(os.path.join(out_dir, "result.json"), "w") as handle:
        json.dump(result, handle, indent=1)
    return 0


def kept_notes(setup) -> dict:
    """What the run keeps of its data beside the config: the class names and image shape."""
    return {k: setup.notes[k] for k in ("classes", "image_shape") if k in setup.notes}


def resumed_config(args, out_dir: str) -> dict:
    """The config of the run to continue in `out_dir`, which must be a run of this recipe."""
    from ..train import load_checkpoint
    path = os.path.join(out_dir, CHECKPOINT_FILE)
    if not os.path.exists(path):
        raise UsageError(f"--resume: there is no run to continue in {out_dir} (no {CHECKPOINT_FILE}); "
                         "train without --resume first, or give --out the run's folder")
    state = load_checkpoint(path).state
    if state.get("recipe") != args.recipe:
        raise UsageError(f"--resume: {out_dir} holds a run of '{state.get('recipe')}', not of "
                         f"'{args.recipe}'; resume it as {state.get('recipe')} or give --out "
                         "another folder")
    return state["config"]


def build(recipe, config, args):
    """The recipe's setup; a value the model cannot take from `--set` is a usage error naming it."""
    try:
        return recipe.build(config, args.data_dir)
    except ValueError as error:
        if args.set:
            raise UsageError(f"{error} (from the options --set {' --set '.join(args.set)})") from None
        raise


def make_room(out_dir: str, force: bool, dry_run: bool = False) -> None:
    """Refuse to train over a run unless forced; forced, keep its files as *.bak (after the
    recipe has built: a run that cannot start moves nothing)."""
    present = [name for name in RUN_FILES if os.path.exists(os.path.join(out_dir, name))]
    if present and not force:
        raise UsageError(f"{out_dir} holds a run ({', '.join(present)}): give --resume to continue "
                         "it, --force to start again (its files are kept as *.bak), or --out "
                         "another folder")
    for name in present if not dry_run else ():
        os.replace(os.path.join(out_dir, name), os.path.join(out_dir, name + ".bak"))


def register(subparsers) -> None:
    parser = subparsers.add_parser("train", help="train a recipe", add_help=False)
    add_recipe_options(parser)
    parser.add_argument("--out", help="output folder (default: runs/RECIPE)")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.safetensors")
    parser.add_argument("--nproc", type=int, default=1,
                        help="train on this many processes, data parallel, through mpiexec "
                             "(pip install -e \".[mpi]\")")
    add_device(parser)
    parser.add_argument("--zero", type=int, default=0, choices=(0, 1),
                        help="with --nproc: 1 splits the optimizer state across the ranks "
                             "(ZeRO-1): each keeps and updates its part, then all gather the "
                             "weights")
    parser.add_argument("--force", action="store_true",
                        help="train into OUT even if it holds a run; its checkpoint, log and "
                             "result are kept as *.bak (the previous .bak is replaced)")
    parser.set_defaults(run=run)
