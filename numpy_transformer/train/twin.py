"""A recipe and its PyTorch twin trained side by side: the same initial weights, the same
batches, the same optimizer with our learning rate at every step, the same gradient clipping.

The two take turns of `chunk_steps` steps, so that a spell in which the host lends the machine
less CPU falls on both alike (on a shared host a step's time can move by a third from one second
to the next), and only the steps are timed. Each turn hands torch the very batches ours trained on,
random masks included. A recipe registers how its model becomes a torch module and what one
torch step and one torch evaluation compute (`register_twin`); this module imports no recipe.
"""
import inspect
import math
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable

from ..random import manual_seed

__all__ = ["Twin", "register_twin", "twin_of", "compare_with_pytorch", "classification_twin",
           "language_model_twin"]

CHUNK_STEPS = 20        # steps of one library before the other takes its turn
TURN_PAUSE = 0.25       # seconds between turns: the last one's threads go to sleep
PROGRESS_STEPS = 200    # a progress line each time this many more steps are done


@dataclass
class Twin:
    """How a recipe's PyTorch twin is made, trained and measured."""
    to_torch: Callable            # (our model) -> a torch module holding the same weights
    loss: Callable                # (twin, batch) -> the torch loss of one training step
    evaluate: Callable            # (twin, loader) -> {metric: value}, as the task's evaluate
    metrics: tuple = ("accuracy",)  # the metrics both report
    split: str = "test"           # measured on the setup's 'test' or 'eval' loader
    prepare: Callable = None      # (config) -> the config both train with (e.g. no dropout)


TWINS = {}


def register_twin(recipe_name: str, twin: Twin) -> Twin:
    """Let `numpy-transformer compare RECIPE` train `recipe_name` against `twin`."""
    TWINS[recipe_name] = twin
    return twin


def twin_of(recipe) -> Twin:
    """The registered twin of a recipe; a clear error for a recipe without one."""
    if recipe.name not in TWINS:
        raise KeyError(f"recipe '{recipe.name}' has no PyTorch twin; the recipes with one: "
                       f"{', '.join(sorted(TWINS))}")
    return TWINS[recipe.name]


def compare_with_pytorch(recipe, config, data_dir=None, *, dtype=None, pause: float = TURN_PAUSE,
                         chunk_steps: int = CHUNK_STEPS, progress: bool = True) -> dict:
    """Train the recipe's model and its twin side by side; returns {"steps", "metrics",
    "numpy_transformer": {metric..., "train_seconds", "losses"}, "torch": {...}, "chunk_ratios"}
    with each side's metrics, seconds in training steps and loss at every step, and each turn's
    ratio of seconds, ours / torch. `dtype`: both models in it (float64 for a tight match)."""
    import torch
    twin_spec = twin_of(recipe)
    config = twin_spec.prepare(config) if twin_spec.prepare else config
    manual_seed(config.seed)
    setup = recipe.build(config, data_dir)
    task = setup.task
    if dtype is not None:
        task.model.to(dtype)
    twin = twin_spec.to_torch(task.model)
    total = config.steps or math.ceil(config.epochs * len(setup.train_loader))   # as Trainer
    optimizer = _torch_optimizer(task.optimizers["optimizer"], task.model, twin)
    batches, handed = _forever(setup.train_loader), deque()       # ours' batches, then torch's
    sides = {"ours": _our_steps(task, batches, handed),
             "torch": _torch_steps(twin, twin_spec, optimizer, handed, task.grad_clip)}
    seconds, losses, done = {"ours": [], "torch": []}, {"ours": [], "torch": []}, 0
    while done < total:
        n = min(chunk_steps, total - done)
        for side, run in sides.items():
            turn_seconds, turn_losses = run(n)
            seconds[side].append(turn_seconds)
            losses[side].extend(turn_losses)
            time.sleep(pause)                                     # let the threads go quiet
        done += n
        if progress and (done % PROGRESS_STEPS < n or done == total):
            print(f"steps {done}/{total}: ours {sum(seconds['ours']):.1f} s, "
                  f"torch {sum(seconds['torch']):.1f} s so far", flush=True)
    loader = setup.test_loader if twin_spec.split == "test" else setup.eval_loader
    prefix = "test" if twin_spec.split == "test" else "val"
    ours, theirs = task.evaluate(loader), twin_spec.evaluate(twin, loader)
    side = lambda metrics, key: {**{f"{prefix}_{m}": metrics[m] for m in twin_spec.metrics},
                                 "train_seconds": sum(seconds[key]), "losses": losses[key]}
    return {"steps": total, "metrics": [f"{prefix}_{m}" for m in twin_spec.metrics],
            "numpy_transformer": side(ours, "ours"),
            "torch": {**side(theirs, "torch"), "threads": torch.get_num_threads()},
            "chunk_ratios": [a / b for a, b in zip(seconds["ours"], seconds["torch"])]}


