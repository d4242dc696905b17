"""Compiled CPU kernels (Numba, the `[fast]` extra): one pass over memory where NumPy makes
several (LayerNorm, BatchNorm, GELU, LeakyReLU, attention's softmax, the LSTM's step,
cross-entropy, Adam, the convolution's moves, the hybrid ViT's stem). Each replaces the fast
kernel of the same name when Numba is installed; tests/kernels proves each equal to the
reference. Numba is imported at the first call (importing it costs 0.3 s), and each kernel is
compiled then and cached on disk across runs. Numba's cache knows only a kernel's own file:
after editing fast_math.py, cpu/erf.py (the GELU's constants) or activation.py (whose Phi
patches.py inlines), delete this folder's __pycache__."""
import importlib
import importlib.util
import os

__all__ = ["kernels", "available"]

KERNELS = {"layer_norm_forward": "layer_norm", "layer_norm_backward": "layer_norm",
           "batch_norm_forward": "batch_norm", "batch_norm_backward": "batch_norm",
           "gelu_forward": "activation", "gelu_backward": "activation",
           "leaky_relu_forward": "activation", "leaky_relu_backward": "activation",
           "lstm_forward": "recurrent", "lstm_backward": "recurrent",
           "scaled_dot_product_attention_forward": "attention",
           "scaled_dot_product_attention_backward": "attention",
           "adam_update": "adam",
           "conv2d_forward": "conv", "conv2d_backward": "conv",
           "conv_transpose2d_forward": "conv", "conv_transpose2d_backward": "conv",
           "cross_entropy_forward": "loss", "cross_entropy_backward": "loss",
           "conv_patches_forward": "patches", "conv_patches_backward": "patches"}


def available() -> bool:
    """Whether Numba is installed (pip install -e ".[fast]") and not switched off with
    NT_COMPILED=0 (which measures the fast set without it)."""
    return os.environ.get("NT_COMPILED", "1") != "0" and importlib.util.find_spec("numba") is not None


def kernels() -> dict:
    """{name: function} of the compiled kernels; empty without Numba."""
    return {name: _on_first_call(name, module) for name, module in KERNELS.items()} \
        if available() else {}


def _on_first_call(name: str, module: str):
    """`name` of the compiled module `module`, imported when first called."""
    compiled = []

    def kernel(*args, **kwargs):
        if not compiled:
            compiled.append(getattr(importlib.import_module(f"{__name__}.{module}"), name))
        return compiled[0](*args, **kwargs)
    kernel.__name__ = kernel.__qualname__ = name
    kernel.__doc__ = f"The compiled {name} (kernels/compiled/{module}.py)."
    return kernel
