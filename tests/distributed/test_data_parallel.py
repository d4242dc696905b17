"""Data parallelism over MPI: N ranks train to the weights one process reaches on the same global
batches, the averaged gradient is the full batch's, and a run resumes on another number of ranks."""
import json
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import numpy_transformer as nt
from numpy_transformer.distributed import DataParallel, World, shard_batch
from numpy_transformer.testing.image_folders import write_idx_folder

from .ranks import assert_same_weights, mpiexec, run_ranks

pytest.importorskip("mpi4py")
REPO = Path(__file__).resolve().parents[2]


def test_a_batch_is_cut_into_contiguous_shards_differing_by_one_at_most():
    x, y = np.arange(10), np.arange(10) * 2
    parts = [shard_batch((x, y), r, 3) for r in range(3)]
    assert [len(p[0][0]) for p in parts] == [4, 3, 3]
    np.testing.assert_array_equal(np.concatenate([p[0][1] for p in parts]), y)
    assert sum(share for _, share in parts) == 1


def test_one_process_is_a_world_of_one_and_averaging_changes_nothing():
    model = nt.nn.Linear(3, 2)
    model.weight.grad[...] = 1.5
    parallel = DataParallel(World(), {"model": model}, bucket_bytes=8)
    assert len(parallel.buckets) == 2                       # weight, then bias: one bucket each
    parallel.average_gradients(1.0)
    assert (model.weight.grad == 1.5).all()