def _forever(loader):
    """The loader's batches, epoch after epoch."""
    while True:
        yield from loader


def _our_steps(task, batches, handed):
    """run(n) -> (seconds, losses) of our next n training steps; each batch, with the learning
    rates the step used, is handed on to the twin's turn."""
    optimizer = task.optimizers["optimizer"]

    def run(n):
        task.train(True)
        seconds, losses = 0.0, []
        for _ in range(n):
            batch = next(batches)
            handed.append((batch, [group["lr"] for group in optimizer.param_groups]))
            started = time.perf_counter()
            losses.append(task.train_step(batch)["loss"])
            seconds += time.perf_counter() - started
        return seconds, losses
    return run


def _torch_steps(twin, twin_spec, optimizer, handed, grad_clip):
    """run(n) -> (seconds, losses) of the twin's next n steps, on the batches ours handed on."""
    import torch

    def run(n):
        twin.train()
        seconds, losses = 0.0, []
        for _ in range(n):
            batch, lrs = handed.popleft()
            started = time.perf_counter()
            for group, lr in zip(optimizer.param_groups, lrs):
                group["lr"] = lr
            optimizer.zero_grad(set_to_none=True)
            loss = twin_spec.loss(twin, batch)
            loss.backward()
            if grad_clip:
                torch.nn.utils.clip_grad_norm_(twin.parameters(), grad_clip)
            optimizer.step()
            seconds += time.perf_counter() - started
            losses.append(loss.item())
        return seconds, losses
    return run


def _torch_optimizer(ours, model, twin):
    """torch.optim's class of our optimizer's name, with our parameter groups and options; the
    twin's parameters matched to ours by name."""
    import torch
    cls = getattr(torch.optim, type(ours).__name__)
    accepted = set(inspect.signature(cls).parameters) - {"params", "lr"}
    twin_by_name = dict(twin.named_parameters())
    name_of = {id(p): name for name, p in model.named_parameters()}
    groups = [{"params": [twin_by_name[name_of[id(p)]] for p in group["params"]],
               "lr": group["lr"], **{k: v for k, v in group.items() if k in accepted}}
              for group in ours.param_groups]
    return cls(groups)


# ---- the two kinds of twin most recipes need ----
def classification_twin(to_torch=None, **options) -> Twin:
    """A twin trained with cross-entropy on (x, y) batches and measured by accuracy."""
    from ..interop.torch import to_torch as standard_layers_to_torch

    def loss(twin, batch):
        import torch
        x, y = batch
        return torch.nn.functional.cross_entropy(twin(torch.from_numpy(x)), torch.from_numpy(y))

    def evaluate(twin, loader):
        import torch
        twin.eval()
        correct = count = 0
        with torch.no_grad():
            for x, y in loader:
                correct += int((twin(torch.from_numpy(x)).argmax(-1).numpy() == y).sum())
                count += len(y)
        return {"accuracy": correct / count}
    return Twin(to_torch or standard_layers_to_torch, loss, evaluate, **options)


def language_model_twin(to_torch, **options) -> Twin:
    """A twin of a model of ids [B, T] -> logits [B, T, V], trained on (x, y) windows with the
    mean cross-entropy over every position and measured by its loss on the validation split."""
    def loss(twin, batch):
        import torch
        x, y = batch
        logits = twin(torch.from_numpy(x))
        return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                 torch.from_numpy(y).reshape(-1))

    def evaluate(twin, loader):
        import torch
        twin.eval()
        total, count = 0.0, 0
        with torch.no_grad():
            for x, y in loader:
                total += float(loss(twin, (x, y))) * y.size
                count += y.size
        return {"loss": total / count}
    return Twin(to_torch, loss, evaluate, **{"metrics": ("loss",), "split": "eval", **options})
