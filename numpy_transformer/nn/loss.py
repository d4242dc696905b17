"""Loss modules with PyTorch's names, arguments and defaults.

    loss = criterion(input, target)   # a 0-d array of input's dtype ('none': one loss per element)
    dinput = criterion.backward()     # d loss / d input; 'none' needs backward(grad of loss's shape)

The target gets no gradient. Inputs are checked at the call, and a nan or inf loss raises
FloatingPointError naming its cause. A criterion called k times is backpropagated k times,
last call first, like every module.
"""
import numpy as np

from ..dtype import get_default_dtype
from ..kernels import ops
from ._checks import check_float
from .module import Module

__all__ = ["CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss", "MSELoss", "L1Loss",
           "SmoothL1Loss", "HuberLoss"]


def _first(mask):
    """The index (a tuple) of the first True element."""
    return tuple(int(i) for i in np.argwhere(mask)[0])


def _as_weight(weight):
    """None, or a floating array (integers become the default dtype)."""
    if weight is None:
        return None
    weight = weight if hasattr(weight, "dtype") else np.asarray(weight)      # any device
    return weight if np.issubdtype(weight.dtype, np.floating) else weight.astype(get_default_dtype())


class _Loss(Module):
    """Checks, the functional forward, the finite check and the cache stack of every loss."""

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"{type(self).__name__}: reduction must be 'mean', 'sum' or 'none', "
                             f"got {reduction!r}")
        self.reduction = reduction

    @property
    def _name(self) -> str:
        return type(self).__name__

    # subclasses: _check(input, target), _forward(input, target) -> (loss, cache),
    # _backward(grad, cache) -> dinput
    def forward(self, input, target):
        check_float(self, input)
        if not hasattr(target, "dtype"):
            raise TypeError(f"{self._name} expects an array as target, got {type(target).__name__}")
        self._check(input, target)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # reported below
            loss, cache = self._forward(input, target)
        if not np.isfinite(loss).all():
            raise FloatingPointError(self._not_finite(loss, input, target))
        self._push(cache, loss)
        return loss

    def backward(self, grad=None):
        """d loss / d input; `grad`: d(something)/d loss, 1 when None (a 'mean' or 'sum' loss)."""
        if grad is None and self._caches and self._caches[-1][1][0] != ():
            raise ValueError(f"{self._name}(reduction='none') gave a loss of shape "
                             f"{self._caches[-1][1][0]}: pass backward(grad) of that shape")
        cache = self._pop(grad, "grad")
        return self._backward(1.0 if grad is None else grad, cache)

    def _weights(self, x):
        """The weight buffers to check for nan; subclasses with weights extend this."""
        return {}

    def _not_finite(self, loss, input, target) -> str:
        """Why the loss is nan or inf: the first non-finite input, target or weight, or a hint."""
        kind = "nan" if np.isnan(loss).any() else "inf"
        arrays = {"input": input, "target": target, **self._weights(input)}
        for name, a in arrays.items():
            if a is not None and np.issubdtype(a.dtype, np.floating) and not np.isfinite(a).all():
                where = _first(~np.isfinite(a))
                return (f"{self._name}: loss is {kind}; the {name} contains {a[where]} at {where} "
                        f"(shape {tuple(a.shape)})")
        if input.size == 0 and self.reduction == "mean":
            return f"{self._name}: loss is {kind}; the input is empty, so the mean divides 0 by 0"
        return (f"{self._name}: loss is {kind} although input and target are finite: "
                f"{self._hint(input, target)}")

    def _hint(self, input, target) -> str:
        return f"it overflowed {input.dtype} (values too large?)"

    def _check_like_input(self, input, target):
        """A floating target of the input's shape and dtype."""
        if not np.issubdtype(target.dtype, np.floating):
            raise TypeError(f"{self._name} needs a floating target of the input's shape "
                            f"{tuple(input.shape)}, got {target.dtype} with shape {tuple(target.shape)}")
        if target.shape != input.shape:
            raise ValueError(f"{self._name} got input of shape {tuple(input.shape)} and target of "
                             f"shape {tuple(target.shape)}; they must be equal")
        if target.dtype != input.dtype:
            raise TypeError(f"{self._name} got input of dtype {input.dtype} and target of dtype "
                            f"{target.dtype}; convert the target (target.astype(np.{input.dtype}))")

    def _check_broadcasts(self, name, weight, input):
        if weight is None:
            return
        try:
            fits = np.broadcast_shapes(weight.shape, input.shape) == input.shape
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(f"{self._name}: {name} of shape {tuple(weight.shape)} does not "
                             f"broadcast to the input's shape {tuple(input.shape)}")

    def _cast(self, weight, x):
        """A weight buffer in the input's dtype (a small array: no upcast of the input)."""
        return None if weight is None else weight.astype(x.dtype, copy=False)

    def extra_repr(self):
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"


