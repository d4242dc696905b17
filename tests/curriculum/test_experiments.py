"""Each week's experiment runs end to end in its tiny --quick mode, prints its table and writes
its plot (the full runs take minutes and are not part of the test suite)."""
import os

import pytest

from numpy_transformer.cli import main

from .conftest import REPO


@pytest.mark.parametrize("week", [1, 2, 3, 5, 6])
def test_quick_experiment_prints_a_table_and_writes_a_plot(week, tmp_path, capsys):
    assert main(["experiment", f"week-{week}", "--quick", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "plot:" in out and "---" in out                      # a table was printed
    pngs = list(tmp_path.glob("*.png"))
    assert len(pngs) == 1 and pngs[0].stat().st_size > 10_000


def test_quick_language_model_experiment_on_the_quotes(tmp_path, capsys, monkeypatch):
    shared = os.environ.get("NT_SHARED_DATA", str(REPO.parent / "shared" / "data"))
    if not os.path.isfile(os.path.join(shared, "text", "quotes_jamesft.json")):
        pytest.skip("the quotes corpus is not in the shared data folder")
    assert main(["experiment", "week-4", "--quick", "--out", str(tmp_path), "--data-dir", shared]) == 0
    out = capsys.readouterr().out
    assert "validation perplexity" in out and "samples" in out
    assert (tmp_path / "week_4_rnn_lm.png").is_file()
