"""Whole training steps (forward, loss, backward, Adam) of the MNIST models at batch 64."""
import numpy as np

from ..harness import case


def _batch(shape):
    rng = np.random.default_rng(0)
    return rng.standard_normal(shape).astype(np.float32), rng.integers(0, 10, shape[0])


def _training_step(lib, build, shape):
    x, y = _batch(shape)
    import numpy_transformer as nt
    nt.manual_seed(0)
    model = build(nt)
    if lib == "numpy":
        criterion = nt.nn.CrossEntropyLoss()
        optimizer = nt.optim.Adam(model.parameters(), lr=1e-3)

        def step():
            optimizer.zero_grad()
            criterion(model(x), y)
            model.backward(criterion.backward())
            optimizer.step()
        return step
    import torch
    twin = nt.interop.to_torch(model)
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(twin.parameters(), lr=1e-3)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)

    def step():
        optimizer.zero_grad()
        criterion(twin(tx), ty).backward()
        optimizer.step()
    return step


@case("MLP 784-256-128-10 train step b64", target=1.1, recipe="mlp-mnist")
def mlp_step(lib):
    return _training_step(lib, lambda nt: nt.models.MLP((784, 256, 128, 10)), (64, 784))


@case("CNN mnist train step b64", target=1.5, recipe="cnn-mnist")
def cnn_step(lib):
    return _training_step(lib, lambda nt: nt.models.CNN(dropout=0.0), (64, 1, 28, 28))
