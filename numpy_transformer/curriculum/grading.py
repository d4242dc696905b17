"""The grader's building blocks: checks that run a learner's code on chosen inputs and, when it is
wrong, raise `CheckFailure` saying which input, expected against got, and a hint.

Three kinds of check:
- `PairCheck`: a functional pair `out, cache = thing_forward(*inputs)` / `grads =
  thing_backward(dout, cache)`, against a PyTorch function (`compare_with_torch`) and against
  finite differences of the learner's own forward (`check_functional_gradients`).
- `ModuleCheck`: a Module class against its torch.nn twin (`compare_with_torch`, weights copied
  by name) and by finite differences (`check_module_gradients`).
- `FunctionCheck`: anything else (dropout's randomness, optimizers, tokenizers): a function that
  raises `CheckFailure` itself.
When a result is wrong, `diagnose` and the check's `Mistake`s name the likely cause.
"""
import inspect
import re
from dataclasses import dataclass, field

import numpy as np

from ..nn.module import Module
from ..testing import assert_close, check_functional_gradients, check_module_gradients
from ..testing import compare_with_torch

__all__ = ["CheckFailure", "Case", "Mistake", "PairCheck", "ModuleCheck", "FunctionCheck",
           "diagnose", "describe_inputs", "compare_arrays", "close"]


class CheckFailure(Exception):
    """A wrong result: `what` failed on `case` (the input, in words); `detail` says how."""

    def __init__(self, what: str, detail: str, case: str = None, hint: str = None, got=None,
                 expected=None):
        detail = _plain_numbers(detail)
        super().__init__(f"{what}: {detail}")
        self.what, self.detail, self.case, self.hint = what, detail, case, hint
        self.got, self.expected = got, expected

    def to_dict(self) -> dict:
        return {"what": self.what, "detail": self.detail, "case": self.case, "hint": self.hint,
                "got": self.got, "expected": self.expected}


def _plain_numbers(text: str) -> str:
    """'np.float64(0.5)' -> '0.5' in numpy 2's reprs."""
    text = re.sub(r"np\.(?:float|int|uint|bool)\w*\((.*?)\)", r"\1", str(text))
    return re.sub(r"-?\d+\.\d{7,}(?:e[-+]?\d+)?", lambda m: f"{float(m.group()):.6g}", text)


@dataclass
class Case:
    """One input to try: `label` says what is special about it, for the report."""
    label: str
    inputs: tuple
    kwargs: dict = field(default_factory=dict)
    dtype: type = np.float64
    fd: bool = True          # finite differences make sense (no kink, tie or clamp near the input)


@dataclass
class Mistake:
    """A classic wrong answer: when the learner's `quantity` ('output' or a gradient name) equals
    `wrong(*inputs, dout=dout, **kwargs)`, the report gives `hint`."""
    quantity: str
    wrong: object
    hint: str


