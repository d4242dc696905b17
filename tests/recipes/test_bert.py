"""bert-quotes: the data and its masks, training, exact resume, and the PyTorch twin's curves."""

import numpy as np
import pytest

import numpy_transformer as nt
from numpy_transformer.cli import main
from numpy_transformer.train.twin import compare_with_pytorch
from numpy_transformer.models.bert import IGNORE_INDEX
from numpy_transformer.recipes import get_recipe
from numpy_transformer.train import Trainer

pytestmark = pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")
TINY = dict(depth=1, dim=32, heads=2, ff_dim=64, dropout=0.0, warmup_steps=10, lr=1e-3)


@pytest.fixture(scope="module")
def data_dir(shared_data):
    return shared_data


def build(data_dir, **options):
    recipe = get_recipe("bert-quotes")
    config = recipe.make_config(**options)
    nt.manual_seed(config.seed)
    return config, recipe.build(config, data_dir)


def test_the_defaults_are_the_seed_configuration():
    config = get_recipe("bert-quotes").make_config()
    assert (config.depth, config.dim, config.heads, config.max_len, config.batch_size) == \
        (6, 256, 4, 50, 6)
    assert (config.ff_dim, config.dropout, config.norm_first, config.mask_prob) == \
        (1024, 0.1, False, 0.15)


def test_quotes_become_cls_words_sep_then_padding_with_a_tenth_held_out(data_dir):
    _, setup = build(data_dir, steps=1, **TINY)
    vocab = setup.task.tokenizer.vocab
    ids = setup.train_loader.dataset
    assert ids.shape == (4879, 50) and setup.notes["held_out_quotes"] == 542
    assert np.all(ids[:, 0] == vocab.cls_id)
    length = (ids != vocab.pad_id).sum(axis=1)                    # [CLS] words [SEP]
    assert np.all(ids[np.arange(len(ids)), length - 1] == vocab.sep_id)
    assert np.all(np.cumsum(ids == vocab.pad_id, axis=1)[:, -1] == 50 - length)   # pads at the end
    assert length.min() >= 3 and length.max() <= 50
    assert setup.notes["vocab_size"] == len(vocab) == setup.task.model.config.vocab_size


def test_each_batch_is_masked_by_the_loader_s_generator_so_it_repeats_on_resume(data_dir):
    _, setup = build(data_dir, steps=1, **TINY)
    loader = setup.train_loader
    inputs, labels = loader.get_batch(0, 7)
    loader.load_state_dict({"seed": loader.seed, "epoch": 0, "batch": 7})
    again = next(iter(loader))
    np.testing.assert_array_equal(again[0], inputs)
    np.testing.assert_array_equal(again[1], labels)
    chosen = labels != IGNORE_INDEX
    assert chosen.any() and np.all(inputs[~chosen] == loader.dataset[loader.batch_indices(0, 7)][~chosen])
    other_epoch = loader.get_batch(1, 7)[1]                       # other quotes or other masks
    assert not np.array_equal(other_epoch, labels)


def test_the_held_out_masks_are_drawn_once(data_dir):
    _, a = build(data_dir, steps=1, seed=0, **TINY)
    _, b = build(data_dir, steps=1, seed=1, **TINY)
    for x, y in zip(a.eval_loader.dataset.arrays, b.eval_loader.dataset.arrays):
        np.testing.assert_array_equal(x, y)
    first, second = a.task.evaluate(a.eval_loader), a.task.evaluate(a.eval_loader)
    assert first == second


def test_training_lowers_the_held_out_masked_lm_loss(data_dir):
    config, setup = build(data_dir, steps=150, **TINY)
    before = setup.task.evaluate(setup.eval_loader)
    Trainer(setup.task, setup.train_loader, None, steps=config.steps, progress=False).fit()
    after = setup.task.evaluate(setup.eval_loader)
    assert before["loss"] > np.log(setup.notes["vocab_size"]) - 0.5       # about uniform at first
    assert after["loss"] < before["loss"] - 1.5 and after["accuracy"] > 0.05
    guesses = setup.task.fill_mask("the [MASK] of life is [MASK] .", k=3)
    assert len(guesses) == 2 and all(len(g) == 3 for g in guesses)
    assert all(0 < p <= 1 for g in guesses for _, p in g)


