"""No block of more than 10 lines is written twice in the package: one piece of code serves."""
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "numpy_transformer"
BLOCK = 11  # lines; blank lines and comments do not count, indentation is ignored


def code_lines(path: Path):
    """(line number, stripped text) of the lines that hold code."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        text = line.strip()
        if text and not text.startswith("#"):
            yield number, text


def test_no_block_of_more_than_ten_lines_is_repeated():
    seen = defaultdict(set)
    for path in sorted(PACKAGE.rglob("*.py")):
        lines = list(code_lines(path))
        for start in range(len(lines) - BLOCK + 1):
            block = tuple(text for _, text in lines[start:start + BLOCK])
            seen[block].add(f"{path.relative_to(PACKAGE)}:{lines[start][0]}")
    repeated = [sorted(places) for places in seen.values() if len(places) > 1]
    assert not repeated, f"{len(repeated)} repeated blocks, e.g. at {repeated[:3]}"