def close(a, b, rtol=1e-5, atol=1e-7) -> bool:
    """Same shape and allclose (NaN equal to NaN)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True))


def compare_arrays(got, expected, what: str, dtype=np.float64, rtol=None, atol=None) -> None:
    """`assert_close` with the tolerances of `dtype`; raises AssertionError with its message."""
    from ..testing import tolerances
    rtol, atol = tolerances(dtype, rtol, atol)
    if not isinstance(got, np.ndarray) and not np.isscalar(got):
        raise AssertionError(f"{what}: got {type(got).__name__}, expected an array of shape "
                             f"{np.shape(expected)}")
    assert_close(np.asarray(got), np.asarray(expected), rtol, atol, what)


# ---------------------------------------------------------------- words for inputs and errors

def _describe_value(value) -> str:
    if isinstance(value, np.ndarray):
        small = value.ndim <= 1 and value.size <= (4 if np.issubdtype(value.dtype, np.floating) else 12)
        if small:
            return f"{np.array2string(value, precision=4, separator=', ')} ({value.dtype})"
        return f"[{', '.join(map(str, value.shape))}] {value.dtype}"
    if isinstance(value, (tuple, list)) and value and all(isinstance(v, np.ndarray) for v in value):
        return "(" + ", ".join(_describe_value(v) for v in value) + ")"
    return repr(value)


def describe_inputs(names, inputs, kwargs=None, dtype=None) -> str:
    """'x [2, 5] float64, axis=0': every positional input with its shape, then the options."""
    parts = []
    for i, value in enumerate(inputs):
        name = names[i] if i < len(names) else f"input {i}"
        if isinstance(value, np.ndarray) and dtype is not None and np.issubdtype(value.dtype, np.floating):
            value = value.astype(dtype)
        parts.append(f"{name} {_describe_value(value)}" if value is not None else f"{name}=None")
    parts += [f"{k}={_describe_value(v)}" for k, v in (kwargs or {}).items()]
    return ", ".join(parts)


def _short(array) -> str:
    """A small array in full, a big one by its shape."""
    array = np.asarray(array)
    if array.size <= 12:
        return np.array2string(array, precision=5, separator=", ", suppress_small=True).replace("\n", "")
    return f"an array of shape {list(array.shape)}"


def diagnose(got, expected, dout=None) -> str:
    """A hint from the numbers alone: wrong shape, transposed, NaN, zeros, sign, a constant factor."""
    try:
        got = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    expected = np.asarray(expected, dtype=np.float64)
    if got.shape != expected.shape:
        if got.ndim == 2 and got.shape == expected.shape[::-1]:
            return f"your result has shape {got.shape}, the transpose of {expected.shape}: transposed?"
        if got.size == expected.size:
            return (f"your result has shape {got.shape}, expected {expected.shape}: the right number "
                    "of values in the wrong layout (a reshape or an axis order?)")
        if got.ndim == expected.ndim and all(abs(a - b) <= 1 for a, b in zip(got.shape, expected.shape)):
            return (f"your result has shape {got.shape}, expected {expected.shape}: off by one in "
                    "a size (a missing + 1 in the output-size formula, or a range that stops early?)")
        return None
    if not np.isfinite(got).all() and np.isfinite(expected).all():
        return ("your result has NaN or inf where the answer is finite: an overflow (exp of a large "
                "number: subtract the max first) or a log/division at 0?")
    if expected.size == 0 or not np.isfinite(expected).all():
        return None
    scale = np.abs(expected).max()
    if scale == 0:
        return None
    if np.abs(got).max() <= 1e-12 * max(scale, 1):
        return "your result is all zeros"
    if close(got, -expected, 1e-4, 1e-6 * scale):
        return "your result has the opposite sign"
    nonzero = np.abs(expected) > 1e-3 * scale
    ratios = got[nonzero] / expected[nonzero]
    ratio = float(np.median(ratios))
    if ratio != 0 and close(got, ratio * expected, 1e-4, 1e-6 * scale):
        if dout is not None and np.ndim(dout) == 0 and float(dout) != 0 and \
                abs(ratio * float(dout) - 1) < 1e-4:
            return ("your result is the answer divided by dout: multiply by the incoming gradient "
                    "dout (it is not always 1)")
        return (f"your result is {ratio:.6g} times the answer: a missing or extra constant factor "
                "(a 1/N of a mean? a 1/(1-p)? a scale?)")
    return None


def _learner_frames(exc):
    """The traceback frames in files other than the library's (the learner's code)."""
    import traceback
    import numpy_transformer
    library = numpy_transformer.__path__[0]
    frames = traceback.extract_tb(exc.__traceback__)
    return [f for f in frames if not f.filename.startswith(library) and "/numpy/" not in f.filename
            and "/torch/" not in f.filename]


def where_raised(exc) -> str:
    """'exercise.py line 12 in relu_forward: y = ...' for the learner's deepest frame, or ''."""
    frames = _learner_frames(exc)
    if not frames:
        return ""
    f = frames[-1]
    import os
    return f"{os.path.basename(f.filename)} line {f.lineno} in {f.name}: {(f.line or '').strip()}"


