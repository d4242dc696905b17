"""What the experiments share: data, a small training loop for ours and PyTorch, tables, plots."""
import time

import numpy as np

from ... import nn
from ...grad_mode import no_grad


# ---------------------------------------------------------------- output

def print_table(columns, rows, out=print) -> None:
    """A plain-text table: one header line, then one line per row (numbers formatted by the caller)."""
    rows = [[str(c) for c in row] for row in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in rows)) for i, h in enumerate(columns)]
    line = "  ".join(f"{h:<{w}}" for h, w in zip(columns, widths))
    out(line)
    out("  ".join("-" * w for w in widths))
    for row in rows:
        out("  ".join(f"{c:<{w}}" for c, w in zip(row, widths)))


def pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def save(fig, path) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    pyplot().close(fig)
    return str(path)


# ---------------------------------------------------------------- data

def load_images(kind, n_train, n_test, data_dir=None, seed=0, log=print):
    """(x_train [N, 1, H, W] float32, y_train, x_test, y_test, name): 'mnist' (a random subset,
    pixels normalised with MNIST's mean and std) or 'digits' (the 8x8 digits the package carries,
    scaled to 0..1). MNIST falls back to the digits when its files cannot be had."""
    from ...data import MNIST, Digits
    rng = np.random.default_rng(seed)
    if kind == "mnist":
        try:
            train, test = MNIST(data_dir, train=True), MNIST(data_dir, train=False)
        except Exception as e:  # no file and no network: say so, and use the carried digits
            log(f"(MNIST is not available here: {type(e).__name__}: {str(e)[:200]}; using the 8x8 "
                "digits instead. Pass --data-dir with the MNIST files.)")
            kind = "digits"
        else:
            pick_train = np.sort(rng.choice(len(train), min(n_train, len(train)), replace=False))
            pick_test = np.sort(rng.choice(len(test), min(n_test, len(test)), replace=False))

            def prepare(images):
                return ((images[:, None].astype(np.float32) / 255) - MNIST.mean) / MNIST.std
            return (prepare(train.data[pick_train]), train.targets[pick_train],
                    prepare(test.data[pick_test]), test.targets[pick_test],
                    f"MNIST ({len(pick_train)} train, {len(pick_test)} test images, 28x28)")
    train, test = Digits(train=True), Digits(train=False)
    take_train = min(n_train, len(train))
    take_test = min(n_test, len(test))
    return (train.data[:take_train, None].astype(np.float32) / 16, train.targets[:take_train],
            test.data[:take_test, None].astype(np.float32) / 16, test.targets[:take_test],
            f"the 8x8 digits ({take_train} train, {take_test} test images)")


def batches(n, batch_size, epochs, seed=0):
    """Index arrays: `epochs` shuffled passes over range(n) (the same for ours and PyTorch)."""
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n - batch_size + 1, batch_size):
            yield order[start:start + batch_size]


# ---------------------------------------------------------------- training: ours

def accuracy_ours(model, x, y, batch_size=500) -> float:
    model.eval()
    correct = 0
    with no_grad():
        for start in range(0, len(x), batch_size):
            correct += int((model(x[start:start + batch_size]).argmax(-1) == y[start:start + batch_size]).sum())
    model.train()
    return correct / len(x)


def train_ours(model, optimizer, x, y, x_test, y_test, epochs, batch_size, seed=0,
               evaluate_every=None):
    """Cross-entropy training; returns {'loss': [per step], 'seconds' (training steps only),
    'accuracy' (test, at the end), 'curve': [(step, test accuracy)]}."""
    criterion = nn.CrossEntropyLoss()
    losses, curve, seconds = [], [], 0.0
    model.train()
    for step, index in enumerate(batches(len(x), batch_size, epochs, seed), start=1):
        started = time.perf_counter()
        optimizer.zero_grad()
        loss = criterion(model(x[index]), y[index])
        model.backward(criterion.backward())
        optimizer.step()
        seconds += time.perf_counter() - started
        losses.append(float(loss))
        if evaluate_every and step % evaluate_every == 0:
            curve.append((step, accuracy_ours(model, x_test, y_test)))
    return {"loss": losses, "seconds": seconds, "accuracy": accuracy_ours(model, x_test, y_test),
            "curve": curve}


# ---------------------------------------------------------------- training: PyTorch

def accuracy_torch(model, x, y, batch_size=500) -> float:
    import torch
    model.eval()
    correct = 0
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            logits = model(torch.from_numpy(x[start:start + batch_size]))
            correct += int((logits.argmax(-1).numpy() == y[start:start + batch_size]).sum())
    model.train()
    return correct / len(x)


def train_torch(model, optimizer, x, y, x_test, y_test, epochs, batch_size, seed=0):
    """The same loop in PyTorch, on the same batches."""
    import torch
    criterion = torch.nn.CrossEntropyLoss()
    losses, seconds = [], 0.0
    model.train()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    for index in batches(len(x), batch_size, epochs, seed):
        started = time.perf_counter()
        optimizer.zero_grad()
        loss = criterion(model(xt[index]), yt[index])
        loss.backward()
        optimizer.step()
        seconds += time.perf_counter() - started
        losses.append(float(loss.detach()))
    return {"loss": losses, "seconds": seconds, "accuracy": accuracy_torch(model, x_test, y_test)}


def smooth(values, window=20):
    """A running mean (for noisy per-step losses)."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) < 2 or window <= 1:
        return values
    window = min(window, len(values))
    kernel = np.ones(window) / window
    head = np.cumsum(values[:window - 1]) / np.arange(1, window)
    return np.concatenate([head, np.convolve(values, kernel, mode="valid")])
