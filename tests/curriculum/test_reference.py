"""The grader passes the reference solutions (the library's own layers) on every week, and
the untouched exercise stubs are reported as not written yet, function by function."""
import pytest

from numpy_transformer.curriculum.grader import format_result, grade_namespace, week_checks
from numpy_transformer.curriculum.runner import load_learner_file

from .conftest import CURRICULUM, REPO, reference


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


@pytest.mark.parametrize("week", range(1, 7))
def test_each_solutions_file_loads_as_a_learner_file_and_passes(week):
    path = REPO / "numpy_transformer" / "curriculum" / "solutions" / f"week_{week}.py"
    results = grade_namespace(week, load_learner_file(path))
    assert all(r["status"] == "pass" for r in results), [format_result(r) for r in results]


def test_the_solutions_are_the_reference_math():
    import numpy_transformer.nn.functional as F
    from numpy_transformer.curriculum.solutions import week_1, week_5, week_6
    assert week_1.linear_forward is F.linear_forward
    assert week_5.layer_norm_backward is F.layer_norm_backward
    assert week_6.scaled_dot_product_attention_forward is F.scaled_dot_product_attention_forward


def test_check_command_grades_a_solutions_file_in_its_own_process(capsys):
    from numpy_transformer.cli import main
    path = REPO / "numpy_transformer" / "curriculum" / "solutions" / "week_5.py"
    assert main(["check", "week-5", str(path)]) == 0
    assert "6 of 6 checks pass" in capsys.readouterr().out