def _inputs_text(n: int) -> str:
    return f"{n} input{'s' if n != 1 else ''}"


# ---------------------------------------------------------------- functional pairs

class _Contract(Exception):
    """The learner's `function` broke the forward/backward contract (wrong kind of return)."""

    def __init__(self, function: str, message: str,
                 hint: str = "see the function's docstring for what it returns"):
        super().__init__(message)
        self.function, self.hint = function, hint


def _as_array(value, what, function):
    """Numpy scalars (np.float64(1.0)) become 0-d arrays; anything else that is not an array fails."""
    if isinstance(value, (np.generic, float, int)) and not isinstance(value, bool):
        return np.asarray(value)
    if not isinstance(value, np.ndarray):
        raise _Contract(function, f"{what} is a {type(value).__name__}, not a numpy array")
    return value


class _PairModule(Module):
    """A functional pair as a Module, so that `compare_with_torch` can run it; keeps what it saw."""

    def __init__(self, check, forward, backward, kwargs):
        super().__init__()
        self.check, self.fwd, self.bwd, self.kwargs = check, forward, backward, kwargs
        self.out = self.dout = self.grads = self.cache = None

    def forward(self, *inputs):
        self.present = {i for i, x in enumerate(inputs) if x is not None}
        before = [x.copy() if isinstance(x, np.ndarray) else None for x in inputs]
        result = self.fwd(*inputs, **self.kwargs)
        self.check.unchanged(inputs, before, self.check.forward)
        self.out, self.cache = self.check.split_forward(result)
        return self.out

    def backward(self, dout):
        self.dout = dout
        kept = np.array(dout, copy=True)
        self.grads = self.check.split_backward(self.bwd(dout, self.cache), self.present)
        if not np.array_equal(kept, dout, equal_nan=True):
            raise _Contract(self.check.backward, f"{self.check.backward} changed dout in place",
                            "compute the gradient into a new array: dout may be used again "
                            "(dx = dout * mask, not dout *= mask)")
        return tuple(self.grads[i] for i in self.check.grad_inputs)


def _torch_kwargs(kwargs, dtype=None):
    """Array options (a mask) as tensors; floating ones in `dtype`."""
    import torch
    converted = {}
    for key, value in kwargs.items():
        if isinstance(value, np.ndarray):
            value = torch.from_numpy(np.array(value))
            if dtype is not None and value.is_floating_point():
                value = value.to(dtype)
        converted[key] = value
    return converted


def _torch_function_module(fn, kwargs):
    import torch
    kwargs = _torch_kwargs(kwargs)

    class TorchFunction(torch.nn.Module):
        def forward(self, *inputs):
            return fn(*inputs, **kwargs)
    return TorchFunction()


