"""The notebooks are generated from each week's lesson.md and exercise.py, and the committed
ones are up to date (regenerate with `python curriculum/make_notebooks.py`)."""
import importlib.util

import pytest

from .conftest import CURRICULUM

jupytext = pytest.importorskip("jupytext")
nbformat = pytest.importorskip("nbformat")


def _maker():
    spec = importlib.util.spec_from_file_location("make_notebooks", CURRICULUM / "make_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("week", range(1, 7))
def test_committed_notebook_equals_the_generated_one(week):
    generated = _maker().text(week)
    committed = (CURRICULUM / f"week_{week}" / "exercise.ipynb").read_text(encoding="utf-8")
    assert committed == generated, (f"curriculum/week_{week}/exercise.ipynb is out of date: run "
                                    "python curriculum/make_notebooks.py")


@pytest.mark.parametrize("week", range(1, 7))
def test_notebook_holds_the_lesson_the_exercise_and_the_grading_cell(week):
    notebook = nbformat.reads(_maker().text(week), as_version=4)
    nbformat.validate(notebook)
    markdown = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    code = "\n".join(c.source for c in notebook.cells if c.cell_type == "code")
    lesson = (CURRICULUM / f"week_{week}" / "lesson.md").read_text()
    assert lesson.splitlines()[0] in markdown                      # the lesson's title
    assert code.count("raise NotImplementedError") == \
        (CURRICULUM / f"week_{week}" / "exercise.py").read_text().count("raise NotImplementedError")
    assert notebook.cells[-1].source.startswith("# grader: skip")
    assert f'check("week-{week}", globals())' in notebook.cells[-1].source
