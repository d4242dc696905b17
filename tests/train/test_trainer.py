"""The training loop: loss goes down, logs and curves are written, resume is bit-identical."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import numpy_transformer as nt
from numpy_transformer.recipes import get_recipe
from numpy_transformer.train import Trainer, load_checkpoint


def _trainer(out_dir, steps, seed=0, checkpoint_every=None):
    recipe = get_recipe("digits")
    config = recipe.make_config(steps=steps, epochs=None, seed=seed, hidden=32)
    nt.manual_seed(config.seed)
    setup = recipe.build(config, None)
    return Trainer(setup.task, setup.train_loader, setup.eval_loader, steps=steps, eval_every=20,
                   log_every=5, checkpoint_every=checkpoint_every, out_dir=out_dir, progress=False,
                   info={"recipe": "digits", "config": {}}, plot=False), setup


def test_digits_loss_goes_down_and_accuracy_is_high(tmp_path):
    trainer, setup = _trainer(tmp_path, steps=300)
    final = trainer.fit()
    train_losses = [r["loss"] for r in trainer.history if r["split"] == "train"]
    assert np.mean(train_losses[-5:]) < 0.5 * np.mean(train_losses[:2])
    assert final["accuracy"] > 0.9
    records = [json.loads(line) for line in open(tmp_path / "log.jsonl")]
    assert {r["split"] for r in records} == {"train", "eval"}
    assert records[-1]["step"] == 300


def test_resume_in_process_gives_bit_identical_weights(tmp_path):
    straight, _ = _trainer(tmp_path / "a", steps=60)
    straight.fit()
    first, _ = _trainer(tmp_path / "b", steps=25, checkpoint_every=25)
    first.fit()
    resumed, _ = _trainer(tmp_path / "b", steps=60, seed=123)  # a different seed must not matter
    resumed.fit(resume=True)
    assert resumed.step == 60
    for (name, a), b in zip(straight.task.model.state_dict().items(),
                            resumed.task.model.state_dict().values()):
        np.testing.assert_array_equal(a, b, err_msg=name)


def _weights(out):
    return load_checkpoint(os.path.join(out, "checkpoint.safetensors")).modules["model"]


def _train_command(out, steps):
    return [sys.executable, "-m", "numpy_transformer", "train", "digits", "--steps", str(steps),
            "--checkpoint-every", "25", "--eval-every", "100000", "--out", str(out), "--no-progress",
            "--set", "hidden=256"]


def test_sigkilled_run_resumed_matches_an_uninterrupted_run(tmp_path):
    steps = 2000
    subprocess.run(_train_command(tmp_path / "straight", steps), check=True, capture_output=True)
    killed_out = tmp_path / "killed"
    process = subprocess.Popen(_train_command(killed_out, steps), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    checkpoint = killed_out / "checkpoint.safetensors"
    deadline = time.time() + 120
    while time.time() < deadline and process.poll() is None:
        if checkpoint.exists() and load_checkpoint(checkpoint).state["step"] >= 30:
            process.send_signal(signal.SIGKILL)
            break
        time.sleep(0.01)
    assert process.wait() == -signal.SIGKILL, "the run finished before it could be killed"
    killed_at = load_checkpoint(checkpoint).state["step"]
    assert 30 <= killed_at < steps
    subprocess.run(_train_command(killed_out, steps) + ["--resume"], check=True, capture_output=True)
    straight, resumed = _weights(tmp_path / "straight"), _weights(killed_out)
    for name in straight:
        np.testing.assert_array_equal(straight[name], resumed[name], err_msg=name)
    steps_logged = [json.loads(line)["step"] for line in open(killed_out / "log.jsonl")]
    assert steps_logged == sorted(steps_logged), "the resumed log repeats steps"


def test_a_loss_that_becomes_nan_stops_training_naming_the_step_and_keeps_the_checkpoint(tmp_path):
    nt.manual_seed(0)
    model = nt.nn.Linear(4, 2)
    task = nt.train.ClassificationTask(model, nt.nn.CrossEntropyLoss(),
                                       nt.optim.SGD(model.parameters(), lr=0.1))
    x = np.random.default_rng(0).standard_normal((64, 4)).astype(np.float32)
    x[40:] = np.nan                                     # the batches from step 6 on are poisoned
    loader = nt.data.DataLoader(nt.data.ArrayDataset(x, np.arange(64) % 2), 8)
    trainer = nt.train.Trainer(task, loader, steps=8, checkpoint_every=2, out_dir=tmp_path,
                               progress=False, plot=False)
    with pytest.raises(nt.train.NonFiniteLossError, match="stopped at step 6: .*loss is nan.*"
                                                          "last good checkpoint.*is kept"):
        trainer.fit()
    saved = nt.train.load_checkpoint(tmp_path / "checkpoint.safetensors")
    assert saved.state["step"] == 4
    assert np.isfinite(saved.modules["model"]["weight"]).all()


def test_no_progress_bar_fragments_when_the_output_is_not_a_terminal(tmp_path, capfd):
    nt.manual_seed(0)
    model = nt.nn.Linear(4, 2)
    task = nt.train.ClassificationTask(model, nt.nn.CrossEntropyLoss(),
                                       nt.optim.SGD(model.parameters(), lr=0.1))
    x = np.random.default_rng(0).standard_normal((32, 4)).astype(np.float32)
    loader = nt.data.DataLoader(nt.data.ArrayDataset(x, np.arange(32) % 2), 8)
    nt.train.Trainer(task, loader, loader, epochs=2, progress=True, plot=False).fit()
    out, err = capfd.readouterr()
    assert "\r" not in out + err and "step/s" not in err
    assert out.count("| eval loss") == 2


def test_an_infinite_loss_reported_by_the_task_stops_training_too(tmp_path):
    nt.manual_seed(0)
    model = nt.nn.Linear(4, 2)
    task = nt.train.ClassificationTask(model, nt.nn.CrossEntropyLoss(),
                                       nt.optim.SGD(model.parameters(), lr=0.1))
    steps = iter(range(100))
    real_step = task.train_step
    task.train_step = lambda batch: {**real_step(batch), **({"loss": float("inf")}
                                                           if next(steps) == 2 else {})}
    x = np.random.default_rng(0).standard_normal((32, 4)).astype(np.float32)
    loader = nt.data.DataLoader(nt.data.ArrayDataset(x, np.arange(32) % 2), 8)
    trainer = nt.train.Trainer(task, loader, steps=6, out_dir=tmp_path, progress=False, plot=False)
    with pytest.raises(nt.train.NonFiniteLossError, match="stopped at step 3: loss is inf; no "
                                                          "checkpoint was written"):
        trainer.fit()
