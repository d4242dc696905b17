"""gan-mnist: sample grids per evaluation, exact resume; gan-quality judges samples with a classifier.

The recipes run on a tiny stand-in for MNIST (random 28x28 digits), so these tests need no data
files and take seconds; the real run is in the README."""
import re
import json

import numpy as np
import pytest

import numpy_transformer as nt
from numpy_transformer.cli import main
from numpy_transformer.commands.gan_quality import classify, quality
from numpy_transformer.data import MNIST, ArrayDataset
from numpy_transformer.recipes import get_recipe
from numpy_transformer.train import Trainer
from numpy_transformer.viz.samples import save_image_grid, tile_images

TINY_GAN = ["--batch-size", "8", "--set", "width=2", "--set", "latent_dim=4",
            "--set", "eval_images=16", "--no-progress"]


class TinyMNIST(MNIST):
    """64 training / 32 test random 'digits' with MNIST's shapes, dtypes and statistics."""

    def __init__(self, root=None, train: bool = True):
        rng = np.random.default_rng(int(train))
        n = 64 if train else 32
        ArrayDataset.__init__(self, rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
                              rng.integers(0, 10, n))
        self.train = train
        self.data, self.targets = self.arrays


@pytest.fixture(autouse=True, scope="module")
def tiny_mnist():
    import numpy_transformer.recipes.images as images
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(images, "MNIST", TinyMNIST)
        yield


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A tiny GAN trained 4 steps (evaluated every 2) and a tiny CNN trained 2 steps."""
    tmp_path = tmp_path_factory.mktemp("runs")
    assert main(["train", "gan-mnist", "--steps", "4", "--eval-every", "2", *TINY_GAN,
                 "--out", str(tmp_path / "gan")]) == 0
    assert main(["train", "cnn-mnist", "--steps", "2", "--batch-size", "16", "--no-progress",
                 "--out", str(tmp_path / "cnn")]) == 0
    return tmp_path


def test_training_draws_a_sample_grid_per_evaluation_and_keeps_the_latest(runs):
    import matplotlib.image
    files = {p.name for p in (runs / "gan").iterdir()}
    assert {"samples_step_0000002.png", "samples_step_0000004.png", "samples.png",
            "checkpoint.safetensors", "log.jsonl", "curves.png"} <= files
    grid = matplotlib.image.imread(runs / "gan" / "samples.png")
    assert grid.shape[:2] == (2 * (8 * 30 + 2),) * 2        # 8x8 tiles of 28 + 2 px gaps, scale 2
    assert (runs / "gan" / "samples.png").read_bytes() == (runs / "gan" / "samples_step_0000004.png").read_bytes()
    records = [json.loads(line) for line in open(runs / "gan" / "log.jsonl")]
    evals = [r for r in records if r["split"] == "eval"]
    assert [r["step"] for r in evals] == [2, 4]
    assert {"d_loss", "g_loss", "d_real", "d_fake"} <= set(evals[-1])


def test_whole_epochs_name_their_grid_by_epoch(tmp_path):
    setup = get_recipe("gan-mnist").build(get_recipe("gan-mnist").make_config(width=2, latent_dim=4))
    setup.task.after_evaluate(tmp_path, {"epoch": 3.0, "step": 24})
    assert {p.name for p in tmp_path.iterdir()} == {"samples_epoch_003.png", "samples.png"}


def _trainer(recipe, out, steps, checkpoint_every=None, stop_at=None):
    """A 6-step run (its learning rates decay over 6 steps) that stops after `stop_at` steps."""
    config = recipe.make_config(steps=steps, epochs=None, batch_size=8, width=2, latent_dim=4,
                                eval_images=16, refine=1, ema_decay=0.9)
    nt.manual_seed(config.seed)
    setup = recipe.build(config)
    return Trainer(setup.task, setup.train_loader, setup.eval_loader, steps=stop_at or steps, eval_every=100,
                   checkpoint_every=checkpoint_every, out_dir=out, progress=False,
                   info={"recipe": recipe.name, "config": {}}, plot=False), setup


def test_resume_gives_bit_identical_generator_and_discriminator(tmp_path):
    """Both optimizers and schedulers, the generator's moving average, the noise generator's
    state and the data position are in the checkpoint."""
    recipe = get_recipe("gan-mnist")
    straight, setup = _trainer(recipe, tmp_path / "a", steps=6)
    straight.fit()
    first, _ = _trainer(recipe, tmp_path / "b", steps=6, checkpoint_every=3, stop_at=3)
    first.fit()
    resumed, resumed_setup = _trainer(recipe, tmp_path / "b", steps=6)
    resumed.fit(resume=True)
    for module in ("gan", "generator_ema"):
        ours = resumed_setup.task.modules[module].state_dict()
        for name, value in setup.task.modules[module].state_dict().items():
            np.testing.assert_array_equal(value, ours[name], err_msg=f"{module}.{name}")


def test_gan_quality_judges_samples_with_the_classifier(runs, capsys):
    assert main(["gan-quality", str(runs / "gan"), "--classifier", str(runs / "cnn"),
                 "--samples", "40", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["recipe"] == "gan-mnist" and result["step"] == 4 and result["samples"] == 40
    assert len(result["class_shares"]) == 10 and sum(result["class_shares"]) == pytest.approx(1)
    assert 0.1 <= result["mean_top_probability"] <= 1
    assert result["min_class_share"] == min(result["class_shares"])
    assert main(["gan-quality", str(runs / "gan"), "--classifier", str(runs / "cnn"),
                 "--samples", "40"]) == 0
    text = capsys.readouterr().out
    assert "mean top-class probability" in text and "target >= 0.9" in text
    assert "smallest class share" in text and "target >= 5%" in text


def test_quality_figures_and_mode_collapse():
    sure_and_varied = np.eye(10)[np.arange(100) % 10] * 0.95 + 0.005   # rows sum to 1
    result = quality(sure_and_varied)
    assert result["mean_top_probability"] == pytest.approx(0.955)
    assert result["class_shares"] == [0.1] * 10
    assert result["confident"] and result["every_class"]
    collapsed = quality(np.eye(10)[np.full(100, 3)])
    assert collapsed["class_shares"][3] == 1.0 and collapsed["min_class_share"] == 0.0
    assert collapsed["confident"] and not collapsed["every_class"]
    unsure = quality(np.full((20, 10), 0.1))
    assert unsure["mean_top_probability"] == pytest.approx(0.1) and not unsure["confident"]


def test_classify_normalises_like_the_cnn_recipe():
    """Images in [0, 1] reach the classifier as (x - 0.1307) / 0.3081, in their own dtype."""
    seen = []

    def model(x):
        seen.append(x)
        return np.zeros((len(x), 10), x.dtype)
    model.eval = lambda: None
    images = np.random.default_rng(0).uniform(0, 1, (3, 1, 28, 28)).astype(np.float32)
    probabilities = classify(model, images)
    np.testing.assert_allclose(seen[0], (images - MNIST.mean) / MNIST.std, rtol=1e-6)
    assert seen[0].dtype == np.float32
    np.testing.assert_allclose(probabilities, 0.1)
    with pytest.raises(ValueError, match=r"\[N, 1, 28, 28\].*shape \(3, 1, 8, 8\)"):
        classify(model, images[:, :, :8, :8])


def test_gan_quality_errors_name_the_wrong_checkpoint(runs, tmp_path, capsys):
    assert main(["gan-quality", str(runs / "cnn"), "--classifier", str(runs / "cnn")]) == 1
    assert re.search(r"'cnn-mnist' run, which generates no images", capsys.readouterr().err)
    assert main(["gan-quality", str(runs / "gan"), "--classifier", str(runs / "gan")]) == 1
    assert re.search(r"'gan-mnist' run, not a classifier", capsys.readouterr().err)
    assert main(["gan-quality", str(runs / "gan"), "--classifier", str(runs / "cnn"), "--samples", "0"]) == 2
    assert re.search(r"--samples must be positive, got 0", capsys.readouterr().err)
    assert main(["gan-quality", str(tmp_path / "nothing"), "--classifier", str(runs / "cnn")]) == 1
    assert "gan-quality: error: no checkpoint at" in capsys.readouterr().err


def test_tile_images_lays_tiles_out_row_by_row_with_gaps():
    images = np.stack([np.full((2, 2), v) for v in (0.1, 0.2, 0.3)])       # [3, 2, 2]
    grid = tile_images(images, nrow=2, padding=1, pad_value=1.0)
    assert grid.shape == (1 + 2 * 3, 1 + 2 * 3)
    assert np.all(grid[1:3, 1:3] == np.float32(0.1)) and np.all(grid[1:3, 4:6] == np.float32(0.2))
    assert np.all(grid[4:6, 1:3] == np.float32(0.3)) and np.all(grid[4:6, 4:6] == 1.0)
    assert np.all(grid[0] == 1.0) and np.all(grid[:, 3] == 1.0)
    rgb = tile_images(np.zeros((4, 3, 2, 2)), padding=0)
    assert rgb.shape == (4, 4, 3)
    with pytest.raises(ValueError, match="non-empty batch"):
        tile_images(np.zeros((0, 2, 2)))
    with pytest.raises(ValueError, match="1 or 3 channels"):
        tile_images(np.zeros((2, 2, 4, 4)))


def test_save_image_grid_writes_a_png(tmp_path):
    import matplotlib.image
    save_image_grid(np.random.default_rng(0).uniform(-0.5, 1.5, (5, 1, 28, 28)), tmp_path / "g.png",
                    scale=1)
    image = matplotlib.image.imread(tmp_path / "g.png")
    assert image.shape[:2] == (2 + 2 * 30, 2 + 3 * 30)