def test_a_resumed_run_ends_with_the_same_weights(data_dir, tmp_path):
    def run(out, steps, resume=False):
        config, setup = build(data_dir, steps=6, **{**TINY, "dropout": 0.1})
        Trainer(setup.task, setup.train_loader, None, steps=steps, checkpoint_every=3,
                out_dir=str(out), progress=False, plot=False).fit(resume=resume)
        return setup.task.model.state_dict()

    straight = run(tmp_path / "a", 6)
    run(tmp_path / "b", 3)
    resumed = run(tmp_path / "b", 6, resume=True)
    for key, value in straight.items():
        np.testing.assert_array_equal(resumed[key], value, err_msg=key)


# ---- the twin: same weights, batches and masks -> the same loss at every step ----

@pytest.mark.parametrize("dtype, tolerance", [(np.float64, 1e-6), (np.float32, 1e-3)])
def test_twin_loss_curves_agree_at_every_step(data_dir, dtype, tolerance):
    """CI version: 30 steps of a 2-block model (the full one runs in the slow test below)."""
    config = get_recipe("bert-quotes").make_config(steps=30, depth=2, dim=64, heads=4, ff_dim=256,
                                                   dropout=0.0, warmup_steps=8, lr=1e-3)
    result = compare_with_pytorch(get_recipe("bert-quotes"), config, data_dir, dtype=dtype,
                                  pause=0, progress=False)
    losses = result["numpy_transformer"]["losses"]
    diff = np.abs(np.subtract(losses, result["torch"]["losses"]))
    assert len(diff) == 30 and diff.max() < tolerance
    assert np.mean(losses[-5:]) < np.mean(losses[:5]) - 0.3              # it did learn


@pytest.mark.slow
@pytest.mark.parametrize("dtype, tolerance", [(np.float64, 1e-6), (np.float32, 1e-3)])
def test_twin_loss_curves_agree_for_200_steps_at_the_seed_configuration(data_dir, dtype,
                                                                        tolerance):
    config = get_recipe("bert-quotes").make_config(steps=200, dropout=0.0, warmup_steps=50)
    result = compare_with_pytorch(get_recipe("bert-quotes"), config, data_dir, dtype=dtype,
                                  pause=0, progress=False)
    diff = np.abs(np.subtract(result["numpy_transformer"]["losses"], result["torch"]["losses"]))
    assert len(diff) == 200 and diff.max() < tolerance


def test_the_twin_trains_without_dropout_whatever_the_config_says(data_dir):
    config = get_recipe("bert-quotes").make_config(steps=2, **{**TINY, "dropout": 0.1})
    result = compare_with_pytorch(get_recipe("bert-quotes"), config, data_dir, pause=0,
                                  progress=False)
    diff = np.subtract(result["numpy_transformer"]["losses"], result["torch"]["losses"])
    assert np.abs(diff).max() < 1e-3                       # no masks drawn on either side


def test_bert_twin_command_prints_the_differences_and_writes_the_curves(data_dir, tmp_path, capsys):
    png = tmp_path / "curves.png"
    assert main(["bert-twin", "--steps", "4", "--data-dir", data_dir, "--out", str(png),
                 "--pause", "0", "--no-progress", "--set", "depth=1", "--set", "dim=32",
                 "--set", "heads=2", "--set", "ff_dim=64"]) == 0
    out = capsys.readouterr().out
    assert "float64: 4 steps" in out and "float32: 4 steps" in out
    assert "max |loss difference|" in out and "ratio" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_compare_hook_reports_both_libraries(data_dir):
    config = get_recipe("bert-quotes").make_config(steps=3, **TINY)
    result = compare_with_pytorch(get_recipe("bert-quotes"), config, data_dir, pause=0,
                                  progress=False)
    assert result["steps"] == 3 and result["metrics"] == ["test_loss", "test_accuracy"]
    ours, theirs = result["numpy_transformer"], result["torch"]
    assert abs(ours["test_loss"] - theirs["test_loss"]) < 1e-3
    assert ours["train_seconds"] > 0 and theirs["train_seconds"] > 0
