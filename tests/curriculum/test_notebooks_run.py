"""Every week's notebook runs from top to bottom, and with the reference solution filled in its
grading cell passes every check."""
import pytest

from .conftest import CURRICULUM

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")


def notebook_with_the_solution(week: int):
    """The committed notebook, the reference solution imported before its grading cell, and a
    last cell that fails unless every check passed."""
    notebook = nbformat.read(CURRICULUM / f"week_{week}" / "exercise.ipynb", as_version=4)
    solution = nbformat.v4.new_code_cell(
        f"from numpy_transformer.curriculum.solutions.week_{week} import *")
    verdict = nbformat.v4.new_code_cell(
        "failed = [r for r in results if r['status'] != 'pass']\n"
        "assert results and not failed, failed")
    notebook.cells[-1:-1] = [solution]
    notebook.cells.append(verdict)
    for k, cell in enumerate(notebook.cells):
        cell["id"] = f"run-cell{k}"
    return notebook


@pytest.mark.parametrize("week", range(1, 7))
def test_the_notebook_runs_and_the_reference_solution_passes(week, tmp_path):
    notebook = notebook_with_the_solution(week)
    client = nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()                       # raises CellExecutionError, naming the cell, on failure
    report = "".join(o.get("text", "") for o in notebook.cells[-2].outputs)
    assert "Well done: every function of the week matches PyTorch." in report
