"""Hypothesis profiles: 'ci' (default) is derandomised and small; 'dev' explores more."""
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=12, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=100, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _seed():
    """Every test starts from the same global seed."""
    import numpy_transformer as nt
    nt.manual_seed(0)
    yield


@pytest.fixture
def rng():
    return np.random.default_rng(0)
