"""The command line: list, train (the README's main job), eval, and clear errors."""
import re
import json
import os
import subprocess
import sys

import pytest

from numpy_transformer.cli import main
from numpy_transformer.kernels import compiled


def test_list_names_every_recipe_with_a_description(capsys):
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    names = {line.split()[0] for line in lines}
    assert {"digits", "mlp-mnist", "cnn-mnist"} <= names
    assert all(len(line.split(maxsplit=1)) == 2 for line in lines)


def test_train_digits_then_eval_the_checkpoint(tmp_path, capsys):
    assert main(["train", "digits", "--epochs", "3", "--out", str(tmp_path), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "done: test loss" in out and "test accuracy" in out
    assert {"checkpoint.safetensors", "log.jsonl", "curves.png", "result.json"} <= {p.name for p in tmp_path.iterdir()}
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["test_accuracy"] > 0.85
    assert main(["eval", str(tmp_path)]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert evaluated["test_accuracy"] == pytest.approx(result["test_accuracy"])
    assert evaluated["step"] == 3 * 45


def test_train_says_which_kernels_run_and_kernels_reference_runs_the_textbook_math(tmp_path,
                                                                                  capsys):
    assert main(["train", "digits", "--epochs", "1", "--out", str(tmp_path / "fast"),
                 "--no-progress"]) == 0
    numba = " + Numba" if compiled.available() else ""       # the [fast] extra
    assert f"kernels: fast (NumPy{numba}, " in capsys.readouterr().out
    assert main(["train", "digits", "--epochs", "1", "--out", str(tmp_path / "reference"),
                 "--no-progress", "--kernels", "reference"]) == 0
    assert "kernels: reference (textbook NumPy, nn/functional)" in capsys.readouterr().out
    results = [json.loads((tmp_path / name / "result.json").read_text())
               for name in ("fast", "reference")]
    assert results[0]["test_accuracy"] == pytest.approx(results[1]["test_accuracy"], abs=0.01)


def test_a_misspelt_nt_kernels_is_refused_without_a_traceback(tmp_path):
    out = subprocess.run([sys.executable, "-m", "numpy_transformer", "train", "digits", "--out",
                          str(tmp_path)],
                         env=dict(os.environ, NT_KERNELS="fastest"), capture_output=True, text=True)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "numpy-transformer: NT_KERNELS='fastest' names no kernel set: choose one of reference, " \
           "fast" in out.stderr


def test_unknown_recipe_and_option_are_named(tmp_path, capsys):
    assert main(["train", "nope", "--out", str(tmp_path)]) == 2
    assert "unknown recipe 'nope'; the recipes: bert-quotes" in capsys.readouterr().err
    assert main(["train", "digits", "--set", "colour=red", "--out", str(tmp_path)]) == 2
    assert "--set colour=red: recipe 'digits' has no option 'colour'" in capsys.readouterr().err


def test_benchmark_runs_the_side_by_side_timings_from_a_checkout(monkeypatch, tmp_path, capsys):
    calls = []
    monkeypatch.setattr(subprocess, "call", lambda command, cwd: calls.append((command, cwd)) or 0)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    assert main(["benchmark", "--filter", "Conv2d", "--rounds", "7", "--root", root]) == 0
    (command, cwd), = calls
    assert command[1:] == ["-m", "benchmarks.layers", "--threads", "2", "--rounds", "7",
                           "--filter", "Conv2d"] and cwd == root
    assert main(["benchmark", "--kernels", "reference", "--root", root]) == 0
    assert calls[-1][0][-2:] == ["--kernels", "reference"]
    assert main(["benchmark", "--root", str(tmp_path)]) == 1
    assert re.search(r"no benchmarks/ folder", capsys.readouterr().err)


def test_compare_prints_both_results_and_the_spread_of_the_turns(monkeypatch, capsys):
    from numpy_transformer.train import twin
    result = {"steps": 40, "metrics": ["val_loss"], "chunk_ratios": [1.0, 1.2, 1.1, 3.0],
              "numpy_transformer": {"val_loss": 2.5, "train_seconds": 6.0},
              "torch": {"val_loss": 2.5, "train_seconds": 5.0}}
    monkeypatch.setattr(twin, "compare_with_pytorch", lambda *args, **kwargs: result)
    assert main(["compare", "gpt-shakespeare", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "time ratio numpy_transformer / torch: 1.20x" in out
    assert "in 4 turns each: median 1.15x, 10-90% 1.03x to 2.46x, all 1.00x to 3.00x" in out
