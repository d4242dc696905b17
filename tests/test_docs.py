"""The documentation: the site builds strictly, the README is a front door whose commands and
examples run as written, and no page narrates earlier runs."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, re.S)


def command_after(comment: str) -> str:
    """The README's command on the line after `# <comment>` (as .ci/run finds the test command)."""
    lines = README.splitlines()
    return lines[lines.index(f"# {comment}") + 1]


def test_the_readme_is_a_front_door_of_at_most_200_lines():
    assert len(README.splitlines()) <= 200
    for heading in ("## Two commands", "## The layer contract in brief", "## Recipes",
                    "## The six-week curriculum", "## Layout", "## Documentation"):
        assert heading in README


def test_the_readme_example_runs_as_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (example,) = python_blocks(README)
    assert len(example.strip().splitlines()) <= 15
    exec(compile(example, "README example", "exec"), {})


@pytest.mark.parametrize("page", ["getting-started.md", "own-data.md"])
def test_the_docs_examples_train_on_arrays(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace = {}
    for block in python_blocks((REPO / "docs" / page).read_text()):
        exec(compile(block, f"{page} example", "exec"), namespace)
    assert namespace["task"].evaluate(namespace["test"])["accuracy"] > 0.9


def test_ci_runs_the_readmes_test_command():
    command = command_after("set up and run the tests")
    assert command.endswith("python -m pytest")
    assert "set up and run the tests" in (REPO / ".ci" / "run").read_text()


def test_the_readmes_main_command_runs_on_a_fresh_copy(tmp_path):
    """`python3 -m venv .venv && ... pip install -e . && numpy-transformer train digits`, in a
    copy of the tracked files (pip may take the wheels from its cache)."""
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                           cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    for name in files:
        if (REPO / name).is_file():
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, tmp_path / name)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep)
                                  if not p.startswith(sys.prefix))
    done = subprocess.run(["bash", "-c", command_after("set up and run the main job")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert re.search(r"done: test loss [\d.]+, test accuracy 0\.9\d", done.stdout), done.stdout[-2000:]


HISTORY = re.compile(r"\b(stops? \d+|at the (first|second|third|\w+th) run|earlier runs?|"
                     r"tried and dropped|this session)\b", re.I)


def test_nothing_in_the_repository_narrates_earlier_runs():
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                           cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    found = []
    for name in files:
        if name.endswith((".md", ".py", ".toml", ".yml", ".txt")) and (REPO / name).is_file():
            for number, line in enumerate((REPO / name).read_text(errors="replace").splitlines(), 1):
                if HISTORY.search(line) and name != "tests/test_docs.py":
                    found.append(f"{name}:{number}: {line.strip()}")
    assert not found, "\n".join(found)


def test_the_site_builds_strictly(tmp_path):
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings")
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                           str(tmp_path / "site")], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-4000:]
    pages = list((tmp_path / "site").rglob("index.html"))
    assert len(pages) >= 20
    cli = (tmp_path / "site" / "cli" / "index.html").read_text()
    assert "numpy-transformer train" in cli and "--resume" in cli


def test_the_results_tables_are_what_the_kept_results_render_to():
    """README and docs/recipes.md hold `numpy-transformer results`' table of docs/results."""
    from numpy_transformer.commands.results import read_result, results_table, train_step_ratios
    kept = sorted((REPO / "docs" / "results" / "recipes").glob("*.json"))
    assert kept
    table = results_table([read_result(str(p)) for p in kept],
                          train_step_ratios(str(REPO / "docs" / "results" / "train_steps.json")))
    for page in (README, (REPO / "docs" / "recipes.md").read_text(encoding="utf-8")):
        block = page.split("<!-- begin: numpy-transformer results -->\n")[1].split("\n<!-- end:")[0]
        assert block == table


@pytest.mark.parametrize("kept", ["layers.json", "train_steps.json"])
def test_the_performance_tables_are_what_their_json_renders_to(kept):
    import json
    from benchmarks.harness import layers_table
    record = json.loads((REPO / "docs" / "results" / kept).read_text())
    page = (REPO / "docs" / "performance.md").read_text(encoding="utf-8")
    assert layers_table(record) in page and f"commit `{record['commit']}`" in page


def test_the_distributed_measurements_are_what_their_json_renders_to(tmp_path):
    from benchmarks.distributed import main as render
    copy = tmp_path / "distributed.md"
    copy.write_text((REPO / "docs" / "distributed.md").read_text(encoding="utf-8"))
    render(["--from-json", str(REPO / "docs" / "results" / "distributed.json"),
            "--write", str(copy)])
    assert copy.read_text(encoding="utf-8") == (REPO / "docs" / "distributed.md").read_text(
        encoding="utf-8")
