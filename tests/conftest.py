"""Hypothesis profiles ('ci', the default, is derandomised and small; 'dev' explores more), and
which kernel set each test runs on.

The PyTorch-twin tests (tests/nn, tests/models, tests/optim, tests/interop, tests/curriculum)
prove the reference math, so they run on the reference set; a test marked `fast_too` runs a
second time on the fast set. Every other test runs on the fast set, as a user's run does;
tests/kernels proves each fast kernel equal to the reference.
"""
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=12, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=100, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


REFERENCE_FOLDERS = {"nn", "models", "optim", "interop", "curriculum"}


def pytest_generate_tests(metafunc):
    if metafunc.definition.get_closest_marker("fast_too"):
        metafunc.parametrize("kernel_set", ["reference", "fast"], indirect=True)


@pytest.fixture(autouse=True)
def kernel_set(request):
    """The kernel set the test runs on (see the module docstring); its name."""
    import numpy_transformer as nt
    folder = Path(str(request.node.path)).relative_to(Path(__file__).parent).parts[0]
    default = "reference" if folder in REFERENCE_FOLDERS else "fast"
    name = getattr(request, "param", default)
    with nt.kernels.using(name):
        yield name


@pytest.fixture(autouse=True)
def _seed():
    """Every test starts from the same global seed."""
    import numpy_transformer as nt
    nt.manual_seed(0)
    yield


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def shared_data() -> str:
    """The shared data folder ($NT_SHARED_DATA, else ../shared/data beside the repository);
    the test is skipped where there is none."""
    folder = Path(os.environ.get("NT_SHARED_DATA",
                                 Path(__file__).resolve().parents[1].parent / "shared" / "data"))
    if not (folder / "SHA256SUMS").is_file():
        pytest.skip(f"shared data folder not found at {folder} (set NT_SHARED_DATA to it)")
    return str(folder)