@dataclass
class PairCheck:
    """`forward`/`backward` (names in the learner's file) against `torch_fn` and finite differences.

    `args`: names of forward's positional inputs; `grads`: names of what backward returns, one per
    input in order (None where an input has no gradient, e.g. integer ids); inputs after the last
    entry (a target) get none. `hints`: the usual mistake per quantity ('output', or a gradient
    name). `cases()` builds the inputs (called at check time)."""
    name: str
    forward: str
    backward: str
    args: tuple
    grads: tuple
    torch_fn: object
    cases: object
    hints: dict = field(default_factory=dict)
    mistakes: list = field(default_factory=list)
    returns_tuple: bool = None     # backward returns a tuple (default: when grads has 2+ entries)
    uses: tuple = ()
    updated: tuple = ()            # inputs that forward may change in place (running statistics)

    @property
    def needs(self):
        return (self.forward, self.backward)

    @property
    def grad_inputs(self):
        return [i for i, g in enumerate(self.grads) if g]

    # ---- the contract ----
    def unchanged(self, inputs, before, function):
        """Raise if `function` wrote into one of its inputs (other than the `updated` ones)."""
        for i, (x, old) in enumerate(zip(inputs, before)):
            if old is not None and i not in self.updated and not np.array_equal(x, old, equal_nan=True):
                name = self.args[i] if i < len(self.args) else f"input {i}"
                raise _Contract(function, f"{function} changed its input {name} in place",
                                "compute the result into a new array (np.maximum(x, 0), not "
                                "x[x < 0] = 0): the caller still needs its input")

    def split_forward(self, result):
        if not isinstance(result, tuple) or len(result) != 2:
            kind = f"a tuple of {len(result)}" if isinstance(result, tuple) else type(result).__name__
            raise _Contract(self.forward, f"{self.forward} must return (out, cache), it returned "
                            f"{kind}; end it with `return out, cache`")
        out, cache = result
        return _as_array(out, f"the out that {self.forward} returned", self.forward), cache

    def split_backward(self, result, present=None):
        """The gradients as a list aligned with the inputs; `present`: indexes of the inputs that
        were not None (a None bias has no gradient)."""
        names = self.grads
        as_tuple = len(names) > 1 if self.returns_tuple is None else self.returns_tuple
        if not as_tuple:
            if isinstance(result, tuple) and len(result) == 1:
                result = result[0]
            result = (result,)
        elif not isinstance(result, (tuple, list)) or len(result) != len(names):
            shown = ", ".join(n or "None" for n in names)
            kind = f"{len(result)} values" if isinstance(result, (tuple, list)) else \
                f"a {type(result).__name__}"
            raise _Contract(self.backward, f"{self.backward} must return ({shown}), it returned {kind}")
        grads = list(result)
        for i in self.grad_inputs:
            if present is not None and i not in present:
                continue
            if grads[i] is None:
                raise _Contract(self.backward, f"{self.backward} returned None for {names[i]}")
            grads[i] = _as_array(grads[i], f"the {names[i]} that {self.backward} returned",
                                 self.backward)
        return grads

    # ---- running ----
    def run(self, ns, report=None) -> str:
        forward, backward = ns[self.forward], ns[self.backward]
        cases = self.cases()
        for case in cases:
            self.current_case = self._case_text(case)
            self._against_torch(forward, backward, case)
        for case in cases:
            if case.fd and case.dtype == np.float64:
                self.current_case = self._case_text(case)
                self._finite_differences(forward, backward, case)
        return _inputs_text(len(cases))

    def _with_bias_none(self, case):
        """Which inputs are None: they get no gradient (e.g. bias=None)."""
        return [i for i in self.grad_inputs if i < len(case.inputs) and case.inputs[i] is not None]

    def _against_torch(self, forward, backward, case):
        ours = _PairModule(self, forward, backward, case.kwargs)
        twin = _torch_function_module(self.torch_fn, case.kwargs)
        grad_inputs = self._with_bias_none(case)
        ours_grads = self.grad_inputs
        try:
            compare_with_torch(ours, twin, *case.inputs, dtype=case.dtype, copy_weights=False,
                               check_params=False, grad_inputs=grad_inputs,
                               backward=lambda g: tuple(ours.backward(*g)[ours_grads.index(i)]
                                                        for i in grad_inputs))
        except _Contract as e:
            raise CheckFailure(e.function, str(e), self._case_text(case), e.hint) from None
        except AssertionError as e:
            raise self._failure(case, str(e), ours) from None

    def _case_text(self, case) -> str:
        return f"{case.label}: {describe_inputs(self.args, case.inputs, case.kwargs, case.dtype)}"

    def _quantity(self, message: str):
        """'output' or a gradient name, from compare_with_torch's message."""
        m = re.match(r"gradient of input (\d+)", message)
        if m:
            i = int(m.group(1))
            return self.grads[i] if i < len(self.grads) else f"gradient {i}"
        return "output"

    def _failure(self, case, message, ours) -> CheckFailure:
        quantity = self._quantity(message)
        function = self.forward if quantity == "output" else self.backward
        detail = re.sub(r"^(output \d+|gradient of input \d+)", quantity, message)
        if "silent upcast" in message or "has dtype" in message:
            return CheckFailure(function, detail, self._case_text(case),
                                "keep the input's dtype: a float32 input gives float32 results "
                                "(build arrays with np.zeros_like / x.dtype; avoid float64 arrays "
                                "such as np.array([...]) in the formula)")
        got, expected = self._arrays(case, ours, quantity)
        hint, shown = None, {}
        if got is not None:
            for mistake in self.mistakes:
                if mistake.quantity == quantity:
                    wrong = self._mistake_value(mistake, case, ours.dout)
                    if wrong is not None and close(got, wrong, 1e-4, 1e-6):
                        hint = mistake.hint
                        break
            if expected is not None:
                found = diagnose(got, expected, ours.dout)
                if hint is None:
                    hint = found if not found else f"{found}\n{self.hints.get(quantity) or ''}".strip()
                if np.size(got) <= 12 and np.size(expected) <= 12:
                    shown = {"got": _short(got), "expected": _short(expected)}
        if hint is None:
            hint = self.hints.get(quantity)
        if quantity != "output" and ours.out is not None:
            hint = (hint + "\n" if hint else "") + ("(the forward output matched PyTorch; "
                                                    "the mistake is in the backward)")
        return CheckFailure(f"{function}, {quantity}", detail.split(": ", 1)[-1],
                            self._case_text(case), hint, **shown)

    def _arrays(self, case, ours, quantity):
        """(the learner's value of `quantity`, PyTorch's) for the failing case, or Nones."""
        try:
            if quantity == "output":
                got = ours.out
            else:
                got = ours.grads[self.grads.index(quantity)] if ours.grads is not None else None
            expected = self._torch_values(case, ours.dout)
            expected = expected[0] if quantity == "output" else \
                expected[1].get(self.grads.index(quantity))
            return got, expected
        except Exception:
            return None, None

    def _torch_values(self, case, dout):
        """PyTorch's output and input gradients {index: array} on this case (float64)."""
        import torch
        inputs = []
        for i, x in enumerate(case.inputs):
            if isinstance(x, np.ndarray):
                t = torch.from_numpy(np.array(x))
                if np.issubdtype(x.dtype, np.floating):
                    t = t.to(torch.float64).requires_grad_(i in self.grad_inputs)
                inputs.append(t)
            else:
                inputs.append(x)
        out = self.torch_fn(*inputs, **_torch_kwargs(case.kwargs, torch.float64))
        grads = {}
        if dout is not None:
            out.backward(torch.from_numpy(np.array(dout, dtype=np.float64)))
            grads = {i: inputs[i].grad.numpy() for i in self.grad_inputs
                     if i < len(inputs) and inputs[i] is not None and inputs[i].grad is not None}
        return out.detach().numpy(), grads

    def _mistake_value(self, mistake, case, dout):
        try:
            inputs = [np.array(x, dtype=np.float64) if isinstance(x, np.ndarray) and
                      np.issubdtype(x.dtype, np.floating) else x for x in case.inputs]
            return mistake.wrong(*inputs, dout=None if dout is None else np.asarray(dout, np.float64),
                                 **case.kwargs)
        except Exception:
            return None

    def _finite_differences(self, forward, backward, case):
        def fwd(*inputs, **kwargs):
            return self.split_forward(forward(*inputs, **kwargs))

        present = {i for i, x in enumerate(case.inputs) if x is not None}

        def bwd(dout, cache):
            return tuple(self.split_backward(backward(dout, cache), present))
        try:
            check_functional_gradients(fwd, bwd, list(case.inputs), wrt=self._with_bias_none(case),
                                       kwargs=case.kwargs, name=self.backward)
        except _Contract as e:
            raise CheckFailure(e.function, str(e), self._case_text(case), e.hint) from None
        except AssertionError as e:
            message = str(e)
            m = re.search(r"gradient of input (\d+)", message)
            name = self.grads[int(m.group(1))] if m else "a gradient"
            detail = re.sub(rf"^{self.backward}: gradient of input \d+",
                            f"{name} against finite differences of your forward", message)
            raise CheckFailure(self.backward, detail, self._case_text(case),
                               f"{self.hints.get(name) or ''}\n(your forward matched PyTorch, but "
                               "your backward is not its derivative here)".strip()) from None


