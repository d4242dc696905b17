"""The grader passes the reference solutions (the library's own layers) on every week, and
the untouched exercise stubs are reported as not written yet, function by function."""
import pytest

from numpy_transformer.curriculum.grader import format_result, grade_namespace, week_checks
from numpy_transformer.curriculum.runner import load_learner_file

from .conftest import CURRICULUM, reference


@pytest.mark.parametrize("week", range(1, 7))
def test_reference_solutions_pass_every_check(week):
    results = grade_namespace(week, reference(week))
    failed = [format_result(r) for r in results if r["status"] != "pass"]
    assert not failed, "\n".join(failed)
    assert len(results) == len(week_checks(week)) >= 3


@pytest.mark.parametrize("week", range(1, 7))
def test_untouched_stubs_are_reported_as_todo_with_the_function_and_line(week):
    ns = load_learner_file(CURRICULUM / f"week_{week}" / "exercise.py")
    results = grade_namespace(week, ns)
    for result in results:
        assert result["status"] == "todo", format_result(result)
        assert any(name.split(".")[0] in result["detail"] for name in result["functions"]), result
        assert result["where"].startswith("exercise.py line ")
        assert "not written yet" in format_result(result)


@pytest.mark.parametrize("week", range(1, 7))
def test_every_checked_name_is_defined_by_the_stub_with_a_todo(week):
    source = (CURRICULUM / f"week_{week}" / "exercise.py").read_text()
    for check in week_checks(week):
        for name in check.needs:
            assert f"def {name}(" in source or f"class {name}(" in source or \
                f"class {name}:" in source, f"week {week}: the stub lacks {name}"
    assert source.count("# TODO") >= len(week_checks(week))
