"""translate-multi30k on a tiny run: training, the translate command, the attention hook,
batching by length; the BLEU wrapper."""
import os
from pathlib import Path

import numpy as np
import pytest

from numpy_transformer.cli import main
from numpy_transformer.commands._options import load_run
from numpy_transformer.metrics import corpus_bleu
from numpy_transformer.recipes import get_recipe

REPO = Path(__file__).resolve().parents[2]
TINY = ["--set", "train_sentences=400", "--set", "test_sentences=30", "--set", "eval_sentences=20",
        "--set", "d_model=16", "--set", "nhead=2", "--set", "num_encoder_layers=1",
        "--set", "num_decoder_layers=1", "--set", "dim_feedforward=32", "--set", "beam=2",
        "--set", "warmup=2", "--batch-size", "50"]


@pytest.fixture(scope="module")
def data_dir():
    folder = Path(os.environ.get("NT_SHARED_DATA", REPO.parent / "shared" / "data"))
    if not (folder / "text" / "multi30k" / "train.de.gz").is_file():
        pytest.skip(f"Multi30k not found under {folder} (set NT_SHARED_DATA)")
    return str(folder)


@pytest.fixture(scope="module")
def tiny_run(data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("translate")
    assert main(["train", "translate-multi30k", "--steps", "4", "--out", str(out), "--data-dir",
                 data_dir, "--no-progress", *TINY]) == 0
    return out


def test_tiny_run_reports_bleu_greedy_and_beam(tiny_run):
    import json
    result = json.loads((tiny_run / "result.json").read_text())
    assert {"test_loss", "test_accuracy", "test_bleu", "test_bleu_beam2"} <= set(result)
    assert 0 <= result["test_bleu"] <= 100


def test_translate_command_prints_one_line_per_sentence(tiny_run, data_dir, capsys):
    assert main(["translate", str(tiny_run), "ein Hund läuft im Park", "zwei Männer",
                 "--beam", "3", "--length-penalty", "1.0", "--data-dir", data_dir]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all(isinstance(line, str) for line in lines)


def test_translate_agrees_with_the_loaded_task(tiny_run, data_dir, capsys):
    _, _, setup, _ = load_run(str(tiny_run), data_dir)
    expected = setup.task.translate(["eine Frau spielt Gitarre ."])
    main(["translate", str(tiny_run), "eine Frau spielt Gitarre .", "--data-dir", data_dir])
    assert capsys.readouterr().out.splitlines() == expected


def test_attention_hook_writes_a_png_per_sentence(tiny_run, data_dir, tmp_path):
    recipe, _, setup, _ = load_run(str(tiny_run), data_dir)
    hook = recipe.hooks["attention"]
    paths = hook(setup, str(tmp_path / "att.png"), text="ein Hund läuft im Park")
    assert paths == [str(tmp_path / "att.png")]
    assert Path(paths[0]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    paths = hook(setup, str(tmp_path / "maps"), count=2, data_dir=data_dir)
    assert [Path(p).name for p in paths] == ["attention_0.png", "attention_1.png"]
    assert all(Path(p).is_file() for p in paths)



def test_attention_command_draws_the_translation_maps(tiny_run, data_dir, tmp_path, capsys):
    out = tmp_path / "dog.png"
    assert main(["attention", str(tiny_run), "--text", "ein Hund", "--out", str(out),
                 "--data-dir", data_dir]) == 0
    assert out.read_bytes()[:4] == b"\x89PNG" and str(out) in capsys.readouterr().out

def test_batches_group_similar_lengths(data_dir):
    recipe = get_recipe("translate-multi30k")
    config = recipe.make_config(train_sentences=3000, batch_size=32, d_model=8, nhead=2, dim_feedforward=8,
                                num_encoder_layers=1, num_decoder_layers=1)
    setup = recipe.build(config, data_dir)
    padded = real = 0
    batches = setup.train_loader.dataset
    for b in range(len(batches)):
        src, tgt, rows = batches[np.array([b])]
        padded += src.size + tgt.size
        real += int((src != 0).sum() + (tgt != 0).sum())
    assert real / padded > 0.9                          # under 10% padding
    assert sorted(np.concatenate([batches.batches[b] for b in range(len(batches))])) == \
        list(range(3000))                               # every pair exactly once


def test_bleu_wrapper_uses_sacrebleu_13a_on_detokenised_text():
    sacrebleu = pytest.importorskip("sacrebleu")
    hyps = ["A dog runs in the park.", "Two men are talking"]
    refs = ["A dog is running in the park.", "Two men are talking."]
    assert corpus_bleu(refs, refs) == pytest.approx(100.0)
    assert corpus_bleu(hyps, refs) == pytest.approx(sacrebleu.corpus_bleu(hyps, [refs]).score)
    # 13a splits the full stop off: "park." and "park ." score the same
    assert corpus_bleu(["A dog runs in the park ."], ["A dog runs in the park."]) == \
        pytest.approx(corpus_bleu(["A dog runs in the park."], ["A dog runs in the park."]))
    with pytest.raises(ValueError, match="2 hypotheses for 1 references"):
        corpus_bleu(hyps, refs[:1])


@pytest.mark.slow
def test_recipe_defaults_reach_bleu_30(data_dir, tmp_path):
    """The full recipe (8 epochs, hours on one core): greedy BLEU >= 30 on test_2016_flickr."""
    import json
    assert main(["train", "translate-multi30k", "--out", str(tmp_path), "--data-dir", data_dir,
                 "--no-progress"]) == 0
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["test_bleu"] >= 30, result
