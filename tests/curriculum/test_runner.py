"""The grader runs a learner's file in another process: an endless loop, a crash, a wrong shape,
an exception, a file that does not even import, or a notebook are reported, never fatal."""
import json
import textwrap

from numpy_transformer.cli import main
from numpy_transformer.curriculum.runner import grade_file

from .conftest import CURRICULUM

BROKEN = textwrap.dedent('''
    import os
    import numpy as np
    from numpy_transformer.curriculum.solutions.week_1 import *

    def relu_forward(x):              # never returns
        while True:
            pass

    def sigmoid_forward(x):           # the process dies
        print("about to exit")
        os._exit(3)

    def tanh_forward(x):              # the wrong shape
        return np.tanh(x)[:, :1], None

    def softmax_forward(x, axis=-1):  # raises
        return x / undefined_name, None
    ''')


def test_loop_crash_wrong_shape_and_exception_are_each_reported(tmp_path):
    path = tmp_path / "exercise.py"
    path.write_text(BROKEN)
    printed = []
    results = grade_file(1, str(path), time_limit=3, on_output=printed.append)
    status = {r["check"]: r for r in results}
    assert status["relu"]["status"] == "timeout" and "3 s" in status["relu"]["detail"]
    assert status["sigmoid"]["status"] == "crash" and "exit code 3" in status["sigmoid"]["detail"]
    assert "about to exit" in printed                   # the learner's prints are shown
    assert status["tanh"]["status"] == "fail"
    assert "shape (3, 1), expected (3, 5)" in status["tanh"]["detail"]
    assert status["softmax"]["status"] == "error"
    assert "NameError" in status["softmax"]["detail"]
    assert status["softmax"]["where"].startswith("exercise.py line 18 in softmax_forward")
    # the checks after the stuck and dead ones still ran, in a fresh process
    assert [status[name]["status"] for name in ("cross_entropy", "linear", "Linear")] == ["pass"] * 3


def test_a_file_that_does_not_import_fails_every_check_with_the_line(tmp_path, capsys):
    path = tmp_path / "exercise.py"
    path.write_text("import numpy as np\n\ndef relu_forward(x:\n    pass\n")
    assert main(["check", "week-6", str(path)]) == 1
    out = capsys.readouterr().out
    assert "SyntaxError" in out and "exercise.py line 3" in out
    assert "0 of 3 checks pass" in out


def test_a_notebook_is_graded_from_its_code_cells(tmp_path):
    notebook = json.loads((CURRICULUM / "week_6" / "exercise.ipynb").read_text())
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code" and "grader: skip" not in "".join(cell["source"]):
            cell["source"] = ""
    first = next(c for c in notebook["cells"] if c["cell_type"] == "code")
    first["source"] = ("!pip list\n%time x = 1\n"
                       "from numpy_transformer.curriculum.solutions.week_6 import *\n")
    path = tmp_path / "week6.ipynb"
    path.write_text(json.dumps(notebook))
    results = grade_file(6, str(path))
    assert [r["status"] for r in results] == ["pass"] * 3


def test_check_command_default_path_and_exit_codes(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["check", "week-2"]) == 2                # no curriculum/week_2/exercise.py here
    assert "no exercise file at curriculum/week_2/exercise.py" in capsys.readouterr().err
