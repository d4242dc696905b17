"""to_torch builds the torch.nn twin with the same weights: the same outputs."""
import numpy as np
import pytest
import torch

import numpy_transformer as nt
from numpy_transformer import nn
from numpy_transformer.interop import load_torch_state_dict, to_torch

MODELS = {
    "mlp": (lambda: nt.models.MLP((12, 16, 8, 3), activation="gelu", dropout=0.1), (5, 3, 4)),
    "cnn": (lambda: nt.models.CNN(in_channels=2, image_size=8, channels=(4, 6), hidden=10), (3, 2, 8, 8)),
    "everything": (lambda: nn.Sequential(
        nn.Conv2d(2, 4, 3, stride=2, padding="valid", dilation=1), nn.BatchNorm2d(4), nn.LeakyReLU(0.1),
        nn.AvgPool2d(2, ceil_mode=True), nn.Dropout2d(0.2), nn.Flatten(), nn.LayerNorm(64),
        nn.Linear(64, 6), nn.Tanh(), nn.BatchNorm1d(6, affine=False), nn.Sigmoid(), nn.Linear(6, 5),
        nn.LogSoftmax(dim=-1)), (4, 2, 17, 17)),
}


@pytest.mark.fast_too
@pytest.mark.parametrize("name", MODELS)
def test_twin_gives_the_same_outputs(name):
    build, shape = MODELS[name]
    model = build().double().eval()
    twin = to_torch(model, torch.float64)
    x = np.random.default_rng(0).standard_normal(shape)
    with nt.no_grad():
        ours = model(x)
    np.testing.assert_allclose(ours, twin(torch.from_numpy(x)).detach().numpy(), rtol=1e-10, atol=1e-12)


def test_torch_weights_load_back_into_ours():
    model = nt.models.MLP((4, 3, 2))
    twin = to_torch(model)
    with torch.no_grad():
        for p in twin.parameters():
            p.add_(1.0)
    load_torch_state_dict(model, twin.state_dict())
    np.testing.assert_array_equal(model[1].weight.data, twin[1].weight.detach().numpy())


def test_unknown_layers_are_named():
    class Custom(nn.Module):
        pass

    with pytest.raises(NotImplementedError, match="no torch twin for Custom"):
        to_torch(nn.Sequential(Custom()))
