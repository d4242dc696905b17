"""The grader's diagnosis from the numbers alone, and the notebook-side check()."""
import io

import numpy as np

from numpy_transformer.curriculum import check
from numpy_transformer.curriculum.grading import diagnose

from .conftest import reference


def test_diagnose_names_the_usual_numeric_mistakes():
    rng = np.random.default_rng(0)
    expected = rng.standard_normal((4, 3))
    assert "transpose" in diagnose(expected.T, expected)
    assert "off by one" in diagnose(np.zeros((2, 3, 4)), np.zeros((2, 3, 5)))
    assert "4 times the answer" in diagnose(4 * expected, expected)
    assert "divided by dout" in diagnose(expected / 2.5, expected, dout=np.float64(2.5))
    assert "all zeros" in diagnose(np.zeros_like(expected), expected)
    assert "opposite sign" in diagnose(-expected, expected)
    assert "NaN" in diagnose(np.full_like(expected, np.nan), expected)
    assert diagnose(expected + rng.standard_normal((4, 3)), expected) is None


def test_check_in_a_notebook_prints_the_report_of_the_functions_defined_there():
    out = io.StringIO()
    results = check("week-6", reference(6), out=out)
    assert [r["status"] for r in results] == ["pass"] * 3
    assert "3 of 3 checks pass" in out.getvalue()
