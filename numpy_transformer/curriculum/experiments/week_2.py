"""Week 2: an MLP against a CNN on MNIST (a subset), each trained by ours and by PyTorch from the
same weights on the same batches: test accuracy and training time."""

from ... import nn, optim
from ...interop import to_torch
from ...random import manual_seed
from .common import load_images, print_table, pyplot, save, smooth, train_ours, train_torch


def mlp(image_size):
    return nn.Sequential(nn.Flatten(), nn.Linear(image_size * image_size, 128), nn.ReLU(),
                         nn.Linear(128, 10))


def cnn(image_size):
    """Conv(1->8, 3x3) ReLU MaxPool(2), Conv(8->16, 3x3) ReLU MaxPool(2), Flatten, Linear(-> 10)."""
    size = image_size // 2 // 2
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(16 * size * size, 10))


def run(out, quick=False, data_dir=None, log=print) -> dict:
    import torch
    if quick:
        x, y, x_test, y_test, name = load_images("digits", 300, 100, log=log)
        epochs = 1
    else:
        x, y, x_test, y_test, name = load_images("mnist", 60000, 10000, data_dir, log=log)
        epochs = 2
    size = x.shape[-1]
    log(f"data: {name}; {epochs} epoch{'s' if epochs > 1 else ''}, batch 64, Adam lr 1e-3; "
        f"{torch.get_num_threads()} thread(s) for PyTorch\n")
    results, rows = {}, []
    for label, build in (("MLP", mlp), ("CNN", cnn)):
        manual_seed(0)
        model = build(size)
        twin = to_torch(model)
        for library, train in (("numpy_transformer", "ours"), ("PyTorch", "torch")):
            if train == "ours":
                r = train_ours(model, optim.Adam(model.parameters(), lr=1e-3), x, y, x_test, y_test,
                               epochs, 64)
            else:
                r = train_torch(twin, torch.optim.Adam(twin.parameters(), lr=1e-3), x, y, x_test,
                                y_test, epochs, 64)
            results[(label, library)] = r
            steps = len(r["loss"])
            rows.append([label, library, f"{model.num_parameters():,}", f"{r['accuracy']:.4f}",
                         f"{r['seconds']:.1f}", f"{1000 * r['seconds'] / steps:.1f}"])
            log(f"  {label} / {library}: test accuracy {r['accuracy']:.4f}, {r['seconds']:.1f} s")
    log("")
    print_table(["model", "library", "parameters", "test accuracy", "train seconds", "ms / step"],
                rows, log)

    plt = pyplot()
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4))
    for (label, library), r in results.items():
        style = "-" if library == "numpy_transformer" else "--"
        ax.plot(smooth(r["loss"], 30), style, label=f"{label}, {library}")
    ax.set(xlabel="step", ylabel="training loss (running mean of 30)", yscale="log",
           title=f"MLP vs CNN on {name.split(' (')[0]}")
    ax.grid(alpha=0.3)
    ax.legend()
    labels = [f"{m}\n{'ours' if lib == 'numpy_transformer' else 'torch'}" for m, lib in results]
    seconds = [r["seconds"] for r in results.values()]
    accuracy = [r["accuracy"] for r in results.values()]
    bars = bx.bar(labels, seconds, color=["C0", "C1", "C2", "C3"])
    for bar, acc in zip(bars, accuracy):
        bx.text(bar.get_x() + bar.get_width() / 2, bar.get_height(), f"acc {acc:.3f}",
                ha="center", va="bottom")
    bx.set(ylabel="training seconds", title="time (bars) and test accuracy (labels)")
    path = save(fig, out / "week_2_mlp_vs_cnn.png")
    log(f"\nplot: {path}")
    return {"results": {f"{m} {lib}": {"accuracy": r["accuracy"], "seconds": r["seconds"]}
                        for (m, lib), r in results.items()}, "plot": path}
