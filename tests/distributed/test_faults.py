"""Faults: a rank that is killed or raises ends every rank within a minute, named; Ctrl-C stops
every rank; either way the last checkpoint loads."""
import os
import re
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import numpy_transformer as nt

pytest.importorskip("mpi4py")


def start_training(out, nproc=3):
    """`numpy-transformer train digits --nproc N` for long, in a session of its own; returns
    (process, the ranks' pids) once its first checkpoint is written."""
    command = [sys.executable, "-m", "numpy_transformer", "train", "digits", "--steps", "1000000",
               "--checkpoint-every", "20", "--out", str(out), "--no-progress", "--nproc", str(nproc)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    first = process.stdout.readline()
    pids = [int(p) for p in re.search(r"pids ([\d ]+)\)", first).group(1).split()]
    while not (out / "checkpoint.safetensors").exists():
        assert process.poll() is None, process.stderr.read()
        time.sleep(0.1)
    time.sleep(0.5)
    return process, pids


def ended_within(process, seconds):
    """(exit code, stdout, stderr) of a process that must end within `seconds`."""
    started = time.monotonic()
    try:
        out, err = process.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        pytest.fail(f"still running after {seconds} s")
    return process.returncode, out, err, time.monotonic() - started


def alive(pid) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"     # a zombie has ended
    except OSError:
        return False


@pytest.fixture
def launcher():
    from numpy_transformer.distributed.launch import mpiexec
    try:
        mpiexec()
    except OSError:
        pytest.skip("no mpiexec")
    if not os.path.isdir("/proc"):
        pytest.skip("needs /proc to find the ranks")


def test_a_killed_rank_ends_every_rank_named_and_the_checkpoint_loads(tmp_path, launcher):
    process, pids = start_training(tmp_path / "run")
    os.kill(pids[1], signal.SIGKILL)
    code, out, err, seconds = ended_within(process, 60)
    assert code != 0 and seconds < 60
    assert f"rank 1 of 3 (pid {pids[1]}) ended first" in err
    assert not any(alive(pid) for pid in pids)
    assert nt.train.load_checkpoint(tmp_path / "run" / "checkpoint.safetensors").state["step"] > 0


def test_ctrl_c_stops_every_rank_and_the_checkpoint_loads(tmp_path, launcher):
    process, pids = start_training(tmp_path / "run", nproc=2)
    os.killpg(process.pid, signal.SIGINT)              # what the terminal does on Ctrl-C
    code, out, err, seconds = ended_within(process, 60)
    assert code == 130 and "interrupted" in err
    assert not any(alive(pid) for pid in pids)
    assert nt.train.load_checkpoint(tmp_path / "run" / "checkpoint.safetensors").state["step"] > 0


RAISING_RANK = textwrap.dedent("""
    import sys
    from numpy_transformer import cli
    from numpy_transformer.distributed import get_world
    from numpy_transformer.train.task import Task
    step = Task.train_step

    def failing_step(self, batch):
        self.steps = getattr(self, "steps", 0) + 1
        if get_world().rank == 1 and self.steps == 30:
            raise OSError("rank 1's disk is full")
        return step(self, batch)
    Task.train_step = failing_step
    sys.exit(cli.main(sys.argv[1:]))
""")


def test_a_rank_that_raises_in_training_ends_every_rank_naming_itself(tmp_path, launcher):
    from numpy_transformer.distributed.launch import mpiexec
    script = tmp_path / "raising.py"
    script.write_text(RAISING_RANK)
    out = tmp_path / "run"
    process = subprocess.Popen(
        [mpiexec(), "-n", "3", sys.executable, str(script), "train", "digits", "--steps", "100000",
         "--checkpoint-every", "10", "--out", str(out), "--no-progress"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    code, _, err, seconds = ended_within(process, 60)
    assert code != 0
    assert "numpy-transformer train (rank 1 of 3): error: rank 1's disk is full" in err
    assert nt.train.load_checkpoint(out / "checkpoint.safetensors").state["step"] == 20


def test_a_gan_batch_smaller_than_the_world_is_refused_naming_the_empty_rank(tmp_path, launcher):
    from numpy_transformer.testing.image_folders import write_idx_folder
    folder = write_idx_folder(tmp_path / "idx", counts=(16, 8), size=(8, 8))
    command = [sys.executable, "-m", "numpy_transformer", "train", "gan-mnist", "--data",
               str(folder), "--batch-size", "2", "--steps", "2", "--set", "width=2",
               "--set", "latent_dim=4", "--set", "refine=0", "--out", str(tmp_path / "run"),
               "--no-progress", "--nproc", "3"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    code, _, err, _ = ended_within(process, 60)
    assert code != 0 and "Traceback" not in err
    assert ("numpy-transformer train (rank 2 of 3): error: GANTask: a batch of 2 images on 3 "
            "ranks leaves rank 2 none") in err
