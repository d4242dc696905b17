"""`--data PATH`: the image recipes train on a user's images and the text recipes on a user's
text; the model takes its sizes from the data, and the run keeps the class names."""
import json

import numpy as np
import pytest

from numpy_transformer.cli import main

from numpy_transformer.testing.image_folders import write_image_folder


@pytest.fixture
def three_classes_npz(tmp_path):
    """16x16 RGB images whose class sets their brightness: learnable in a few steps."""
    rng = np.random.default_rng(0)
    y = np.arange(240) % 3
    x = (rng.integers(0, 60, (240, 16, 16, 3)) + 90 * y[:, None, None, None]).astype(np.uint8)
    names = np.array(["cat", "dog", "fox"])[y]
    np.savez(tmp_path / "pets.npz", x_train=x[:200], y_train=names[:200], x_test=x[200:],
             y_test=names[200:])
    return tmp_path / "pets.npz"


def train(tmp_path, *argv):
    out = tmp_path / "run"
    assert main(["train", *argv, "--out", str(out), "--no-progress"]) == 0
    return out, json.loads((out / "result.json").read_text())


def test_mlp_learns_a_users_npz_and_eval_names_its_classes(tmp_path, three_classes_npz, capsys):
    out, result = train(tmp_path, "mlp-mnist", "--data", str(three_classes_npz), "--epochs", "10",
                        "--batch-size", "32",
                        "--set", "log_every=10")
    assert result["classes"] == ["cat", "dog", "fox"] and result["image_shape"] == [3, 16, 16]
    assert result["test_accuracy"] > 0.8
    capsys.readouterr()
    assert main(["eval", str(out)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report["test_accuracy_by_class"]) == {"cat", "dog", "fox"}


def test_cnn_trains_on_an_image_folder_of_any_size_and_mode(tmp_path):
    folder = write_image_folder(tmp_path / "fruit")
    _, result = train(tmp_path, "cnn-mnist", "--data", str(folder), "--steps", "2",
                      "--batch-size", "4")
    assert result["classes"] == ["apple", "pear"] and result["image_shape"] == [3, 16, 16]


def test_vit_takes_patches_that_divide_the_users_images(tmp_path, three_classes_npz, capsys):
    _, result = train(tmp_path, "vit-mnist", "--data", str(three_classes_npz), "--steps", "2",
                      "--set", "patch_size=4", "--set", "dim=16", "--set", "depth=1",
                      "--set", "mlp_dim=16", "--set", "warmup_steps=1")
    assert result["image_shape"] == [3, 16, 16]
    assert main(["train", "vit-mnist", "--data", str(three_classes_npz), "--steps", "1",
                 "--out", str(tmp_path / "bad"), "--no-progress"]) == 1
    assert "cannot be cut into 7x7 patches" in capsys.readouterr().err


def test_gan_draws_the_users_images_and_a_classifier_of_them_judges_by_class_name(
        tmp_path, three_classes_npz, capsys):
    out, _ = train(tmp_path, "gan-mnist", "--data", str(three_classes_npz), "--steps", "2",
                   "--batch-size", "8", "--set", "width=4", "--set", "refine=0",
                   "--set", "disc_refine=0", "--set", "eval_images=16")
    assert (out / "samples.png").exists()
    judge = tmp_path / "judge"
    assert main(["train", "cnn-mnist", "--data", str(three_classes_npz), "--steps", "2",
                 "--out", str(judge), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["gan-quality", str(out), "--classifier", str(judge), "--samples", "20"]) == 0
    assert "class shares  cat: " in capsys.readouterr().out


@pytest.fixture
def text_file(tmp_path):
    line = "the quick brown fox jumps over the lazy dog and runs away\n"
    path = tmp_path / "story.txt"
    path.write_text("".join(f"{k} {line}" for k in range(60)), encoding="utf-8")
    return path


def test_gpt_trains_on_a_users_text_file_and_generates(tmp_path, text_file, capsys):
    out, result = train(tmp_path, "gpt-shakespeare", "--data", str(text_file), "--steps", "3",
                        "--set", "n_layer=1", "--set", "n_embd=16", "--set", "n_head=2",
                        "--set", "block_size=16", "--set", "warmup_steps=1")
    assert result["config"]["text"] == str(text_file)
    capsys.readouterr()
    assert main(["generate", str(out), "--prompt", "the", "--max-new-tokens", "5",
                 "--seed", "0"]) == 0
    assert capsys.readouterr().out.startswith("the")


def test_rnn_lm_trains_on_a_folder_of_txt_files_and_generates(tmp_path, text_file, capsys):
    folder = tmp_path / "texts"
    folder.mkdir()
    (folder / "a.txt").write_text(text_file.read_text())
    (folder / "b.txt").write_text("a second file of words\n" * 5)
    out, result = train(tmp_path, "rnn-lm", "--data", str(folder), "--steps", "3",
                        "--set", "embed_dim=16", "--set", "hidden_size=16", "--set", "seq_len=8")
    assert result["test_perplexity"] > 1
    capsys.readouterr()
    assert main(["generate", str(out), "--prompt", "the quick", "--max-new-tokens", "3",
                 "--seed", "0"]) == 0


def test_text_that_is_not_utf8_names_the_file_and_line(tmp_path, capsys):
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("first line\nsecond line caf\xe9\n".encode("latin-1"))
    assert main(["train", "gpt-shakespeare", "--data", str(bad), "--steps", "1",
                 "--out", str(tmp_path / "run"), "--no-progress"]) == 1
    assert f"{bad}, line 2: not UTF-8 text" in capsys.readouterr().err