# ---------------------------------------------------------------- Module classes

@dataclass
class ModuleCheck:
    """A Module class of the learner's (`cls`) against `twin()`, a torch.nn module with the same
    parameter names. `build(cls)` makes ours; `cases()` lists Case objects (inputs of forward)."""
    name: str
    cls: str
    build: object
    twin: object
    cases: object
    hints: dict = field(default_factory=dict)
    uses: tuple = ()
    n_grads: int = 1
    fd: bool = True
    compare_kwargs: dict = field(default_factory=dict)
    mistakes: list = field(default_factory=list)
    after: object = None           # after(ours, theirs, case): more checks (buffers...), raises

    @property
    def needs(self):
        return (self.cls,)

    def run(self, ns, report=None) -> str:
        cls = ns[self.cls]
        cases = self.cases()
        for case in cases:
            self.current_case = self._case_text(case)
            ours, theirs = self.build(cls, case), self.twin(case)
            try:
                compare_with_torch(ours, theirs, *case.inputs, kwargs=case.kwargs or None,
                                   dtype=case.dtype, n_grads=self.n_grads, **self.compare_kwargs)
            except AssertionError as e:
                raise self._failure(case, str(e), ours) from None
            if self.after is not None:
                self.after(ours, theirs, case)
        if self.fd:
            case = next(c for c in cases if c.dtype == np.float64 and c.fd)
            self.current_case = self._case_text(case)
            ours = self.build(cls, case)
            try:
                check_module_gradients(ours, *case.inputs, kwargs=case.kwargs or None,
                                       n_grads=self.n_grads)
            except AssertionError as e:
                raise CheckFailure(f"{self.cls}.backward", f"{e} (against finite differences of your "
                                   "forward)", self._case_text(case), self._hint(str(e))) from None
        return _inputs_text(len(cases))

    def _case_text(self, case):
        return f"{case.label}: {describe_inputs(('input',), case.inputs, case.kwargs, case.dtype)}"

    def _hint(self, message):
        key = "output" if message.startswith("output") else \
            "input" if message.startswith("gradient of input") else "params"
        hint = self.hints.get(key) or self.hints.get("default")
        if self.uses:
            hint = f"it builds on {', '.join(self.uses)}: if their check fails, fix that first" + \
                (f"\n{hint}" if hint else "")
        return hint

    def _failure(self, case, message, ours):
        if message.startswith("state dict keys differ"):
            return CheckFailure(self.cls, message, self._case_text(case),
                                "keep the parameter names of the stub's __init__ (PyTorch's names)")
        where = f"{self.cls}.forward" if message.startswith("output") else f"{self.cls}.backward"
        hint = None
        for mistake in self.mistakes:
            if message.startswith(mistake.quantity):
                hint = mistake.hint
        quantity, _, detail = message.partition(": ")
        quantity = {"output 0": "output", "gradient of input 0": "d input"}.get(quantity, quantity)
        return CheckFailure(f"{where}, {quantity}", detail or message, self._case_text(case),
                            hint or self._hint(message))


# ---------------------------------------------------------------- anything else

@dataclass
class FunctionCheck:
    """`run(ns)` raises CheckFailure when something is wrong and returns a short summary."""
    name: str
    needs: tuple
    run_fn: object
    uses: tuple = ()

    def run(self, ns, report=None) -> str:
        return self.run_fn(ns)


def signature_text(fn) -> str:
    try:
        return f"{fn.__name__}{inspect.signature(fn)}"
    except (TypeError, ValueError):
        return getattr(fn, "__name__", repr(fn))
