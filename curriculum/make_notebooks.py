"""Write each week's notebook, curriculum/week_N/exercise.ipynb, from its lesson.md and
exercise.py (the one source of both): the lesson's sections as markdown cells, the exercise's
percent-format cells (jupytext), then a cell that grades the notebook's functions.

    python curriculum/make_notebooks.py            # needs jupytext (pip install jupytext)
"""
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
WEEKS = range(1, 7)


def lesson_cells(text):
    """The lesson split before each '## ' heading: one markdown cell per section."""
    parts = re.split(r"(?m)^(?=## )", text)
    return [part.strip("\n") for part in parts if part.strip()]


def build(week: int, folder: Path = HERE):
    """The notebook of `week` (an nbformat NotebookNode)."""
    import jupytext
    import nbformat
    root = folder / f"week_{week}"
    exercise = jupytext.reads((root / "exercise.py").read_text(encoding="utf-8"), fmt="py:percent")
    cells = [nbformat.v4.new_markdown_cell(text)
             for text in lesson_cells((root / "lesson.md").read_text(encoding="utf-8"))]
    cells.append(nbformat.v4.new_markdown_cell(
        "---\n# The exercise\n\nFill in the `TODO`s below, run the cells, then run the last cell "
        "to check your functions against PyTorch."))
    for cell in exercise.cells:
        make = nbformat.v4.new_markdown_cell if cell.cell_type == "markdown" else \
            nbformat.v4.new_code_cell
        cells.append(make(cell.source))
    cells.append(nbformat.v4.new_markdown_cell(
        "## Check your work\n\nThis cell grades the functions defined above (in this kernel; "
        "interrupt the kernel if one of them never returns). From a terminal, "
        f"`numpy-transformer check week-{week} exercise.ipynb` grades the saved notebook in a "
        "separate process with a time limit."))
    cells.append(nbformat.v4.new_code_cell(
        "# grader: skip (the grader leaves this cell out when it runs the notebook)\n"
        "from numpy_transformer.curriculum import check\n\n"
        f"results = check(\"week-{week}\", globals())"))
    notebook = nbformat.v4.new_notebook(cells=cells, metadata={
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"}})
    for k, cell in enumerate(notebook.cells):        # stable ids: the same file on every run
        cell["id"] = f"week{week}-cell{k}"
    return notebook


def text(week: int, folder: Path = HERE) -> str:
    """The notebook as the JSON text written to disk."""
    import nbformat
    notebook = build(week, folder)
    nbformat.validate(notebook)
    return nbformat.writes(notebook) + "\n"


def main() -> int:
    for week in WEEKS:
        path = HERE / f"week_{week}" / "exercise.ipynb"
        path.write_text(text(week), encoding="utf-8")
        print(f"wrote {path.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
