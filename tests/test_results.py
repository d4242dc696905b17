"""`numpy-transformer results`: the recipes' table comes from the runs' own result.json."""
import re
import json

import pytest

from numpy_transformer.cli import main


def test_a_trained_run_becomes_a_row_with_its_figure_ratio_and_provenance(tmp_path, capsys):
    run = tmp_path / "digits"
    assert main(["train", "digits", "--steps", "30", "--out", str(run), "--no-progress"]) == 0
    result = json.loads((run / "result.json").read_text())
    assert result["recipe"] == "digits" and result["config"]["steps"] == 30
    assert {"date", "commit", "machine", "threads", "kernels"} <= set(result)
    speed = tmp_path / "layers.json"
    speed.write_text(json.dumps({"rows": [{"recipe": "digits", "ratio": 0.876}]}))
    page = tmp_path / "recipes.md"
    page.write_text("# Recipes\n")
    args = ["results", str(run), "--speed", str(speed), "--keep", str(tmp_path / "kept")]
    assert main(args + ["--write", str(page)]) == 0
    row = next(line for line in page.read_text().splitlines() if line.startswith("| `digits`"))
    assert f"{result['test_accuracy']:.2%} test accuracy" in row and "| 0.88x |" in row
    assert result["date"][:10] in row and result["commit"] in row
    assert main(["results", str(tmp_path / "kept" / "digits.json"), "--speed", str(speed)]) == 0
    assert row in capsys.readouterr().out


def test_a_folder_without_a_result_is_a_clear_error(tmp_path, capsys):
    assert main(["results", str(tmp_path)]) == 1
    assert re.search(r"results: error: cannot read .*result.json", capsys.readouterr().err)
