"""The fast kernels' thread pool: work split over threads gives exactly the single-thread result."""
import threading

import numpy as np
import pytest

from numpy_transformer.kernels.cpu import threads as cpu_threads


@pytest.fixture
def two_threads(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "2")


def test_num_threads_follows_omp_num_threads(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert cpu_threads.num_threads() == 3
    monkeypatch.setenv("OMP_NUM_THREADS", "")
    assert cpu_threads.num_threads() >= 1


def test_row_chunks_cover_the_rows_once_in_order_and_respect_alignment(two_threads):
    assert cpu_threads.row_chunks(10, 10, min_elements=0) == [(0, 5), (5, 10)]
    assert cpu_threads.row_chunks(10, 10, min_elements=0, align=4) == [(0, 4), (4, 10)]
    assert cpu_threads.row_chunks(1, 10, min_elements=0) == [(0, 1)]


def test_small_work_stays_on_the_calling_thread(two_threads):
    assert cpu_threads.row_chunks(1000, 1000) == [(0, 1000)]
    seen = []
    cpu_threads.parallel_rows(lambda a: seen.append(threading.current_thread()), np.zeros((4, 4)))
    assert seen == [threading.current_thread()]


def test_parallel_rows_runs_row_ranges_on_two_threads_with_the_whole_result(two_threads):
    x = np.random.default_rng(0).standard_normal((101, 33)).astype(np.float32)
    expected = np.exp(x - x.max(axis=1, keepdims=True))
    got, threads = np.empty_like(x), set()

    def rows(x_part, out_part):
        threads.add(threading.current_thread().name)
        np.exp(x_part - x_part.max(axis=1, keepdims=True), out=out_part)
    cpu_threads.parallel_rows(rows, x, got, min_elements=0)
    np.testing.assert_array_equal(got, expected)
    assert len(threads) == 2


def test_parallel_slices_passes_broadcast_operands_whole(two_threads, monkeypatch):
    monkeypatch.setattr(cpu_threads, "MIN_PARALLEL_ELEMENTS", 0)
    x = np.arange(24.0).reshape(6, 4)
    bias, column = np.arange(4.0), np.arange(6.0)[:, None]
    shapes = []

    def add(out, x, bias, column):
        shapes.append((out.shape, bias.shape, column.shape))
        np.add(x + bias, column, out=out)
    out = np.empty_like(x)
    cpu_threads.parallel_slices(add, out, x, bias, column)
    np.testing.assert_array_equal(out, x + bias + column)
    assert sorted(shapes) == [((3, 4), (4,), (3, 1))] * 2
    np.testing.assert_array_equal(cpu_threads.parallel_ufunc(np.maximum, x - 10, 0), np.maximum(x - 10, 0))


def test_parallel_blocks_visit_every_block_once_with_the_same_blocks_on_any_thread_count(
        monkeypatch):
    monkeypatch.setattr(cpu_threads, "MIN_PARALLEL_ELEMENTS", 0)
    seen = {}
    for threads in ("1", "2", "3"):
        monkeypatch.setenv("OMP_NUM_THREADS", threads)
        blocks = []
        cpu_threads.parallel_blocks(lambda a, b: blocks.append((a, b)), 10, 3, block_size=9)
        seen[threads] = sorted(blocks)
    assert seen["1"] == seen["2"] == seen["3"] == [(0, 3), (3, 6), (6, 9), (9, 10)]


def test_indexed_blocks_number_the_blocks_and_run_a_single_block_directly(monkeypatch):
    monkeypatch.setattr(cpu_threads, "MIN_PARALLEL_ELEMENTS", 0)
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    seen = []
    cpu_threads.indexed_blocks(lambda k, a, b: seen.append((k, a, b)), 10, 3, rows_per_block=4)
    assert sorted(seen) == [(0, 0, 4), (1, 4, 8), (2, 8, 10)]
    ran_on = []
    cpu_threads.indexed_blocks(lambda k, a, b: ran_on.append((k, a, b, threading.current_thread())),
                             3, 3, rows_per_block=4)
    assert ran_on == [(0, 0, 3, threading.current_thread())]


def test_work_submitted_from_a_worker_runs_inline_instead_of_deadlocking(two_threads):
    inner_threads = []

    def job(_):
        cpu_threads.parallel_rows(lambda a: inner_threads.append(threading.current_thread()),
                                np.zeros((8, 8)), min_elements=0)
    cpu_threads.parallel_for(job, [0, 1, 2], sizes=[1, 1, 1], min_elements=0, min_job_elements=0)
    assert len(inner_threads) == 3     # one call each: never split again inside a worker


def test_work_submitted_while_the_calling_thread_runs_its_chunk_runs_inline_too(two_threads):
    inner_threads = []

    def chunk(start, stop):
        cpu_threads.parallel_rows(lambda a: inner_threads.append(threading.current_thread()),
                                np.zeros((8, 8)), min_elements=0)
    cpu_threads.run_chunks(chunk, [(0, 1), (1, 2)])
    assert len(inner_threads) == 2     # not split again: two threads busy are enough
    assert not cpu_threads.in_worker()   # and the caller is itself again afterwards


def test_parallel_for_keeps_small_jobs_on_the_calling_thread_and_sends_big_ones_to_the_pool(
        two_threads):
    ran_on = {}
    cpu_threads.parallel_for(lambda job: ran_on.setdefault(job, threading.current_thread()),
                           ["small", "big", "tiny"], sizes=[10, 1000, 1], min_elements=0,
                           min_job_elements=100)
    assert ran_on["small"] is ran_on["tiny"] is threading.current_thread()
    assert ran_on["big"] is not threading.current_thread()


def test_an_error_in_a_worker_reaches_the_caller(two_threads):
    def fail(a):
        if a[0, 0] > 0:
            raise ValueError("boom")
    with pytest.raises(ValueError, match="boom"):
        cpu_threads.parallel_rows(fail, np.arange(8.0).reshape(4, 2), min_elements=0)


# ---- layers split over threads give the single-thread results bit for bit ----
def _layer_norm_step(rng):
    from numpy_transformer.kernels import ops as F
    x = rng.standard_normal((6, 50, 40)).astype(np.float32)
    weight, bias = rng.standard_normal((2, 40)).astype(np.float32)
    y, cache = F.layer_norm_forward(x, weight, bias)
    return (y,) + F.layer_norm_backward(rng.standard_normal(x.shape).astype(np.float32), cache)


def _gelu_step(approximate):
    def step(rng):
        from numpy_transformer.kernels import ops as F
        x = rng.standard_normal((7, 300)).astype(np.float32)
        y, cache = F.gelu_forward(x, approximate)
        return y, F.gelu_backward(rng.standard_normal(x.shape).astype(np.float32), cache)
    return step


def _conv_step(x_shape, out_channels, **options):
    def step(rng):
        from numpy_transformer.kernels import ops as F
        x = rng.standard_normal(x_shape).astype(np.float32)
        w = rng.standard_normal((out_channels, x_shape[1], 3, 3)).astype(np.float32)
        y, cache = F.conv2d_forward(x, w, np.ones(out_channels, np.float32), **options)
        grads = F.conv2d_backward(rng.standard_normal(y.shape).astype(np.float32), cache)
        z, cache = F.conv_transpose2d_forward(y, w, None, **options)
        return (y, z) + grads + F.conv_transpose2d_backward(np.ones_like(z), cache)
    return step


def _recurrent_step(kind, gates):
    """A layer over 20 time steps (three chunks: projection and weight gradients on a thread)."""
    def step(rng):
        from numpy_transformer.kernels import ops as F
        x = rng.standard_normal((20, 3, 5)).astype(np.float32)                # [L, N, I]
        states = [np.zeros((3, 4), np.float32)] * (2 if kind == "lstm" else 1)
        weights = [rng.standard_normal(shape).astype(np.float32)
                   for shape in ((gates * 4, 5), (gates * 4, 4), (gates * 4,), (gates * 4,))]
        (out, _), cache = getattr(F, kind + "_forward")(x, *states, *weights)
        return (out,) + tuple(getattr(F, kind + "_backward")(np.ones_like(out), cache))
    return step


def _relu_max_pool_step(rng):
    from numpy_transformer.kernels import ops as F
    x = np.maximum(rng.standard_normal((6, 3, 9, 9)).astype(np.float32), 0)   # ties at 0
    y, cache = F.relu_forward(x)
    dx = F.relu_backward(rng.standard_normal(x.shape).astype(np.float32), cache)
    results = [y, dx]
    for options in (dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1)):
        z, cache = F.max_pool2d_forward(x, **options)
        results += [z, F.max_pool2d_backward(rng.standard_normal(z.shape).astype(np.float32), cache)]
    return results


