"""`numpy-transformer eval CHECKPOINT`: the test metrics of a trained run."""
import json

from ._options import add_data_dir, checkpoint_path, load_run


def run(args) -> int:
    recipe, _, setup, checkpoint = load_run(args.checkpoint, args.data_dir)
    metrics = setup.task.evaluate(setup.test_loader)
    print(json.dumps({"checkpoint": checkpoint_path(args.checkpoint), "recipe": recipe.name,
                      "step": checkpoint.state["step"],
                      **{f"test_{k}": round(v, 6) for k, v in metrics.items()}}))
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser("eval", help="evaluate a checkpoint on its test set")
    parser.add_argument("checkpoint", help="a checkpoint file or the run folder holding it")
    add_data_dir(parser)
    parser.set_defaults(run=run)
