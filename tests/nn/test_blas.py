"""NumPy's OpenBLAS: its idle threads sleep after a short spin, and its thread count is restored."""
import os
import subprocess
import sys

import numpy as np
import pytest

from numpy_transformer import _blas

# Prints the spin timeout OpenBLAS itself read, then checks that a threaded product still works.
_PROBE = """
{imports}
from numpy_transformer import _blas
found = _blas._library()
print(found[0].openblas_thread_timeout() if found else "no-openblas")
a = np.random.default_rng(0).standard_normal((300, 200))
assert np.allclose(a @ a.T, np.einsum("ik,jk->ij", a, a))
"""
NUMPY_FIRST = "import numpy as np\nnp.ones((64, 64)) @ np.ones((64, 64))\nimport numpy_transformer"
PACKAGE_FIRST = "import numpy_transformer\nimport numpy as np"


def _timeout_seen_by_openblas(imports, env_value=None):
    env = {k: v for k, v in os.environ.items() if k != _blas.TIMEOUT_VARIABLE}
    env.update(OMP_NUM_THREADS="2", OPENBLAS_NUM_THREADS="2")
    if env_value is not None:
        env[_blas.TIMEOUT_VARIABLE] = env_value
    out = subprocess.run([sys.executable, "-c", _PROBE.format(imports=imports)], env=env,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def _needs_openblas():
    if _blas._library() is None or not hasattr(_blas._library()[0], "openblas_thread_timeout"):
        pytest.skip("this NumPy's BLAS is not an OpenBLAS we can query")


def test_importing_the_package_makes_idle_blas_threads_sleep_soon():
    assert os.environ.get(_blas.TIMEOUT_VARIABLE) is not None


@pytest.mark.parametrize("imports", [NUMPY_FIRST, PACKAGE_FIRST], ids=["numpy-first", "package-first"])
def test_openblas_reads_the_short_timeout_whatever_the_import_order(imports):
    _needs_openblas()
    assert _timeout_seen_by_openblas(imports) == _blas.SHORT_SPIN


def test_a_timeout_the_user_set_is_left_alone():
    _needs_openblas()
    assert _timeout_seen_by_openblas(NUMPY_FIRST, env_value="9") == "9"


def test_single_threaded_blas_restores_the_count_even_when_nested():
    control = _blas.blas_thread_control()
    if control is None:
        pytest.skip("this NumPy's BLAS has no thread-count control")
    get, _ = control
    before = get()
    with _blas.single_threaded_blas():
        with _blas.single_threaded_blas():
            assert get() == 1
        assert get() == 1
    assert get() == before
    assert np.allclose(np.eye(3) @ np.eye(3), np.eye(3))