def _batch_norm_step(rng):
    from numpy_transformer.kernels import ops as F
    x = rng.standard_normal((6, 5, 7, 3)).astype(np.float32)
    weight, bias = rng.standard_normal((2, 5)).astype(np.float32)
    running = [np.zeros(5, np.float32), np.ones(5, np.float32)]
    y, cache = F.batch_norm_forward(x, weight, bias, *running, training=True)
    results = [y, *running, *F.batch_norm_backward(np.ones_like(x), cache)]
    y, cache = F.batch_norm_forward(x, weight, bias, *running, training=False)
    return results + [y, *F.batch_norm_backward(np.ones_like(x), cache)]


def _softmax_step(rng):
    from numpy_transformer.kernels import ops as F
    x = rng.standard_normal((6, 7, 9)).astype(np.float32)
    results = []
    for forward, backward in ((F.softmax_forward, F.softmax_backward),
                              (F.log_softmax_forward, F.log_softmax_backward)):
        for axis in (-1, 0):
            y, cache = forward(x, axis)
            results += [y, backward(rng.standard_normal(x.shape).astype(np.float32), cache)]
    return results


def _cross_entropy_step(rng):
    from numpy_transformer.kernels import ops as F
    x = rng.standard_normal((40, 9, 2)).astype(np.float32)
    target = rng.integers(0, 9, (40, 2))
    loss, cache = F.cross_entropy_forward(x, target)
    return loss, F.cross_entropy_backward(np.float32(1.0), cache)