class _ClassIndexLoss(_Loss):
    """Losses of input [N, C, d1, ...] or [C] against class indices; optional weight [C]."""

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean"):
        super().__init__(reduction)
        weight = _as_weight(weight)
        if weight is not None and weight.ndim != 1:
            raise ValueError(f"{type(self).__name__}: weight must be 1-D (one per class), "
                             f"got shape {tuple(weight.shape)}")
        self.register_buffer("weight", weight)
        self.ignore_index = int(ignore_index)

    def _weights(self, x):
        return {"weight": self.weight}

    def _check_classes(self, input):
        """C, from input [N, C, ...] or [C]; the weight must have C entries."""
        if input.ndim == 0:
            raise ValueError(f"{self._name} expects input [N, C, ...] or [C], got a 0-d input")
        n_classes = input.shape[0 if input.ndim == 1 else 1]
        if self.weight is not None and self.weight.shape[0] != n_classes:
            raise ValueError(f"{self._name}: weight of shape {tuple(self.weight.shape)} for input "
                             f"of shape {tuple(input.shape)} with C = {n_classes} classes")
        return n_classes

    def _check_indices(self, input, target, n_classes):
        """Integer class indices in [0, C) (or ignore_index) of the input's shape without C."""
        index_shape = () if input.ndim == 1 else input.shape[:1] + input.shape[2:]
        if target.shape != index_shape:
            raise ValueError(f"{self._name} expects class indices of shape {index_shape} for "
                             f"input of shape {tuple(input.shape)}, got target of shape "
                             f"{tuple(target.shape)}")
        bad = ((target < 0) | (target >= n_classes)) & (target != self.ignore_index)
        if bad.any():
            where = _first(bad) if target.ndim else ()
            raise IndexError(f"{self._name}: target class index {int(target[where])} at {where} "
                             f"is out of range for input of shape {tuple(input.shape)} with "
                             f"C = {n_classes} classes (valid: 0..{n_classes - 1}, or "
                             f"ignore_index={self.ignore_index})")

    def _hint(self, input, target):
        if self.reduction == "mean" and np.issubdtype(target.dtype, np.integer):
            if (target == self.ignore_index).all():
                return (f"every target is ignore_index={self.ignore_index}, so the mean divides "
                        "0 by 0")
            return "the weights of the targets sum to 0, so the mean divides by 0"
        return super()._hint(input, target)


class CrossEntropyLoss(_ClassIndexLoss):
    """Softmax cross-entropy of logits against class indices or class probabilities."""

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0):
        super().__init__(weight, ignore_index, reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"CrossEntropyLoss: label_smoothing must be in [0, 1], got {label_smoothing}")
        self.label_smoothing = float(label_smoothing)

    def _check(self, input, target):
        n_classes = self._check_classes(input)
        if np.issubdtype(target.dtype, np.floating):
            if target.shape != input.shape:
                raise TypeError(
                    f"{self._name} got a floating target of shape {tuple(target.shape)} for input "
                    f"of shape {tuple(input.shape)}: class indices must be integers, class "
                    f"probabilities need the input's shape")
            if target.dtype != input.dtype:
                raise TypeError(f"{self._name} got input of dtype {input.dtype} and probabilities "
                                f"of dtype {target.dtype}; convert the target")
        elif np.issubdtype(target.dtype, np.integer):
            if target.shape == input.shape and input.ndim > 1:
                raise TypeError(
                    f"{self._name} got an integer target of the input's shape {tuple(input.shape)}: "
                    f"class probabilities must be floating; class indices have no class dimension")
            self._check_indices(input, target, n_classes)
        else:
            raise TypeError(f"{self._name} needs class indices (integers) or class probabilities "
                            f"(floating) as target, got {target.dtype}")

    def _forward(self, input, target):
        return ops.cross_entropy_forward(input, target, self._cast(self.weight, input),
                                       self.ignore_index, self.reduction, self.label_smoothing)

    def _backward(self, grad, cache):
        return ops.cross_entropy_backward(grad, cache)


