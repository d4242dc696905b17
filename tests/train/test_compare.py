"""`compare` trains our model and its torch twin from the same weights on the same batches."""
from numpy_transformer.recipes import get_recipe
from numpy_transformer.train.compare import compare_with_pytorch


def test_twins_trained_alike_reach_the_same_accuracy():
    recipe = get_recipe("digits")
    config = recipe.make_config(epochs=3, hidden=32)
    result = compare_with_pytorch(recipe, config, pause=0, progress=False)
    ours, theirs = result["numpy_transformer"], result["torch"]
    assert result["steps"] == 3 * 45
    assert ours["test_accuracy"] > 0.85
    assert abs(ours["test_accuracy"] - theirs["test_accuracy"]) <= 2 / 359  # at most 2 test images
    assert ours["train_seconds"] > 0 and theirs["train_seconds"] > 0
