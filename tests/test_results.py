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


def test_a_run_keeps_when_its_evaluations_first_met_the_recipes_target(tmp_path):
    run = tmp_path / "digits"
    assert main(["train", "digits", "--steps", "60", "--eval-every", "10", "--out", str(run),
                 "--no-progress"]) == 0
    target = json.loads((run / "result.json").read_text())["target"]
    assert (target["metric"], target["value"], target["higher_is_better"]) == ("accuracy", 0.97, True)
    evals = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()
             if json.loads(line)["split"] == "eval"]
    first = next((r for r in evals if r["accuracy"] >= 0.97), {})
    assert (target["seconds"], target["step"]) == (first.get("seconds"), first.get("step"))
    assert 0 < len(evals) and any(r["accuracy"] < 0.97 for r in evals)   # not met at once


def test_the_table_gives_minutes_to_the_target_or_says_it_was_not_reached():
    from numpy_transformer.commands.results import results_table
    base = {"recipe": "digits", "test_accuracy": 0.975, "train_seconds": 600}
    met = dict(base, target={"metric": "accuracy", "value": 0.97, "higher_is_better": True,
                             "seconds": 240.0, "step": 800})
    missed = dict(base, target={**met["target"], "seconds": None, "step": None})
    assert "| 4.0 (accuracy >= 97.0%) |" in results_table([met], {})
    assert "| not reached (accuracy >= 97.0%) |" in results_table([missed], {})
    assert "|  |" in results_table([base], {}).splitlines()[-1]        # a run from before targets


def test_a_folder_without_a_result_is_a_clear_error(tmp_path, capsys):
    assert main(["results", str(tmp_path)]) == 1
    assert re.search(r"results: error: cannot read .*result.json", capsys.readouterr().err)
