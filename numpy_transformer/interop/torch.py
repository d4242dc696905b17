"""Our layers as their torch.nn twins with the same weights, and state dicts both ways."""
import numpy as np

from .. import nn


def _torch():
    try:
        import torch
    except ImportError:
        raise ImportError("this needs PyTorch: pip install torch==2.13.0") from None
    return torch


def _twin(module):
    """A torch.nn module of the same class and options (weights not yet copied)."""
    tnn = _torch().nn
    kind = type(module)
    if isinstance(module, nn.Sequential):
        return tnn.Sequential(*[_twin(child) for child in module])
    builders = {
        nn.Linear: lambda m: tnn.Linear(m.in_features, m.out_features, bias=m.bias is not None),
        nn.Conv2d: lambda m: tnn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride,
                                        m.padding, m.dilation, m.groups, bias=m.bias is not None),
        nn.MaxPool2d: lambda m: tnn.MaxPool2d(m.kernel_size, m.stride, m.padding, m.dilation,
                                              ceil_mode=m.ceil_mode),
        nn.AvgPool2d: lambda m: tnn.AvgPool2d(m.kernel_size, m.stride, m.padding, m.ceil_mode,
                                              m.count_include_pad, m.divisor_override),
        nn.Flatten: lambda m: tnn.Flatten(m.start_dim, m.end_dim),
        nn.Dropout1d: lambda m: tnn.Dropout1d(m.p),
        nn.Dropout2d: lambda m: tnn.Dropout2d(m.p),
        nn.Dropout: lambda m: tnn.Dropout(m.p),
        nn.ReLU: lambda m: tnn.ReLU(),
        nn.LeakyReLU: lambda m: tnn.LeakyReLU(m.negative_slope),
        nn.GELU: lambda m: tnn.GELU(m.approximate),
        nn.Tanh: lambda m: tnn.Tanh(),
        nn.Sigmoid: lambda m: tnn.Sigmoid(),
        nn.Softmax: lambda m: tnn.Softmax(m.dim),
        nn.LogSoftmax: lambda m: tnn.LogSoftmax(m.dim),
        nn.Identity: lambda m: tnn.Identity(),
        nn.LayerNorm: lambda m: tnn.LayerNorm(m.normalized_shape, m.eps, m.elementwise_affine,
                                              bias=m.bias is not None or not m.elementwise_affine),
        nn.BatchNorm1d: lambda m: tnn.BatchNorm1d(m.num_features, m.eps, m.momentum, m.affine,
                                                  m.track_running_stats, bias=m.bias is not None or not m.affine),
        nn.BatchNorm2d: lambda m: tnn.BatchNorm2d(m.num_features, m.eps, m.momentum, m.affine,
                                                  m.track_running_stats, bias=m.bias is not None or not m.affine),
    }
    for cls in kind.__mro__:
        if cls in builders:
            return builders[cls](module)
    raise NotImplementedError(f"no torch twin for {kind.__name__}; write one for this model")


def torch_state_dict(module) -> dict:
    """Our state dict as torch tensors (copies)."""
    torch = _torch()
    return {k: torch.from_numpy(np.array(v)) for k, v in module.state_dict().items()}


def to_torch(module, dtype=None):
    """A torch.nn twin of `module` (Sequentials of standard layers) holding the same weights."""
    twin = _twin(module)
    twin.load_state_dict(torch_state_dict(module))
    twin.train(module.training)
    return twin.to(dtype) if dtype is not None else twin


def load_torch_state_dict(module, state_dict, strict: bool = True):
    """Load a torch state dict (tensors) into our module, by name."""
    arrays = {k: v.detach().cpu().numpy() for k, v in state_dict.items()}
    return module.load_state_dict(arrays, strict=strict)
