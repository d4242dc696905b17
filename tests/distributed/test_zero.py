"""ZeRO-1 (`--zero 1`): the optimizer state split across the ranks reaches plain data
parallelism's weights bit for bit, saves the whole state, and resumes on any number of ranks."""
import json
import sys

import numpy as np
import pytest

import numpy_transformer as nt
from numpy_transformer.distributed.zero import owners

from .ranks import assert_same_weights, mpiexec, run_ranks

pytest.importorskip("mpi4py")

GPT = ["gpt-shakespeare", "--set", "n_layer=2", "--set", "n_embd=16", "--set", "n_head=2",
       "--set", "block_size=16", "--set", "warmup_steps=1"]


@pytest.fixture(scope="module")
def text_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("text") / "story.txt"
    path.write_text("".join(f"{k} the quick brown fox jumps over the lazy dog\n" for k in range(80)))
    return str(path)


def train(out, nproc, *argv, resume=False):
    command = [sys.executable, "-m", "numpy_transformer", "train", *argv, "--out", str(out),
               "--no-progress", "--nproc", str(nproc), *(["--resume"] if resume else [])]
    done = run_ranks(command, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return nt.train.load_checkpoint(out / "checkpoint.safetensors")


def test_each_rank_owns_a_third_of_the_elements_give_or_take_one_parameter():
    sizes = (100, 7, 60, 40, 3, 50, 31, 31, 12)
    params = [nt.nn.Parameter(np.zeros(n, np.float32)) for n in sizes]
    owner = owners(params, 3)
    loads = [sum(p.size for p, r in zip(params, owner) if r == rank) for rank in range(3)]
    assert max(loads) - min(loads) <= max(sizes) and sum(loads) == sum(sizes)
    assert owners(params, 3) == owner


def test_zero_reaches_plain_data_parallelism_bit_for_bit_and_saves_the_whole_state(tmp_path,
                                                                                   text_file):
    mpiexec()
    plain = train(tmp_path / "plain", 3, *GPT, "--steps", "4", "--data", text_file)
    zero = train(tmp_path / "zero", 3, *GPT, "--steps", "4", "--data", text_file, "--zero", "1")
    assert_same_weights(plain, zero, atol=0)
    whole, split = plain.optimizers["optimizer"]["state"], zero.optimizers["optimizer"]["state"]
    assert sorted(whole) == sorted(split)
    for index, state in whole.items():
        for key, value in state.items():
            np.testing.assert_array_equal(split[index][key], value)
    memory = json.loads((tmp_path / "zero" / "result.json").read_text())["optimizer_state_mib"]
    assert memory["per_rank"] < 0.45 * memory["whole"]


def test_a_zero_run_resumes_on_another_number_of_ranks(tmp_path):
    mpiexec()                                    # digits: Adam at a constant learning rate
    straight = train(tmp_path / "straight", 1, "digits", "--steps", "20")
    train(tmp_path / "half", 2, "digits", "--steps", "10", "--zero", "1")
    resumed = train(tmp_path / "half", 3, "digits", "--steps", "20", "--zero", "1", resume=True)
    assert_same_weights(straight, resumed, atol=2e-5)
