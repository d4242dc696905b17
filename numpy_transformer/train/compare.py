"""`compare`: train a recipe's model and its PyTorch twin from the same weights on the same batches."""
import inspect
import time

from ..interop.torch import _torch, to_torch
from ..random import manual_seed

PAUSE = 2.0      # seconds between our training and torch's: OpenBLAS's threads go quiet


def _torch_optimizer(ours, twin_params):
    """torch.optim's class of the same name with the same options (one parameter group)."""
    torch = _torch()
    if len(ours.param_groups) != 1:
        raise NotImplementedError("compare supports one parameter group")
    cls = getattr(torch.optim, type(ours).__name__)
    accepted = inspect.signature(cls).parameters
    options = {k: v for k, v in ours.param_groups[0].items() if k != "params" and k in accepted}
    return cls(twin_params, **options)


def _torch_scheduler(ours, optimizer):
    torch = _torch()
    if ours is None:
        return None
    name = type(ours).__name__
    if name == "CosineAnnealingLR":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=ours.T_max, eta_min=ours.eta_min)
    if name == "StepLR":
        return torch.optim.lr_scheduler.StepLR(optimizer, ours.step_size, ours.gamma)
    raise NotImplementedError(f"compare has no torch twin for the scheduler {name}")


def _batches(loader, steps):
    """The first `steps` batches of a fresh loader, epoch after epoch."""
    taken = 0
    while taken < steps:
        for batch in loader:
            yield batch
            taken += 1
            if taken == steps:
                return


def _train_torch(twin, setup, steps):
    torch = _torch()
    ours_task = setup.task
    optimizer = _torch_optimizer(ours_task.optimizers["optimizer"], twin.parameters())
    scheduler = _torch_scheduler(ours_task.schedulers.get("scheduler"), optimizer)
    criterion = torch.nn.CrossEntropyLoss()
    twin.train()
    seconds = 0.0
    for x, y in _batches(setup.train_loader, steps):
        started = time.perf_counter()
        optimizer.zero_grad()
        loss = criterion(twin(torch.from_numpy(x)), torch.from_numpy(y))
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        seconds += time.perf_counter() - started
    return seconds


def _evaluate_torch(twin, loader):
    torch = _torch()
    twin.eval()
    correct = count = 0
    with torch.no_grad():
        for x, y in loader:
            correct += int((twin(torch.from_numpy(x)).argmax(-1).numpy() == y).sum())
            count += len(y)
    return correct / count


def compare_with_pytorch(recipe, config, data_dir=None, pause: float = None, progress=True) -> dict:
    """Both libraries train the recipe's model from identical weights on identical batches;
    returns test accuracies and training seconds (train steps only) of each. A recipe with a
    "compare" hook (e.g. a language model) runs its own comparison, returning the same keys
    plus "metrics", the names of the metrics it reports."""
    if "compare" in recipe.hooks:                         # `pause`: None for the hook's own default
        options = {} if pause is None else {"pause": pause}
        return recipe.hooks["compare"](config, data_dir, progress=progress, **options)
    from .trainer import Trainer
    torch = _torch()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    manual_seed(config.seed)
    setup = recipe.build(config, data_dir)
    twin = to_torch(setup.task.model)                     # the same initial weights
    trainer = Trainer(setup.task, setup.train_loader, None, epochs=config.epochs, steps=config.steps,
                      log_every=10**9, progress=progress)
    trainer.fit()
    ours_accuracy = setup.task.evaluate(setup.test_loader)["accuracy"]
    time.sleep(PAUSE if pause is None else pause)
    manual_seed(config.seed)
    fresh = recipe.build(config, data_dir)                # same loader seed: the same batches
    torch_seconds = _train_torch(twin, fresh, trainer.total_steps)
    return {"steps": trainer.total_steps,
            "numpy_transformer": {"test_accuracy": ours_accuracy, "train_seconds": trainer.train_seconds},
            "torch": {"test_accuracy": _evaluate_torch(twin, fresh.test_loader),
                      "train_seconds": torch_seconds}}
