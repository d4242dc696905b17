"""`compare` for language models: ours and the PyTorch twin, same weights, same batches.

Both train for the same steps with AdamW (the same parameter groups), the same learning-rate
schedule and gradient clipping, on the batches the recipe's loader hands out; then both are
evaluated on the same validation windows. Only the training steps are timed, and the two take
turns of `CHUNK_STEPS` steps: the host of this kind of machine lends it less CPU for seconds to
minutes at a time (the same GPT step took 47 to 69 ms from one second to the next), and one
library training after the other would get a different share of such spells. Short turns pair
the two closely: at 200 steps a turn (12 s) one run's turn ratios spread over 0.97-1.61x, at 20
steps (1.2 s) over 1.01-1.32x (10th to 90th percentile), and the totals read 1.27x and 1.13x.
"""
import math
import time

from ..random import manual_seed

CHUNK_STEPS = 20        # steps of one library before the other takes its turn
TURN_PAUSE = 0.25       # seconds between turns: the last one's threads go to sleep
PROGRESS_STEPS = 200    # a progress line each time this many more steps are done


def _torch_adamw(ours, model, twin):
    """torch.optim.AdamW with our parameter groups and options; twin parameters matched by name."""
    import torch
    twin_by_name = dict(twin.named_parameters())
    name_of = {id(p): name for name, p in model.named_parameters()}
    groups = [{"params": [twin_by_name[name_of[id(p)]] for p in group["params"]],
               **{k: group[k] for k in ("lr", "betas", "eps", "weight_decay")}}
              for group in ours.param_groups]
    return torch.optim.AdamW(groups)


def _learning_rates(optimizer, scheduler, steps):
    """The learning rate of every param group at each of `steps` steps, as our scheduler sets
    them (this runs `scheduler` through the steps: give it a fresh one)."""
    lrs = [[group["lr"] for group in optimizer.param_groups]]
    for _ in range(steps - 1):
        if scheduler is not None:
            scheduler.step()
        lrs.append([group["lr"] for group in optimizer.param_groups])
    return lrs


def _forever(loader):
    """The loader's batches, epoch after epoch."""
    while True:
        yield from loader


def _our_steps(task, batches):
    """run(n): the next n training steps of our task; returns the seconds spent in them."""
    def run(n):
        task.train(True)
        seconds = 0.0
        for _ in range(n):
            batch = next(batches)
            started = time.perf_counter()
            task.train_step(batch)
            seconds += time.perf_counter() - started
        return seconds
    return run


def _torch_steps(twin, task, batches, lrs, grad_clip):
    """run(n): the twin's next n steps with torch.optim.AdamW at our learning rates `lrs`
    (one list per step); returns the seconds spent in them."""
    import torch
    optimizer = _torch_adamw(task.optimizers["optimizer"], task.model, twin)
    criterion = torch.nn.CrossEntropyLoss()
    taken = 0

    def run(n):
        nonlocal taken
        twin.train()
        seconds = 0.0
        for _ in range(n):
            x, y = next(batches)
            started = time.perf_counter()
            for group, lr in zip(optimizer.param_groups, lrs[taken]):
                group["lr"] = lr
            optimizer.zero_grad(set_to_none=True)
            logits = twin(torch.from_numpy(x))
            loss = criterion(logits.reshape(-1, logits.shape[-1]), torch.from_numpy(y).reshape(-1))
            loss.backward()
            if grad_clip:
                torch.nn.utils.clip_grad_norm_(twin.parameters(), grad_clip)
            optimizer.step()
            seconds += time.perf_counter() - started
            taken += 1
        return seconds
    return run


def _evaluate_torch(twin, loader):
    import torch
    twin.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for x, y in loader:
            logits = twin(torch.from_numpy(x))
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                     torch.from_numpy(y).reshape(-1))
            total += float(loss) * y.size
            count += y.size
    return total / count


def compare_language_model(recipe, config, to_torch, data_dir=None, pause: float = TURN_PAUSE,
                           progress=True, chunk_steps: int = CHUNK_STEPS) -> dict:
    """Train the recipe's model and `to_torch(model)` (its twin, same weights) on the same
    batches, taking turns of `chunk_steps` steps; returns {"steps", "metrics",
    "numpy_transformer": {...}, "torch": {...}, "chunk_ratios"} with the validation loss and the
    seconds spent in training steps of each, and each turn's ratio of seconds, ours / torch."""
    import torch
    manual_seed(config.seed)
    setup = recipe.build(config, data_dir)
    twin = to_torch(setup.task.model)                             # the same initial weights
    total = config.steps or math.ceil(config.epochs * len(setup.train_loader))   # as Trainer
    manual_seed(config.seed)
    fresh = recipe.build(config, data_dir)                        # same loader seed: same batches
    lrs = _learning_rates(fresh.task.optimizers["optimizer"],    # our schedule, for the twin
                          fresh.task.schedulers.get("scheduler"), total)
    ours = _our_steps(setup.task, _forever(setup.train_loader))
    theirs = _torch_steps(twin, fresh.task, _forever(fresh.train_loader), lrs, fresh.task.grad_clip)
    seconds, done = {"ours": [], "torch": []}, 0
    while done < total:                  # turns: a slow spell of the machine hits both alike
        n = min(chunk_steps, total - done)
        for side, run in (("ours", ours), ("torch", theirs)):
            seconds[side].append(run(n))
            time.sleep(pause)                                     # let the threads go quiet
        done += n
        if progress and (done % PROGRESS_STEPS < n or done == total):
            print(f"steps {done}/{total}: ours {sum(seconds['ours']):.1f} s, "
                  f"torch {sum(seconds['torch']):.1f} s so far", flush=True)
    return {"steps": total, "metrics": ["val_loss"],
            "numpy_transformer": {"val_loss": setup.task.evaluate(setup.eval_loader)["loss"],
                                  "train_seconds": sum(seconds["ours"])},
            "torch": {"val_loss": _evaluate_torch(twin, fresh.eval_loader),
                      "train_seconds": sum(seconds["torch"]), "threads": torch.get_num_threads()},
            "chunk_ratios": [a / b for a, b in zip(seconds["ours"], seconds["torch"])]}
