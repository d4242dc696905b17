"""Week 5: a deep MLP (8 hidden layers) trained with and without normalization and residual
connections, same data, optimizer and learning rate: convergence and accuracy in one plot."""
from ... import nn, optim
from ...random import manual_seed
from .common import load_images, print_table, pyplot, save, smooth, train_ours

DEPTH, WIDTH = 8, 64


class Block(nn.Module):
    """Linear -> (norm) -> ReLU, optionally as a residual x + block(x) (pre-norm when residual)."""

    def __init__(self, width, norm=None, residual=False):
        super().__init__()
        self.residual = residual
        layers = []
        if norm and residual:
            layers.append(norm(width))
        layers.append(nn.Linear(width, width))
        if norm and not residual:
            layers.append(norm(width))
        layers.append(nn.ReLU())
        self.body = nn.Sequential(*layers)
        self.layer = nn.Residual(self.body) if residual else self.body

    def forward(self, x):
        return self.layer(x)

    def backward(self, dy):
        return self.layer.backward(dy)


VARIANTS = [("plain", None, False), ("BatchNorm", nn.BatchNorm1d, False),
            ("LayerNorm", nn.LayerNorm, False), ("residual + LayerNorm", nn.LayerNorm, True)]


def network(pixels, norm, residual):
    layers = [nn.Flatten(), nn.Linear(pixels, WIDTH), nn.ReLU()]
    layers += [Block(WIDTH, norm, residual) for _ in range(DEPTH - 1)]
    return nn.Sequential(*layers, nn.Linear(WIDTH, 10))


def run(out, quick=False, data_dir=None, log=print) -> dict:
    if quick:
        x, y, x_test, y_test, name = load_images("digits", 300, 100, log=log)
        epochs = 1
    else:
        x, y, x_test, y_test, name = load_images("mnist", 20000, 5000, data_dir, log=log)
        epochs = 3
    log(f"data: {name}; {DEPTH} hidden layers of {WIDTH}; {epochs} epoch"
        f"{'s' if epochs > 1 else ''}, batch 64, SGD lr 0.05 for every variant\n")
    results, rows = {}, []
    for label, norm, residual in VARIANTS:
        manual_seed(0)
        model = network(x.shape[-1] * x.shape[-2], norm, residual)
        r = train_ours(model, optim.SGD(model.parameters(), lr=0.05), x, y, x_test, y_test,
                       epochs, 64, evaluate_every=None if quick else 100)
        results[label] = r
        below = next((i for i, v in enumerate(smooth(r["loss"], 30)) if v < 0.5), None)
        tail = sum(r["loss"][-50:]) / len(r["loss"][-50:])
        rows.append([label, f"{tail:.4f}", "never" if below is None else str(below + 1),
                     f"{r['accuracy']:.4f}", f"{r['seconds']:.1f}"])
        log(f"  {label}: test accuracy {r['accuracy']:.4f}")
    log("")
    print_table(["variant", "loss (last 50 steps)", "first step with loss < 0.5",
                 "test accuracy", "seconds"], rows, log)
    plt = pyplot()
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11.5, 4.2))
    for label, r in results.items():
        ax.plot(smooth(r["loss"], 30), label=label)
        if r["curve"]:
            steps, acc = zip(*r["curve"])
            bx.plot(steps, acc, "o-", markersize=3, label=label)
    ax.set(xlabel="step", ylabel="training loss (running mean of 30)", yscale="log",
           title=f"A {DEPTH + 1}-layer MLP on {name.split(' (')[0]}, SGD lr 0.05")
    bx.set(xlabel="step", ylabel="test accuracy", title="test accuracy during training")
    for a in (ax, bx):
        a.grid(alpha=0.3)
        if a.get_legend_handles_labels()[0]:
            a.legend()
    path = save(fig, out / "week_5_normalization.png")
    log(f"\nplot: {path}")
    return {"accuracy": {k: r["accuracy"] for k, r in results.items()}, "plot": path}