def train(tmp_path, name, nproc, *argv):
    out = tmp_path / f"{name}-{nproc}"
    command = [sys.executable, "-m", "numpy_transformer", "train", *argv, "--out", str(out),
               "--no-progress", "--nproc", str(nproc)]
    done = run_ranks(command, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return nt.train.load_checkpoint(out / "checkpoint.safetensors"), out


@pytest.fixture(scope="module")
def image_npz(tmp_path_factory):
    folder = write_idx_folder(tmp_path_factory.mktemp("idx") / "idx", counts=(64, 16), size=(8, 8))
    return str(folder)


@pytest.fixture(scope="module")
def text_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("text") / "story.txt"
    path.write_text("".join(f"{k} the quick brown fox jumps over the lazy dog\n" for k in range(80)))
    return str(path)


def sizes(**fields):
    return [a for k, v in fields.items() for a in ("--set", f"{k}={v}")]


# every family, tiny, without dropout (whose masks differ per rank by design)
FAMILIES = {
    "mlp": ["digits", "--steps", "12"],
    "cnn": ["cnn-mnist", "--steps", "4", "--batch-size", "12", *sizes(dropout=0)],
    "vit": ["vit-mnist", "--steps", "3", "--batch-size", "12",
            *sizes(dim=16, depth=1, heads=2, mlp_dim=32, patch_size=4, warmup_steps=1)],
    "gan": ["gan-mnist", "--steps", "3", "--batch-size", "8",
            *sizes(width=2, latent_dim=4, refine=0, eval_images=16)],
    "gpt": ["gpt-shakespeare", "--steps", "4",
            *sizes(n_layer=1, n_embd=16, n_head=2, block_size=16, warmup_steps=1)],
    "rnn": ["rnn-lm", "--steps", "4", *sizes(embed_dim=16, hidden_size=16, seq_len=8, dropout=0)],
    "bert": ["bert-quotes", "--steps", "3", "--batch-size", "8", "--eval-every", "3",
             *sizes(dim=16, depth=1, heads=2, ff_dim=32, dropout=0, warmup_steps=1)],
    "translate": ["translate-multi30k", "--steps", "3", "--batch-size", "24", *sizes(
        train_sentences=200, eval_sentences=20, test_sentences=10, d_model=16, nhead=2,
        num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=32, dropout=0, warmup=1)],
}
SHARED = ("bert", "translate")                    # their data: the shared data folder


def last_eval(out):
    records = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    return next(r for r in reversed(records) if r["split"] == "eval")


@pytest.fixture(scope="module")
def one_process():
    """{family: (checkpoint, run folder)} of one process, each trained once for both rank counts."""
    return {}


@pytest.mark.parametrize("family", list(FAMILIES))
@pytest.mark.parametrize("nproc", [2, 3])
def test_n_ranks_reach_the_weights_and_evaluation_of_one_process(tmp_path, request, family, nproc,
                                                                 image_npz, text_file, one_process):
    mpiexec()
    data = (["--data-dir", request.getfixturevalue("shared_data")] if family in SHARED
            else ["--data", text_file] if family in ("gpt", "rnn")
            else ["--data", image_npz] if family != "mlp" else [])
    if family not in one_process:
        one_process[family] = train(tmp_path, family, 1, *FAMILIES[family], *data)
    (one, one_out), (many, out) = one_process[family], train(tmp_path, family, nproc,
                                                             *FAMILIES[family], *data)
    assert_same_weights(one, many, atol=2e-5)
    result = json.loads((out / "result.json").read_text())
    assert result["processes"] == nproc
    if family != "gan":                            # (its evaluation draws noise per shard)
        assert set(result["all_reduce_ms_per_step"]) == {"sending", "waiting", "exposed", "skew"}
        single, sharded = last_eval(one_out), last_eval(out)
        for key, value in single.items():
            if isinstance(value, float) and key != "seconds":
                assert sharded[key] == pytest.approx(value, rel=1e-5, abs=1e-6), key


def test_a_run_resumes_on_another_number_of_ranks(tmp_path):
    mpiexec()
    straight, _ = train(tmp_path, "straight", 1, "digits", "--steps", "20")
    _, out = train(tmp_path, "half", 2, "digits", "--steps", "10")
    command = [sys.executable, "-m", "numpy_transformer", "train", "digits", "--steps", "20",
               "--resume", "--out", str(out), "--no-progress", "--nproc", "3"]
    assert run_ranks(command, timeout=300).returncode == 0
    assert_same_weights(straight, nt.train.load_checkpoint(out / "checkpoint.safetensors"), 2e-5)


GRADIENT_SCRIPT = textwrap.dedent("""
    import numpy as np
    import numpy_transformer as nt
    from numpy_transformer.distributed import DataParallel, get_world, shard_batch
    world = get_world()
    nt.manual_seed(0)
    model = nt.models.MLP((6, 8, 3))
    criterion = nt.nn.CrossEntropyLoss()
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((10, 6)).astype(np.float64), rng.integers(0, 3, 10)
    model.to(np.float64)
    criterion(model(x), y); model.backward(criterion.backward())
    full = [p.grad.copy() for _, p in model.named_parameters()]
    model.zero_grad()
    (xs, ys), share = shard_batch((x, y), world.rank, world.size)
    criterion(model(xs), ys); model.backward(criterion.backward())
    DataParallel(world, {"model": model}, bucket_bytes=64).average_gradients(share)
    worst = max(float(np.abs(p.grad - g).max()) for (_, p), g in zip(model.named_parameters(), full))
    summed = world.sum_scalars({"worst": worst, "ranks": 1})
    if world.is_main:
        print("worst", summed["worst"], "ranks", summed["ranks"])
""")


def rank0_says(tmp_path, script: str, ranks: int = 3) -> dict:
    """{name: value} of the line `worst W name V` a script prints on rank 0 of `ranks`."""
    path = tmp_path / "script.py"
    path.write_text(script)
    done = run_ranks([mpiexec(), "-n", str(ranks), sys.executable, str(path)], timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    words = next(l for l in done.stdout.splitlines() if l.startswith("worst")).split()
    return {name: float(value) for name, value in zip(words[::2], words[1::2])}


def test_the_averaged_gradient_is_the_full_batch_gradient(tmp_path):
    said = rank0_says(tmp_path, GRADIENT_SCRIPT)
    assert said["ranks"] == 3 and said["worst"] < 1e-12


def test_a_batch_smaller_than_the_world_leaves_the_last_ranks_empty_and_rank0_never():
    parts = [shard_batch((np.arange(2),), r, 3) for r in range(3)]
    assert [len(p[0][0]) for p in parts] == [1, 1, 0] and [p[1] for p in parts] == [0.5, 0.5, 0]


FAILING_SCRIPT = textwrap.dedent("""
    import sys, time
    import numpy as np
    from numpy_transformer.distributed import get_world
    world = get_world()
    if world.rank == 1:
        raise RuntimeError("rank 1 breaks down")
    world.all_reduce_sum(np.ones(3))          # the others wait for rank 1 here
    time.sleep(120)
""")


def test_a_rank_that_raises_ends_every_rank_naming_itself(tmp_path):
    script = tmp_path / "failing.py"
    script.write_text(FAILING_SCRIPT)
    done = run_ranks([mpiexec(), "-n", "3", sys.executable, str(script)], timeout=60)
    assert done.returncode != 0
    assert "rank 1 breaks down" in done.stderr and "rank 1 of 3 failed" in done.stderr


def test_from_the_second_step_each_bucket_is_sent_while_backward_goes_on():
    nt.manual_seed(0)
    model = nt.models.MLP((6, 8, 3))
    criterion = nt.nn.CrossEntropyLoss()
    parallel = DataParallel(World(), {"model": model}, bucket_bytes=1)   # one bucket per tensor
    x, y = np.ones((4, 6), np.float32), np.arange(4) % 3
    sent_during_backward = []
    for _ in range(2):
        parallel.begin(1.0)
        criterion(model(x), y)
        model.backward(criterion.backward())
        sent_during_backward.append(parallel.sent)
        parallel.finish()
    assert sent_during_backward == [0, len(parallel.buckets)]


SYNC_BATCH_NORM_SCRIPT = textwrap.dedent("""
    import numpy as np
    import numpy_transformer as nt
    from numpy_transformer.distributed import DataParallel, get_world, shard_batch
    world = get_world()
    rng = np.random.default_rng(0)
    x, dy = rng.standard_normal((7, 3, 4, 4)), rng.standard_normal((7, 3, 4, 4))
    whole, part = nt.nn.BatchNorm2d(3).double(), nt.nn.BatchNorm2d(3).double()
    whole.weight.data[...] = part.weight.data[...] = [0.5, 1.5, -2.0]
    y = whole(x)
    dx = whole.backward(dy)
    parallel = DataParallel(world, {"norm": part}, bucket_bytes=8)
    (xs, dys, ys, dxs), share = shard_batch((x, dy, y, dx), world.rank, world.size)
    with parallel.averaging(share):
        y_part = part(xs)
        dx_part = part.backward(dys / share)    # L = sum of share * L_r: each rank's own scale
    dx_part *= share
    worst = max(float(np.abs(y_part - ys).max()), float(np.abs(dx_part - dxs).max()),
                float(np.abs(part.running_var - whole.running_var).max()),
                float(np.abs(part.weight.grad - whole.weight.grad).max()))
    summed = world.sum_scalars({"worst": worst, "synced": len(parallel.synced)})
    if world.is_main:
        print("worst", summed["worst"], "synced", summed["synced"])
""")


def test_batch_norm_over_ranks_normalises_and_backpropagates_as_over_the_whole_batch(tmp_path):
    said = rank0_says(tmp_path, SYNC_BATCH_NORM_SCRIPT)
    assert said["synced"] == 3 and said["worst"] < 1e-12


def test_the_docs_python_example_trains_on_two_ranks(tmp_path):
    page = (REPO / "docs" / "distributed.md").read_text()
    script = tmp_path / "train_parallel.py"
    script.write_text(page.split("## From Python")[1].split("```python\n")[1].split("```")[0])
    done = run_ranks([mpiexec(), "-n", "2", sys.executable, str(script)], timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    accuracy = float(done.stdout.split("2 ranks: accuracy")[1].split()[0])
    assert accuracy > 0.9
