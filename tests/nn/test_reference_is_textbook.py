"""The reference math (nn/functional) stays the code a learner reads: short pure functions in
plain NumPy, with no performance machinery (that lives in numpy_transformer/kernels)."""
import ast
from pathlib import Path

import pytest

import numpy_transformer.nn.functional as F

FOLDER = Path(F.__file__).parent
FILES = sorted(FOLDER.glob("*.py"))
LONGEST = 30          # lines of a public function, its docstring included
SHORT = 15            # ...and most fit in this many
MACHINERY = {"threading", "concurrent", "ctypes", "numba", "multiprocessing"}


def _functions():
    """(file name, function name, lines) of every public top-level function."""
    for path in FILES:
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                yield path.name, node.name, node.end_lineno - node.lineno + 1


def test_every_public_function_is_at_most_30_lines_and_most_at_most_15():
    lengths = {f"{file}:{name}": lines for file, name, lines in _functions()}
    too_long = {name: lines for name, lines in lengths.items() if lines > LONGEST}
    assert not too_long, f"longer than {LONGEST} lines: {too_long}"
    short = sum(lines <= SHORT for lines in lengths.values())
    assert short > len(lengths) / 2, f"only {short} of {len(lengths)} fit in {SHORT} lines"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_no_performance_machinery_in_the_reference(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
            assert not any(m.split(".")[0] in MACHINERY or "kernels" in m for m in modules), \
                f"{path.name}:{node.lineno}: {ast.unparse(node)}"
        if isinstance(node, ast.Call):
            keywords = {k.arg for k in node.keywords}
            assert "out" not in keywords, f"{path.name}:{node.lineno}: {ast.unparse(node)}"


@pytest.mark.fast_too
def test_the_twin_tests_here_run_on_the_reference_and_marked_ones_on_the_fast_set_too(kernel_set):
    import numpy_transformer as nt
    assert nt.kernels.active() == kernel_set
