"""One dispatch point: NT_KERNELS or kernels.use() choose the set every module calls."""
import os
import subprocess
import sys

import numpy as np
import pytest

import numpy_transformer as nt
from numpy_transformer.kernels import ops
from numpy_transformer.kernels.cpu import activation
from numpy_transformer.nn import functional as F


def _active_in_a_new_process(value):
    env = dict(os.environ, NT_KERNELS=value)
    code = ("import warnings; warnings.simplefilter('always')\n"
            "import numpy_transformer as nt\nprint(nt.kernels.active())")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip(), out.stderr


@pytest.mark.parametrize("value, expected", [("reference", "reference"), ("fast", "fast"),
                                             ("", "fast")])
def test_nt_kernels_chooses_the_set_at_import(value, expected):
    assert _active_in_a_new_process(value)[0] == expected


def test_an_unknown_nt_kernels_warns_and_runs_the_default():
    active, warnings = _active_in_a_new_process("refrence")
    assert active == "fast"
    assert "NT_KERNELS='refrence' names no kernel set: choose one of reference, fast" in warnings


def test_use_switches_every_function_and_using_switches_back():
    with nt.kernels.using("reference"):
        assert nt.kernels.active() == "reference"
        assert ops.relu_forward is F.relu_forward
        with nt.kernels.using("fast"):
            assert ops.relu_forward is activation.relu_forward
        assert ops.relu_forward is F.relu_forward
    assert nt.kernels.active() == "fast"


def test_modules_call_the_active_set():
    calls = []
    layer = nt.nn.ReLU()
    for name in ("reference", "fast"):
        with nt.kernels.using(name):                        # leaving it rebuilds `ops`
            real = ops.relu_forward
            ops.relu_forward = lambda *a, **k: calls.append(real) or real(*a, **k)
            layer(np.ones((2, 4), np.float32))
    assert calls == [F.relu_forward, activation.relu_forward]


def test_an_unknown_set_is_refused_by_name():
    with pytest.raises(ValueError, match="unknown kernel set 'numba': choose one of reference, fast"):
        nt.kernels.use("numba")
    assert nt.kernels.active() == "fast"


def test_describe_says_which_kernels_run():
    assert nt.kernels.describe().startswith("kernels: fast (NumPy")
    with nt.kernels.using("reference"):
        assert nt.kernels.describe() == "kernels: reference (textbook NumPy, nn/functional)"
