"""Importing the package changes nothing process-wide; `kernels.tune_cpu()`, which the CLI and
the Trainer call, makes OpenBLAS's idle threads sleep after a short spin and keeps glibc's big
freed blocks, whatever the import order; BLAS's thread count comes back after one-thread work."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from numpy_transformer.kernels.cpu import blas

# Prints what the process looks like after `{code}`: the spin timeout OpenBLAS itself read,
# the environment variables that changed, and the C libraries loaded through ctypes.
_PROBE = """
import ctypes, json, os
loaded = []
class Spy(ctypes.CDLL):
    def __init__(self, name, *args, **kwargs):
        loaded.append(os.path.basename(str(name)))
        super().__init__(name, *args, **kwargs)
ctypes.CDLL = Spy
before = dict(os.environ)
{code}
import numpy as np
changed = sorted(k for k in set(before) | set(os.environ) if before.get(k) != os.environ.get(k))
seen_by_libraries = list(loaded)
from numpy_transformer.kernels.cpu import blas
found = blas._library()
timeout = found[0].openblas_thread_timeout() if found and hasattr(found[0], "openblas_thread_timeout") else None
a = np.random.default_rng(0).standard_normal((300, 200))
assert np.allclose(a @ a.T, np.einsum("ik,jk->ij", a, a))
print(json.dumps(dict(timeout=timeout, changed=changed, loaded=seen_by_libraries)))
"""
NUMPY_FIRST = "import numpy as np\nnp.ones((64, 64)) @ np.ones((64, 64))\nimport numpy_transformer as nt"
PACKAGE_FIRST = "import numpy_transformer as nt\nimport numpy as np"


def _probe(code, env_value=None):
    env = {k: v for k, v in os.environ.items()
           if k not in (blas.TIMEOUT_VARIABLE, "NT_NO_MALLOPT")}
    env.update(OMP_NUM_THREADS="2", OPENBLAS_NUM_THREADS="2")
    if env_value is not None:
        env[blas.TIMEOUT_VARIABLE] = env_value
    out = subprocess.run([sys.executable, "-c", _PROBE.format(code=code)], env=env,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("imports", [NUMPY_FIRST, PACKAGE_FIRST], ids=["numpy-first", "package-first"])
def test_importing_the_package_changes_nothing_process_wide(imports):
    seen = _probe(imports + "\nnt.nn.Linear(3, 2)(np.ones((4, 3), np.float32))")
    assert seen["changed"] == []                       # no environment variable set
    assert seen["loaded"] == []                        # no libc (mallopt), no OpenBLAS restart
    assert seen["timeout"] in (None, 0)                # OpenBLAS keeps its own default spin


@pytest.mark.parametrize("imports", [NUMPY_FIRST, PACKAGE_FIRST], ids=["numpy-first", "package-first"])
def test_tune_cpu_makes_openblas_read_the_short_timeout_whatever_the_import_order(imports):
    seen = _probe(imports + "\nprint(nt.kernels.tune_cpu())")
    if seen["timeout"] is None:
        pytest.skip("this NumPy's BLAS is not an OpenBLAS we can query")
    assert seen["timeout"] == int(blas.SHORT_SPIN)
    assert seen["changed"] == [blas.TIMEOUT_VARIABLE]
    if sys.platform.startswith("linux"):
        assert "libc.so.6" in seen["loaded"]          # mallopt


def test_a_timeout_the_user_set_is_left_alone():
    seen = _probe(NUMPY_FIRST + "\nnt.kernels.tune_cpu()", env_value="9")
    if seen["timeout"] is None:
        pytest.skip("this NumPy's BLAS is not an OpenBLAS we can query")
    assert seen["timeout"] == 9 and seen["changed"] == []


def test_tune_cpu_runs_once_and_says_what_took_effect():
    code = NUMPY_FIRST + ("\nfirst = nt.kernels.tune_cpu()\nassert nt.kernels.tune_cpu() == first"
                          "\nassert nt.kernels.cpu_tuned() and set(first) == "
                          "{'blas_idle_threads_sleep', 'malloc_keeps_big_blocks'}")
    _probe(code)


def test_single_threaded_blas_restores_the_count_even_when_nested():
    control = blas.blas_thread_control()
    if control is None:
        pytest.skip("this NumPy's BLAS has no thread-count control")
    get, _ = control
    before = get()
    with blas.single_threaded_blas():
        with blas.single_threaded_blas():
            assert get() == 1
        assert get() == 1
    assert get() == before
    assert np.allclose(np.eye(3) @ np.eye(3), np.eye(3))
