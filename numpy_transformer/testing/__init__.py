"""The checks behind the tests and the curriculum grader: PyTorch twins and finite differences."""
from .compare import assert_close, tolerances
from .gradcheck import check_functional_gradients, check_module_gradients
from .twin import compare_with_torch
