"""Week 1: every activation, loss and Linear against PyTorch (values and gradients, float32 and
float64), then a small MLP trained by ours and by PyTorch from the same weights on the same
batches of the 8x8 digits."""
import numpy as np

from ... import nn, optim
from ...interop import to_torch
from ...random import manual_seed
from .common import print_table, pyplot, save, smooth, train_ours, train_torch


def _layers():
    """(name, ours, torch twin, inputs builder) for each layer of the week."""
    import torch
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 10)) * 3
    labels = rng.integers(0, 10, 64)
    probs = rng.uniform(0.02, 0.98, (64, 10))
    targets = (rng.uniform(0, 1, (64, 10)) > 0.5).astype(np.float64)
    return [
        ("ReLU", nn.ReLU(), torch.nn.ReLU(), (x,)),
        ("Sigmoid", nn.Sigmoid(), torch.nn.Sigmoid(), (x,)),
        ("Tanh", nn.Tanh(), torch.nn.Tanh(), (x,)),
        ("Softmax", nn.Softmax(-1), torch.nn.Softmax(-1), (x,)),
        ("CrossEntropyLoss", nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss(), (x, labels)),
        ("BCELoss", nn.BCELoss(), torch.nn.BCELoss(), (probs, targets)),
        ("Linear(10, 5)", nn.Linear(10, 5), torch.nn.Linear(10, 5), (x,)),
    ]


def _differences(ours, theirs, inputs, dtype):
    """max |ours - torch| of the output, and of the input and parameter gradients."""
    import torch
    from ...interop.torch import torch_state_dict
    ours.to(dtype)
    theirs.to({np.float32: torch.float32, np.float64: torch.float64}[dtype])
    if ours.state_dict():
        theirs.load_state_dict(torch_state_dict(ours))
    ours.zero_grad()
    x = inputs[0].astype(dtype)
    t_x = torch.from_numpy(x.copy()).requires_grad_(True)
    if len(inputs) == 2:                                   # a loss: (input, target) -> scalar
        target = inputs[1].astype(dtype) if np.issubdtype(inputs[1].dtype, np.floating) else inputs[1]
        out, t_out = ours(x, target), theirs(t_x, torch.from_numpy(target.copy()))
        dx = ours.backward()                               # d loss / d input
        t_out.backward()
    else:
        out, t_out = ours(x), theirs(t_x)
        grad = np.random.default_rng(1).standard_normal(out.shape).astype(dtype)
        dx = ours.backward(grad)
        t_out.backward(torch.from_numpy(grad))
    d_out = float(np.max(np.abs(np.asarray(out, np.float64) - t_out.detach().numpy())))
    d_grad = float(np.max(np.abs(dx - t_x.grad.numpy())))
    t_params = dict(theirs.named_parameters())
    d_params = max([float(np.max(np.abs(p.grad - t_params[n].grad.numpy())))
                    for n, p in ours.named_parameters()], default=0.0)
    return d_out, max(d_grad, d_params)


def run(out, quick=False, data_dir=None, log=print) -> dict:
    import torch
    log("Part 1: ours against PyTorch on the same inputs (64 x 10, random), max |difference|")
    rows = []
    for dtype in (np.float32, np.float64):
        for name, ours, theirs, inputs in _layers():
            d_out, d_grad = _differences(ours, theirs, inputs, dtype)
            rows.append([name, np.dtype(dtype).name, f"{d_out:.1e}", f"{d_grad:.1e}"])
    print_table(["layer", "dtype", "output", "gradients"], rows, log)

    log("\nPart 2: an MLP 64-64-10 trained on the 8x8 digits by ours and by PyTorch, from the same "
        "initial weights, on the same batches (Adam, lr 3e-3)")
    from ...data import Digits
    train, test = Digits(train=True), Digits(train=False)
    x = train.data.reshape(len(train), -1).astype(np.float32) / 16
    x_test = test.data.reshape(len(test), -1).astype(np.float32) / 16
    y, y_test = train.targets, test.targets
    epochs = 1 if quick else 15
    manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    twin = to_torch(model)
    ours = train_ours(model, optim.Adam(model.parameters(), lr=3e-3), x, train.targets, x_test,
                      y_test, epochs, 32)
    theirs = train_torch(twin, torch.optim.Adam(twin.parameters(), lr=3e-3), x, y, x_test,
                         y_test, epochs, 32)
    gap = float(np.max(np.abs(np.array(ours["loss"]) - np.array(theirs["loss"]))))
    print_table(["library", "final loss", "test accuracy", "train seconds"],
                [[name, f"{r['loss'][-1]:.4f}", f"{r['accuracy']:.3f}", f"{r['seconds']:.2f}"]
                 for name, r in (("numpy_transformer", ours), ("PyTorch", theirs))], log)
    log(f"largest loss difference over the {len(ours['loss'])} steps: {gap:.2e}")

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4))
    ax.plot(smooth(ours["loss"]), label="numpy_transformer", linewidth=2.5, alpha=0.7)
    ax.plot(smooth(theirs["loss"]), "--", label="PyTorch", linewidth=1.2)
    ax.set(xlabel="step", ylabel="training loss (running mean of 20)", yscale="log",
           title="MLP 64-64-10 on the 8x8 digits: the two curves coincide")
    ax.legend()
    ax.grid(alpha=0.3)
    path = save(fig, out / "week_1_mlp.png")
    log(f"\nplot: {path}")
    return {"max_output_difference": max(float(r[2]) for r in rows),
            "ours_accuracy": ours["accuracy"], "torch_accuracy": theirs["accuracy"],
            "loss_gap": gap, "plot": path}
