"""`compare` trains our model and its torch twin from the same weights on the same batches."""
import pytest

from numpy_transformer.recipes import get_recipe
from numpy_transformer.train.twin import TWINS, compare_with_pytorch


def test_twins_trained_alike_reach_the_same_accuracy():
    recipe = get_recipe("digits")
    config = recipe.make_config(epochs=3, hidden=32)
    result = compare_with_pytorch(recipe, config, pause=0, progress=False)
    ours, theirs = result["numpy_transformer"], result["torch"]
    assert result["steps"] == 3 * 45
    assert ours["test_accuracy"] > 0.85
    assert abs(ours["test_accuracy"] - theirs["test_accuracy"]) <= 2 / 359  # at most 2 test images
    assert ours["train_seconds"] > 0 and theirs["train_seconds"] > 0


def test_every_recipe_with_a_twin_registers_it_and_a_recipe_without_one_is_told_so():
    assert {"digits", "mlp-mnist", "cnn-mnist", "gpt-shakespeare", "gpt-shakespeare-bpe",
            "bert-quotes"} <= set(TWINS)
    recipe = get_recipe("reverse")
    with pytest.raises(KeyError, match="recipe 'reverse' has no PyTorch twin; the recipes with one"):
        compare_with_pytorch(recipe, recipe.make_config(steps=1), progress=False)


def test_the_twin_trains_on_the_batches_ours_trained_on_and_reports_every_loss():
    recipe = get_recipe("digits")
    result = compare_with_pytorch(recipe, recipe.make_config(steps=30, hidden=16), pause=0,
                                  progress=False, chunk_steps=7)
    ours, theirs = result["numpy_transformer"], result["torch"]
    assert len(result["chunk_ratios"]) == 5 and len(ours["losses"]) == len(theirs["losses"]) == 30
    assert max(abs(a - b) for a, b in zip(ours["losses"], theirs["losses"])) < 1e-4
