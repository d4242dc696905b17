"""Every recipe is one training config plus its own options, and builds from its defaults."""
import dataclasses

import pytest

from numpy_transformer.recipes import RECIPES, TrainingConfig
from numpy_transformer.train.twin import TWINS


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_every_recipe_config_is_a_training_config(name):
    config = RECIPES[name].make_config()
    assert isinstance(config, TrainingConfig)
    base = {f.name for f in dataclasses.fields(TrainingConfig)}
    assert base <= {f.name for f in dataclasses.fields(config)}


def test_recipe_configs_declare_only_what_differs_from_the_training_config():
    defaults = {f.name: f.default for f in dataclasses.fields(TrainingConfig)}
    for name, recipe in RECIPES.items():
        own = recipe.config.__dict__.get("__annotations__", {})
        same = [k for k in own if k in defaults and getattr(recipe.config(), k) == defaults[k]]
        assert not same, f"{name} re-declares {same} with the training config's default"


def test_unknown_option_is_refused_with_the_recipe_name():
    with pytest.raises(ValueError, match="digits.*no option.*'depth'"):
        RECIPES["digits"].make_config(depth=3)


def test_twins_are_registered_by_the_recipes_not_imported_by_the_twin_path():
    import inspect
    from numpy_transformer.train import twin
    source = inspect.getsource(twin)
    assert "..recipes" not in source and "numpy_transformer.recipes" not in source
    assert {"digits", "mlp-mnist", "cnn-mnist", "gpt-shakespeare", "bert-quotes"} <= set(TWINS)


@pytest.mark.parametrize("option, value, problem", [
    ("lr", 0.0, "lr must be a finite number > 0"), ("lr", float("nan"), "lr must be a finite"),
    ("batch_size", 0, "batch_size must be a whole number >= 1"),
    ("epochs", -3, "epochs must be a finite number > 0"), ("steps", 0, "steps must be a whole"),
    ("log_every", 2.5, "log_every must be a whole number")])
def test_values_no_training_can_run_with_are_refused_naming_the_option(option, value, problem):
    overrides = {option: value, **({"epochs": None} if option == "steps" else {})}
    with pytest.raises(ValueError, match=f"MnistConfig: {problem}"):
        RECIPES["mlp-mnist"].make_config(**overrides)
