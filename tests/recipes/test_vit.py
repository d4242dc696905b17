"""vit-mnist: the recipe's wiring learns MNIST; `attention` draws a trained run's maps."""
import re
import json
import os
from pathlib import Path

import numpy as np
import pytest

import numpy_transformer as nt
from numpy_transformer.cli import main
from numpy_transformer.recipes import get_recipe
from numpy_transformer.train import Trainer

REPO = Path(__file__).resolve().parents[2]
TINY = ["--set", "dim=16", "--set", "depth=1", "--set", "heads=2", "--set", "mlp_dim=32",
        "--set", "patch_size=7", "--set", "warmup_steps=2"]


@pytest.fixture(scope="module")
def data_dir() -> str:
    """The shared data folder holding mnist/ ($NT_SHARED_DATA, else <repo>/../shared/data)."""
    folder = Path(os.environ.get("NT_SHARED_DATA", REPO.parent / "shared" / "data"))
    if not (folder / "mnist").is_dir():
        pytest.skip(f"MNIST not found under {folder} (set NT_SHARED_DATA)")
    return str(folder)


def test_a_tiny_vit_learns_mnist_digits_in_a_few_seconds(data_dir):
    recipe = get_recipe("vit-mnist")
    config = recipe.make_config(steps=400, batch_size=64, lr=3e-3, warmup_steps=20, dim=32,
                                depth=1, heads=2, mlp_dim=64, patch_size=7, max_shift=0)
    nt.manual_seed(config.seed)
    setup = recipe.build(config, data_dir)
    Trainer(setup.task, setup.train_loader, steps=config.steps, progress=False).fit()
    images, labels = next(iter(setup.test_loader))                 # 500 test digits
    accuracy = np.mean(setup.task.predict(images) == labels)
    assert accuracy > 0.7, accuracy                                 # chance: 0.1


def test_the_recipe_decays_only_weight_matrices_and_warms_up(data_dir):
    recipe = get_recipe("vit-mnist")
    setup = recipe.build(recipe.make_config(steps=100, warmup_steps=10, dim=16, depth=1,
                                            heads=2, mlp_dim=16), data_dir)
    decay, no_decay = setup.task.optimizers["optimizer"].param_groups
    model = setup.task.model
    assert decay["weight_decay"] == 0.05 and no_decay["weight_decay"] == 0.0
    assert any(p is model.patch_embed.weight for p in decay["params"])
    assert any(p is model.stem[0].weight for p in decay["params"])   # the hybrid's convolution
    assert any(p is model.stem[0].bias for p in no_decay["params"])
    assert any(p is model.pos_embedding for p in no_decay["params"])
    assert any(p is model.cls_token for p in no_decay["params"])
    assert setup.task.learning_rate() < 2e-3 / 10                   # first warm-up step
    assert setup.task.criterion.label_smoothing == 0.1
    assert model.needs_input_grad is False                          # the images are data


def test_a_run_saved_before_the_hybrid_rebuilds_its_pixel_patch_model():
    """A saved config without stem_channels is the 6-block ViT on pixel patches it was run as."""
    recipe = get_recipe("vit-mnist")
    saved = {k: v for k, v in vars(recipe.make_config(depth=6, epochs=12)).items()
             if k != "stem_channels"}
    assert recipe.saved_config(saved).stem_channels == 0
    assert recipe.saved_config({**saved, "stem_channels": 8}).stem_channels == 8
    assert recipe.saved_config(saved, lr=1e-3).lr == 1e-3


def test_attention_command_draws_a_trained_run(tmp_path, data_dir, capsys):
    run = tmp_path / "run"
    assert main(["train", "vit-mnist", "--steps", "3", "--data-dir", data_dir, "--out", str(run),
                 "--no-progress", *TINY]) == 0
    assert json.loads((run / "result.json").read_text())["step"] == 3
    png = tmp_path / "maps.png"
    assert main(["attention", str(run), "--out", str(png), "--count", "2",
                 "--data-dir", data_dir]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"wrote {png}" in capsys.readouterr().out
    assert main(["attention", str(run), "--text", "a dog", "--data-dir", data_dir]) == 1
    assert "takes no --text" in capsys.readouterr().err


def test_attention_command_names_the_recipes_that_have_maps(tmp_path, capsys):
    assert main(["train", "digits", "--steps", "2", "--out", str(tmp_path), "--no-progress"]) == 0
    assert main(["attention", str(tmp_path)]) == 1
    assert re.search(r"recipe 'digits' has no attention maps.*vit-mnist", capsys.readouterr().err)


@pytest.mark.slow
def test_vit_mnist_reaches_its_target_accuracy(tmp_path, data_dir):
    """The full recipe: >= 98.5% on the 10,000 test digits (99.37% measured; minutes of CPU)."""
    assert main(["train", "vit-mnist", "--data-dir", data_dir, "--out", str(tmp_path),
                 "--no-progress"]) == 0
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["test_accuracy"] >= 0.985
