"""`numpy-transformer eval CHECKPOINT`: the test metrics of a trained run (and, for a classifier,
the accuracy of each class by the names the run kept)."""
import json

import numpy as np

from ..device import to_host
from ._options import add_data_dir, add_device, checkpoint_path, load_run, place


def class_accuracies(task, loader, classes) -> dict:
    """{class name: accuracy on its test examples} of a classifier."""
    from ..grad_mode import no_grad
    task.train(False)
    hits, counts = np.zeros(len(classes)), np.zeros(len(classes))
    with no_grad():
        for x, y in loader:
            predicted, y = to_host(task.model(x).argmax(-1)), to_host(y)
            np.add.at(counts, y, 1)
            np.add.at(hits, y, predicted == y)
    return {name: round(float(h / c), 6) for name, h, c in zip(classes, hits, counts) if c}


def run(args) -> int:
    from ..train import ClassificationTask
    recipe, _, setup, checkpoint = load_run(args.checkpoint, args.data_dir)
    place(setup, args.device)
    metrics = setup.task.evaluate(setup.test_loader)
    report = {"checkpoint": checkpoint_path(args.checkpoint), "recipe": recipe.name,
              "step": checkpoint.state["step"],
              **{f"test_{k}": round(v, 6) for k, v in metrics.items()}}
    classes = checkpoint.state.get("classes")
    if classes and isinstance(setup.task, ClassificationTask):
        report["test_accuracy_by_class"] = class_accuracies(setup.task, setup.test_loader, classes)
    print(json.dumps(report))
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser("eval", help="evaluate a checkpoint on its test set")
    parser.add_argument("checkpoint", help="a checkpoint file or the run folder holding it")
    add_data_dir(parser)
    add_device(parser)
    parser.set_defaults(run=run)