STEPS = {"layer_norm": _layer_norm_step, "cross_entropy": _cross_entropy_step, "softmax": _softmax_step, "batch_norm": _batch_norm_step, "relu and max_pool2d": _relu_max_pool_step, "gelu": _gelu_step("none"),
         "gelu_tanh": _gelu_step("tanh"),
         "conv2d rows": _conv_step((5, 3, 20, 20), 4, padding=1),        # [C, N, H, W] inside
         "conv2d short rows": _conv_step((5, 3, 7, 7), 4, stride=2),     # [C, H, W, N] inside
         "rnn": _recurrent_step("rnn", 1), "lstm": _recurrent_step("lstm", 4),
         "gru": _recurrent_step("gru", 3),
         }


@pytest.mark.parametrize("name", STEPS)
def test_layers_give_the_same_bits_on_one_and_on_two_threads(name, monkeypatch):
    from numpy_transformer.kernels.cpu import conv, erf, normalization
    monkeypatch.setattr(normalization, "BLOCK_ELEMENTS", 256)       # many blocks
    monkeypatch.setattr(erf, "BLOCK_BYTES", 1024)
    monkeypatch.setattr(conv, "FORWARD_BLOCK_ELEMENTS", 1)          # one image a block
    monkeypatch.setattr(conv, "BACKWARD_BLOCK_ELEMENTS", 1)
    results = {}
    for threads in ("1", "2"):
        monkeypatch.setenv("OMP_NUM_THREADS", threads)
        monkeypatch.setattr(cpu_threads, "MIN_PARALLEL_ELEMENTS", 0)
        results[threads] = STEPS[name](np.random.default_rng(0))
    for one, two in zip(results["1"], results["2"]):
        np.testing.assert_array_equal(one, two)
