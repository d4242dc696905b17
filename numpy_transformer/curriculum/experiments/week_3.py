"""Week 3: the same network (an MLP with dropout) trained from the same initial weights with SGD,
SGD with momentum and Adam: the loss curves in one plot, and the test accuracy of each."""
import copy

from ... import nn, optim
from ...random import manual_seed
from .common import load_images, print_table, pyplot, save, smooth, train_ours

OPTIMIZERS = [("SGD, lr 0.05", lambda p: optim.SGD(p, lr=0.05)),
              ("SGD + momentum 0.9, lr 0.01", lambda p: optim.SGD(p, lr=0.01, momentum=0.9)),
              ("Adam, lr 1e-3", lambda p: optim.Adam(p, lr=1e-3))]


def network(pixels):
    return nn.Sequential(nn.Flatten(), nn.Linear(pixels, 128), nn.ReLU(), nn.Dropout(0.2),
                         nn.Linear(128, 64), nn.ReLU(), nn.Dropout(0.2), nn.Linear(64, 10))


def run(out, quick=False, data_dir=None, log=print) -> dict:
    if quick:
        x, y, x_test, y_test, name = load_images("digits", 300, 100, log=log)
        epochs = 1
    else:
        x, y, x_test, y_test, name = load_images("mnist", 20000, 5000, data_dir, log=log)
        epochs = 4
    log(f"data: {name}; {epochs} epoch{'s' if epochs > 1 else ''}, batch 64, the same initial "
        "weights and batches for every optimizer\n")
    manual_seed(0)
    start = network(x.shape[-1] * x.shape[-2])
    results, rows = {}, []
    for label, make in OPTIMIZERS:
        model = copy.deepcopy(start)
        manual_seed(1)                                 # the same dropout masks for each
        r = train_ours(model, make(model.parameters()), x, y, x_test, y_test, epochs, 64)
        results[label] = r
        tail = sum(r["loss"][-50:]) / len(r["loss"][-50:])
        rows.append([label, f"{r['loss'][0]:.3f}", f"{tail:.4f}", f"{r['accuracy']:.4f}",
                     f"{r['seconds']:.1f}"])
        log(f"  {label}: test accuracy {r['accuracy']:.4f}")
    log("")
    print_table(["optimizer", "first loss", "loss (last 50 steps)", "test accuracy", "seconds"],
                rows, log)
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for label, r in results.items():
        ax.plot(smooth(r["loss"], 30), label=f"{label} (test acc {r['accuracy']:.3f})")
    ax.set(xlabel="step", ylabel="training loss (running mean of 30)", yscale="log",
           title=f"One MLP, three optimizers ({name.split(' (')[0]})")
    ax.grid(alpha=0.3)
    ax.legend()
    path = save(fig, out / "week_3_optimizers.png")
    log(f"\nplot: {path}")
    return {"accuracy": {k: r["accuracy"] for k, r in results.items()}, "plot": path}