class NLLLoss(_ClassIndexLoss):
    """Negative log-likelihood of log-probabilities (e.g. LogSoftmax's output) at class indices."""

    def _check(self, input, target):
        n_classes = self._check_classes(input)
        if not np.issubdtype(target.dtype, np.integer):
            raise TypeError(f"{self._name} needs integer class indices as target, got "
                            f"{target.dtype} with shape {tuple(target.shape)}")
        self._check_indices(input, target, n_classes)

    def _forward(self, input, target):
        return ops.nll_loss_forward(input, target, self._cast(self.weight, input),
                                  self.ignore_index, self.reduction)

    def _backward(self, grad, cache):
        return ops.nll_loss_backward(grad, cache)


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities in [0, 1] (after a Sigmoid) against targets in [0, 1]."""

    def __init__(self, weight=None, reduction: str = "mean"):
        super().__init__(reduction)
        self.register_buffer("weight", _as_weight(weight))

    def _weights(self, x):
        return {"weight": self.weight}

    def _check(self, input, target):
        self._check_like_input(input, target)
        self._check_broadcasts("weight", self.weight, input)
        for name, a, hint in (("input", input, " (apply a Sigmoid first, or use BCEWithLogitsLoss)"),
                              ("target", target, "")):
            outside = (a < 0) | (a > 1)
            if outside.any():
                where = _first(outside)
                raise ValueError(f"{self._name} needs {name} values in [0, 1]{hint}; got "
                                 f"{a[where]} at {where} (shape {tuple(a.shape)})")

    def _forward(self, input, target):
        return ops.binary_cross_entropy_forward(input, target, self._cast(self.weight, input),
                                              self.reduction)

    def _backward(self, grad, cache):
        return ops.binary_cross_entropy_backward(grad, cache)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid + binary cross-entropy in one stable formula, from the logits."""

    def __init__(self, weight=None, reduction: str = "mean", pos_weight=None):
        super().__init__(reduction)
        self.register_buffer("weight", _as_weight(weight))
        self.register_buffer("pos_weight", _as_weight(pos_weight))

    def _weights(self, x):
        return {"weight": self.weight, "pos_weight": self.pos_weight}

    def _check(self, input, target):
        self._check_like_input(input, target)
        self._check_broadcasts("weight", self.weight, input)
        self._check_broadcasts("pos_weight", self.pos_weight, input)

    def _forward(self, input, target):
        return ops.binary_cross_entropy_with_logits_forward(
            input, target, self._cast(self.weight, input), self._cast(self.pos_weight, input),
            self.reduction)

    def _backward(self, grad, cache):
        return ops.binary_cross_entropy_with_logits_backward(grad, cache)


class _RegressionLoss(_Loss):
    """An elementwise loss of x - y; target: the input's shape and dtype."""

    _forward_fn = _backward_fn = None

    def _options(self) -> dict:
        return {}

    def _check(self, input, target):
        self._check_like_input(input, target)

    def _forward(self, input, target):
        forward = getattr(ops, self._kernel + "_forward")
        return forward(input, target, self.reduction, **self._options())

    def _backward(self, grad, cache):
        return getattr(ops, self._kernel + "_backward")(grad, cache)


class MSELoss(_RegressionLoss):
    """(x - y)^2."""
    _kernel = "mse_loss"


class L1Loss(_RegressionLoss):
    """|x - y|."""
    _kernel = "l1_loss"


class SmoothL1Loss(_RegressionLoss):
    """0.5 d^2 / beta for |d| < beta, else |d| - 0.5 beta."""
    _kernel = "smooth_l1_loss"

    def __init__(self, reduction: str = "mean", beta: float = 1.0):
        super().__init__(reduction)
        if beta < 0:
            raise ValueError(f"SmoothL1Loss: beta must be >= 0, got {beta}")
        self.beta = float(beta)

    def _options(self):
        return {"beta": self.beta}


class HuberLoss(_RegressionLoss):
    """0.5 d^2 for |d| < delta, else delta (|d| - 0.5 delta)."""
    _kernel = "huber_loss"

    def __init__(self, reduction: str = "mean", delta: float = 1.0):
        super().__init__(reduction)
        if delta <= 0:
            raise ValueError(f"HuberLoss: delta must be > 0, got {delta}")
        self.delta = float(delta)

    def _options(self):
        return {"delta": self.delta}
