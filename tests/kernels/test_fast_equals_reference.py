"""Every fast kernel equals the reference: the same outputs and gradients over hypothesis-drawn
shapes, options and dtypes. Bit for bit where both do the same operations in the same order;
within float tolerances (a few ulps times the length of a sum) where they do not.

Each case draws the inputs of one forward/backward pair, runs the pair of each set on copies of
them (backward with the same random output gradient) and compares everything that comes out.
Drawn with `split`, the fast kernels also cut even small work into thread pieces and cache
blocks, so that every split path is compared too.
"""
import contextlib
import os
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, strategies as st

from numpy_transformer.kernels import SETS
from numpy_transformer.kernels import compiled, cpu
from numpy_transformer.kernels.cpu import attention, conv, erf, normalization, threads, time_chunks
from numpy_transformer.nn.functional.windows import pair, resolve_padding

REFERENCE, FAST = SETS["reference"](), SETS["fast"]()
NUMPY_ONLY = {**REFERENCE, **cpu.kernels()}          # the fast set without the [fast] extra
FAST_SETS = [FAST] + ([NUMPY_ONLY] if NUMPY_ONLY != FAST else [])
# Where the order of operations differs; in float64 the proof, in float32 a smoke test.
TOLERANCES = {np.dtype(np.float64): dict(rtol=1e-9, atol=1e-11),
              np.dtype(np.float32): dict(rtol=1e-4, atol=1e-5)}
dtypes = st.sampled_from([np.float32, np.float64])
seeds = st.integers(0, 2**16)


# ---- running both sets ----
@contextlib.contextmanager
def split(enabled: bool):
    """With enabled, the fast kernels use two threads and cut every piece of work small."""
    if not enabled:
        yield
        return
    with mock.patch.dict(os.environ, {"OMP_NUM_THREADS": "2"}), \
            mock.patch.object(threads, "MIN_PARALLEL_ELEMENTS", 0), \
            mock.patch.object(attention, "MIN_PARALLEL_SCORES", 0), \
            mock.patch.object(normalization, "BLOCK_ELEMENTS", 16), \
            mock.patch.object(erf, "BLOCK_BYTES", 64), \
            mock.patch.object(conv, "FORWARD_BLOCK_ELEMENTS", 1), \
            mock.patch.object(conv, "BACKWARD_BLOCK_ELEMENTS", 1), \
            compiled_blocks_of(16):
        yield


def compiled_blocks_of(elements: int):
    """The compiled kernels' blocks cut to `elements` (nothing without Numba)."""
    if not compiled.available():
        return contextlib.nullcontext()
    from numpy_transformer.kernels.compiled import activation, batch_norm, layer_norm, loss
    stack = contextlib.ExitStack()
    for module in (activation, batch_norm, layer_norm, loss):
        stack.enter_context(mock.patch.object(module, "BLOCK_ELEMENTS", elements))
    return stack


def copies(value):
    """Arrays copied (also inside tuples and lists), so that neither set sees the other's writes."""
    if isinstance(value, (tuple, list)):
        return type(value)(copies(v) for v in value)
    if isinstance(value, dict):
        return {k: copies(v) for k, v in value.items()}
    return value.copy() if isinstance(value, np.ndarray) else value


def arrays_in(value):
    """The arrays of a nested value, flattened."""
    if isinstance(value, (tuple, list)):
        return [a for v in value for a in arrays_in(v)]
    return [np.asarray(value)] if isinstance(value, (np.ndarray, np.generic)) else []


def output_gradient(out, rng):
    """A random gradient shaped like a nested output (None for integer outputs)."""
    if isinstance(out, (tuple, list)):
        return tuple(output_gradient(o, rng) for o in out)
    if isinstance(out, np.ndarray) and np.issubdtype(out.dtype, np.floating):
        return np.asarray(rng.standard_normal(out.shape), dtype=out.dtype)
    return None


def run(table, name, args, kwargs, seed, make_generator=None):
    """(forward output, backward gradients, the arguments after the call) of `name` in `table`."""
    args, kwargs = copies(args), copies(kwargs)
    if make_generator:
        kwargs["generator"] = make_generator()
    out, cache = table[name + "_forward"](*args, **kwargs)
    out = copies(out)                               # a backward may write over its cache
    grads = table[name + "_backward"](output_gradient(out, np.random.default_rng(seed)), cache)
    return out, grads, args


def assert_same(fast, reference, exact, what):
    fast, reference = arrays_in(fast), arrays_in(reference)
    assert len(fast) == len(reference), what
    for k, (a, b) in enumerate(zip(fast, reference)):
        assert (a.dtype, a.shape) == (b.dtype, b.shape), f"{what} #{k}: {a.dtype}{a.shape}, {b.dtype}{b.shape}"
        if exact or not np.issubdtype(a.dtype, np.floating):
            np.testing.assert_array_equal(a, b, err_msg=f"{what} #{k}")
        else:
            np.testing.assert_allclose(a, b, err_msg=f"{what} #{k}", **TOLERANCES[a.dtype])


def check(name, args, kwargs=None, *, exact, split_work=False, seed=0, make_generator=None,
          fast_context=contextlib.nullcontext):
    """The pair `name` of the fast set (with and without the compiled kernels) against the
    reference's: outputs, gradients and any array the forward updates in place (running
    statistics)."""
    kwargs = kwargs or {}
    reference = run(REFERENCE, name, args, kwargs, seed, make_generator)
    for table in FAST_SETS:
        if table is not FAST and table[name + "_forward"] is FAST[name + "_forward"]:
            continue                                   # no compiled kernel: compared already
        with split(split_work), fast_context():
            fast = run(table, name, args, kwargs, seed, make_generator)
        for part, what in zip(range(3), ("output", "gradient", "argument after the call")):
            assert_same(fast[part], reference[part], exact, f"{name} {what}")


def normal(rng, shape, dtype, scale=1.0):
    return np.asarray(rng.standard_normal(shape) * scale, dtype=dtype)


# ---- the cases ----
COVERED = set()


def covers(*names):
    """Mark a test as the proof of these kernels (each name: a forward/backward pair or a function)."""
    COVERED.update(names)
    return lambda test: test


@covers("linear")
@given(lead=st.lists(st.integers(1, 4), max_size=2), n_in=st.integers(1, 6),
       n_out=st.integers(1, 6), bias=st.booleans(), dtype=dtypes, seed=seeds)
def test_linear(lead, n_in, n_out, bias, dtype, seed):
    rng = np.random.default_rng(seed)
    args = (normal(rng, (*lead, n_in), dtype), normal(rng, (n_out, n_in), dtype),
            normal(rng, n_out, dtype) if bias else None)
    check("linear", args, exact=True, seed=seed)


@covers("relu", "leaky_relu", "sigmoid", "softmax", "log_softmax")
@given(shape=st.lists(st.integers(1, 5), min_size=1, max_size=3), which=st.sampled_from(
    ["relu", "leaky_relu", "sigmoid", "softmax", "log_softmax"]), ties=st.booleans(),
    split_work=st.booleans(), dtype=dtypes, seed=seeds, data=st.data())
def test_activations(shape, which, ties, split_work, dtype, seed, data):
    rng = np.random.default_rng(seed)
    x = normal(rng, shape, dtype, scale=30)                        # sigmoid's both branches
    if ties:
        x = np.round(x / 20).astype(dtype)                          # zeros and repeated values
    kwargs = {}
    if which == "leaky_relu":
        kwargs["negative_slope"] = data.draw(st.sampled_from([0.01, 0.2, -0.5]))
    if which in ("softmax", "log_softmax"):
        kwargs["axis"] = data.draw(st.integers(-len(shape), len(shape) - 1))
    check(which, (x,), kwargs, exact=True, split_work=split_work, seed=seed)


@covers("gelu")
@given(shape=st.lists(st.integers(1, 40), min_size=1, max_size=3),
       approximate=st.sampled_from(["none", "tanh"]), split_work=st.booleans(), dtype=dtypes,
       seed=seeds)
def test_gelu(shape, approximate, split_work, dtype, seed):
    x = normal(np.random.default_rng(seed), shape, dtype, scale=4)
    check("gelu", (x,), {"approximate": approximate}, exact=False, split_work=split_work, seed=seed)


@covers("erf")
@given(shape=st.lists(st.integers(1, 30), max_size=2), split_work=st.booleans(), dtype=dtypes,
       seed=seeds)
def test_erf(shape, split_work, dtype, seed):
    x = normal(np.random.default_rng(seed), shape, dtype, scale=3)
    with split(split_work):
        fast = FAST["erf"](x)
    assert_same(fast, REFERENCE["erf"](x), exact=False, what="erf")


@covers("layer_norm")
@given(lead=st.lists(st.integers(1, 6), max_size=2), norm=st.lists(st.integers(1, 7), min_size=1,
       max_size=2), affine=st.booleans(), bias=st.booleans(), eps=st.sampled_from([1e-5, 0.1]),
       split_work=st.booleans(), dtype=dtypes, seed=seeds)
def test_layer_norm(lead, norm, affine, bias, eps, split_work, dtype, seed):
    rng = np.random.default_rng(seed)
    x = normal(rng, (*lead, *norm), dtype, scale=3) + 2
    args = (x, normal(rng, norm, dtype) if affine else None,
            normal(rng, norm, dtype) if affine and bias else None)
    check("layer_norm", args, {"n_dims": len(norm), "eps": eps}, exact=False,
          split_work=split_work, seed=seed)


@covers("batch_norm")
@given(n=st.integers(2, 4), c=st.integers(1, 5), positions=st.lists(st.integers(1, 4), max_size=2),
       affine=st.booleans(), running=st.booleans(), training=st.booleans(),
       split_work=st.booleans(), dtype=dtypes, seed=seeds)
def test_batch_norm(n, c, positions, affine, running, training, split_work, dtype, seed):
    rng = np.random.default_rng(seed)
    stats = (normal(rng, c, dtype), np.abs(normal(rng, c, dtype)) + 0.5)
    if not running and not training:
        running = True                                       # evaluation needs the statistics
    args = (normal(rng, (n, c, *positions), dtype, scale=2) + 1,
            normal(rng, c, dtype) if affine else None, normal(rng, c, dtype) if affine else None,
            *(stats if running else (None, None)))
    check("batch_norm", args, {"training": training, "momentum": 0.3}, exact=False,
          split_work=split_work, seed=seed, fast_context=few_positions_compiled)


def few_positions_compiled():
    """The compiled BatchNorm takes even the drawn few positions per channel."""
    if not compiled.available():
        return contextlib.nullcontext()
    from numpy_transformer.kernels.compiled import batch_norm
    return mock.patch.object(batch_norm, "MIN_POSITIONS", 1)


@st.composite
def attention_inputs(draw, dtype):
    """(args, kwargs) of scaled dot-product attention: broadcast leading dims, every mask kind."""
    rng = np.random.default_rng(draw(seeds))
    lead = draw(st.lists(st.integers(1, 3), max_size=2))
    L, S, E, Ev = (draw(st.integers(1, 6)) for _ in range(4))
    q_lead = lead if draw(st.booleans()) else [1] * len(lead)      # query broadcast over a dim
    args = (normal(rng, (*q_lead, L, E), dtype), normal(rng, (*lead, S, E), dtype),
            normal(rng, (*lead, S, Ev), dtype))
    kind = draw(st.sampled_from(["none", "bool", "float", "causal"]))
    kwargs = {"is_causal": kind == "causal", "scale": draw(st.sampled_from([None, 0.3])),
              "dropout_p": draw(st.sampled_from([0.0, 0.0, 0.4]))}
    if kind == "bool":
        kwargs["attn_mask"] = rng.random((L, S)) < 0.7                 # some rows all False
    elif kind == "float":
        kwargs["attn_mask"] = normal(rng, (*lead[-1:], L, S), dtype)
    return args, kwargs


@covers("scaled_dot_product_attention")
@given(data=st.data(), split_work=st.booleans(), dtype=dtypes, seed=seeds)
def test_scaled_dot_product_attention(data, split_work, dtype, seed):
    args, kwargs = data.draw(attention_inputs(dtype))
    check("scaled_dot_product_attention", args, kwargs, exact=False, split_work=split_work,
          seed=seed, make_generator=lambda: np.random.default_rng(seed))


def forced_layout(layout):
    """The fast convolution in one internal layout ('auto': the one it chooses)."""
    if layout == "auto":
        return contextlib.nullcontext
    return lambda: mock.patch.object(conv, "_layout", lambda *args: layout)


@st.composite
def conv_inputs(draw, dtype):
    """(args, kwargs) of conv2d: groups, padding of every form, strides, dilations."""
    rng = np.random.default_rng(draw(seeds))
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    kernel = draw(st.tuples(st.integers(1, 4), st.integers(1, 4)))
    padding = draw(st.one_of(st.integers(0, 2), st.tuples(st.integers(0, 2), st.integers(0, 2)),
                             st.sampled_from(["same", "valid"])))
    stride = 1 if padding == "same" else draw(st.tuples(st.integers(1, 3), st.integers(1, 3)))
    dilation = draw(st.tuples(st.integers(1, 2), st.integers(1, 2)))
    pads = resolve_padding(padding, kernel, pair(dilation))
    hw = [max(1, dilation[a] * (kernel[a] - 1) + 1 - sum(pads[a]) + draw(st.integers(0, 5)))
          for a in (0, 1)]
    c, o = groups * draw(st.integers(1, 3)), groups * draw(st.integers(1, 3))
    args = (normal(rng, (draw(st.integers(1, 4)), c, *hw), dtype),
            normal(rng, (o, c // groups, *kernel), dtype),
            normal(rng, o, dtype) if draw(st.booleans()) else None)
    return args, dict(stride=stride, padding=padding, dilation=dilation, groups=groups)


@covers("conv2d")
@given(data=st.data(), layout=st.sampled_from(["auto", "NHW", "HWN"]), split_work=st.booleans(),
       dtype=dtypes, seed=seeds)
def test_conv2d(data, layout, split_work, dtype, seed):
    args, kwargs = data.draw(conv_inputs(dtype))
    check("conv2d", args, kwargs, exact=False, split_work=split_work, seed=seed,
          fast_context=forced_layout(layout))


@covers("conv_patches")
@given(n=st.integers(1, 3), c=st.integers(1, 3), s=st.integers(1, 5), kernel=st.sampled_from([1, 3, 5]),
       patch=st.integers(1, 4), tiles=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       activation=st.sampled_from(["gelu", "relu"]), bias=st.booleans(), split_work=st.booleans(),
       dtype=dtypes, seed=seeds)
def test_conv_patches(n, c, s, kernel, patch, tiles, activation, bias, split_work, dtype, seed):
    rng = np.random.default_rng(seed)
    x = normal(rng, (n, c, tiles[0] * patch, tiles[1] * patch), dtype)
    args = (x, normal(rng, (s, c, kernel, kernel), dtype), normal(rng, s, dtype) if bias else None,
            patch)
    check("conv_patches", args, dict(activation=activation), exact=False, split_work=split_work,
          seed=seed)


@pytest.mark.parametrize("table", [REFERENCE] + FAST_SETS,
                         ids=["reference", "fast", "numpy-only"][:1 + len(FAST_SETS)])
def test_conv_patches_names_an_unknown_activation(table):
    with pytest.raises(ValueError, match=r"activation must be one of \['gelu', 'relu'\], got 'tanh'"):
        table["conv_patches_forward"](np.zeros((1, 1, 4, 4), np.float32),
                                      np.zeros((2, 1, 3, 3), np.float32), None, 2, "tanh")


@given(activation=st.sampled_from(["gelu", "relu"]), split_work=st.booleans(), seed=seeds)
def test_conv_patches_without_the_input_gradient_gives_the_same_weight_gradients(
        activation, split_work, seed):
    rng = np.random.default_rng(seed)
    x, weight, bias = normal(rng, (3, 1, 8, 8), np.float32), normal(rng, (4, 1, 3, 3), np.float32), \
        normal(rng, 4, np.float32)
    d_rows = normal(rng, (12, 4 * 4 * 4), np.float32)
    whole = REFERENCE["conv_patches_backward"](
        d_rows, REFERENCE["conv_patches_forward"](x, weight, bias, 4, activation)[1])
    for table in [REFERENCE] + FAST_SETS:
        with split(split_work):
            cache = table["conv_patches_forward"](x, weight, bias, 4, activation)[1]
            d_x, d_weight, d_bias = table["conv_patches_backward"](d_rows, cache, input_grad=False)
        assert d_x is None
        assert_same((d_weight, d_bias), whole[1:], table is REFERENCE, "conv_patches without d_x")


@pytest.mark.parametrize("table", [REFERENCE] + FAST_SETS,
                         ids=["reference", "fast", "numpy-only"][:1 + len(FAST_SETS)])
def test_conv_patches_names_a_bad_kernel_or_patch_size(table):
    x = np.zeros((1, 1, 8, 8), np.float32)
    with pytest.raises(ValueError, match=r"divisible by patch_size=3 .* got \[1, 1, 8, 8\] and \[2, 1, 3, 3\]"):
        table["conv_patches_forward"](x, np.zeros((2, 1, 3, 3), np.float32), None, 3)
    with pytest.raises(ValueError, match=r"k odd, got \[1, 1, 8, 8\] and \[2, 1, 2, 2\]"):
        table["conv_patches_forward"](x, np.zeros((2, 1, 2, 2), np.float32), None, 4)


@covers("conv_transpose2d")
@given(groups=st.sampled_from([1, 2]), kernel=st.tuples(st.integers(1, 4), st.integers(1, 4)),
       stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
       dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)), data=st.data(),
       layout=st.sampled_from(["auto", "NHW", "HWN"]), dtype=dtypes, seed=seeds)
def test_conv_transpose2d(groups, kernel, stride, dilation, data, layout, dtype, seed):
    rng = np.random.default_rng(seed)
    output_padding = tuple(data.draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
    padding = tuple(data.draw(st.integers(0, (d * (k - 1)) // 2)) for k, d in zip(kernel, dilation))
    hw = [data.draw(st.integers(1, 4)) for _ in range(2)]
    c, o = groups * data.draw(st.integers(1, 3)), groups * data.draw(st.integers(1, 3))
    args = (normal(rng, (data.draw(st.integers(1, 3)), c, *hw), dtype),
            normal(rng, (c, o // groups, *kernel), dtype),
            normal(rng, o, dtype) if data.draw(st.booleans()) else None)
    kwargs = dict(stride=stride, padding=padding, output_padding=output_padding, groups=groups,
                  dilation=dilation)
    check("conv_transpose2d", args, kwargs, exact=False, seed=seed,
          fast_context=forced_layout(layout))


@st.composite
def pool_options(draw, max_pool):
    """Pooling options PyTorch accepts: padding at most half the kernel, ceil_mode, dilation."""
    kernel = draw(st.tuples(st.integers(1, 3), st.integers(1, 3)))
    options = dict(kernel_size=kernel, stride=draw(st.sampled_from([None, 1, 2, (1, 2)])),
                   padding=tuple(draw(st.integers(0, k // 2)) for k in kernel),
                   ceil_mode=draw(st.booleans()))
    if max_pool:
        options.update(dilation=draw(st.sampled_from([1, 2])), return_indices=draw(st.booleans()))
    else:
        options.update(count_include_pad=draw(st.booleans()),
                       divisor_override=draw(st.sampled_from([None, 3])))
    return options


@covers("max_pool2d", "avg_pool2d")
@given(max_pool=st.booleans(), data=st.data(), n=st.integers(1, 3), c=st.integers(1, 3),
       hw=st.tuples(st.integers(5, 8), st.integers(5, 8)), ties=st.booleans(),
       split_work=st.booleans(), dtype=dtypes, seed=seeds)
def test_pooling(max_pool, data, n, c, hw, ties, split_work, dtype, seed):
    x = normal(np.random.default_rng(seed), (n, c, *hw), dtype, scale=3)
    if ties:
        x = np.round(x).astype(dtype)                                # equal maxima in a window
    name = "max_pool2d" if max_pool else "avg_pool2d"
    check(name, (x,), data.draw(pool_options(max_pool)), exact=max_pool, split_work=split_work,
          seed=seed)


@covers("cross_entropy")
@given(n=st.integers(1, 6), classes=st.integers(1, 7), extra=st.lists(st.integers(1, 3), max_size=1),
       unbatched=st.booleans(), probabilities=st.booleans(), weighted=st.booleans(),
       ignore=st.booleans(), smoothing=st.sampled_from([0.0, 0.2]),
       reduction=st.sampled_from(["mean", "sum", "none"]), split_work=st.booleans(), dtype=dtypes,
       seed=seeds)
def test_cross_entropy(n, classes, extra, unbatched, probabilities, weighted, ignore, smoothing,
                       reduction, split_work, dtype, seed):
    rng = np.random.default_rng(seed)
    shape = (classes,) if unbatched else (n, classes, *extra)
    x = normal(rng, shape, dtype, scale=3)
    if probabilities:
        target = rng.random(shape).astype(dtype)
        target /= target.sum(axis=0 if unbatched else 1, keepdims=True)
    else:
        target = rng.integers(0, classes, () if unbatched else (n, *extra))
        if ignore and not unbatched:
            target.reshape(-1)[0] = 1 % classes                      # the ignored class appears
    kwargs = dict(weight=np.abs(normal(rng, classes, dtype)) + 0.1 if weighted else None,
                  ignore_index=1 % classes if ignore and not probabilities else -100,
                  reduction=reduction, label_smoothing=smoothing)
    check("cross_entropy", (x, target), kwargs, exact=False, split_work=split_work, seed=seed)


@pytest.mark.parametrize("table", FAST_SETS)
def test_a_target_beyond_the_classes_is_an_index_error_not_a_read_out_of_bounds(table):
    """The fast kernels pick each row's target logit (the modules check targets beforehand)."""
    with pytest.raises(IndexError):
        table["cross_entropy_forward"](np.zeros((4, 3), np.float32), np.array([0, 1, 3, 2]))


@covers("embedding")
@given(vocab=st.integers(1, 50), ids_shape=st.lists(st.integers(1, 60), min_size=1, max_size=2),
       dim=st.integers(1, 5), frequent=st.booleans(), padding=st.booleans(),
       by_frequency=st.booleans(), dtype=dtypes, seed=seeds)
def test_embedding(vocab, ids_shape, dim, frequent, padding, by_frequency, dtype, seed):
    rng = np.random.default_rng(seed)
    high = 2 if frequent else vocab                                   # a few ids many times
    ids = rng.integers(0, min(high, vocab), ids_shape)
    args = (ids, normal(rng, (vocab, dim), dtype))
    kwargs = dict(padding_idx=0 if padding else None, scale_grad_by_freq=by_frequency)
    check("embedding", args, kwargs, exact=False, seed=seed)


@st.composite
def recurrent_inputs(draw, kind, dtype, cell):
    """(args, kwargs) of one layer of `kind` ('rnn', 'lstm', 'gru') or of its cell."""
    rng = np.random.default_rng(draw(seeds))
    L, N, I, H = (draw(st.integers(1, 4)) for _ in range(4))
    gates = {"rnn": 1, "lstm": 4, "gru": 3}[kind]
    x = normal(rng, (N, I) if cell else (L, N, I), dtype)
    states = [normal(rng, (N, H), dtype) for _ in range(2 if kind == "lstm" else 1)]
    weights = [normal(rng, (gates * H, I), dtype), normal(rng, (gates * H, H), dtype)]
    if draw(st.booleans()):
        weights += [normal(rng, gates * H, dtype), normal(rng, gates * H, dtype)]
    kwargs = {} if cell else {"reverse": draw(st.booleans())}
    if kind == "rnn":
        kwargs["nonlinearity"] = draw(st.sampled_from(["tanh", "relu"]))
    return (x, *states, *weights), kwargs


@covers("rnn", "lstm", "gru", "rnn_cell", "lstm_cell", "gru_cell")
@given(kind=st.sampled_from(["rnn", "lstm", "gru"]), cell=st.booleans(), data=st.data(),
       chunk=st.integers(1, 3), split_work=st.booleans(), dtype=dtypes, seed=seeds)
def test_recurrent(kind, cell, data, chunk, split_work, dtype, seed):
    """The projection and the weight gradients in chunks of `chunk` time steps, on a second
    thread with split_work."""
    args, kwargs = data.draw(recurrent_inputs(kind, dtype, cell))
    with mock.patch.object(time_chunks, "CHUNK_STEPS", chunk):
        check(kind + ("_cell" if cell else ""), args, kwargs, exact=False, split_work=split_work,
              seed=seed)


@covers("adam_update")
@given(shape=st.lists(st.integers(1, 9), min_size=1, max_size=3), step=st.integers(1, 1000),
       decay=st.sampled_from([1.0, 1 - 1e-3 * 0.1]), amsgrad=st.booleans(),
       transposed=st.booleans(), dtype=dtypes, seed=seeds)
def test_adam_update(shape, step, decay, amsgrad, transposed, dtype, seed):
    """The same float operations in the same order: every array bit for bit (a transposed view
    takes the NumPy kernel's path)."""
    rng = np.random.default_rng(seed)
    param, grad, exp_avg = (normal(rng, shape, dtype) for _ in range(3))
    exp_avg_sq, max_exp_avg_sq = (np.abs(normal(rng, shape, dtype, 0.01)) for _ in range(2))
    if transposed:
        param = param.T
    arrays = (param, grad.reshape(param.shape), exp_avg.reshape(param.shape),
              exp_avg_sq.reshape(param.shape), max_exp_avg_sq.reshape(param.shape))
    options = dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, step=step, decay=decay)

    def updated(table):
        p, g, m, v, v_max = copies(arrays)
        table["adam_update"](p, g, m, v, max_exp_avg_sq=v_max if amsgrad else None, **options)
        return p, m, v, v_max
    for table in [NUMPY_ONLY] + FAST_SETS:
        assert_same(updated(table), updated(REFERENCE), True, "adam_update")


def test_every_fast_kernel_has_its_proof_here():
    helpers = {"accumulate_grad", "deferred_weight_grads", "foreach"}    # tests/kernels/test_deferred.py
    replaced = {name for table in FAST_SETS for name, fn in table.items()
                if REFERENCE.get(name) is not fn} - helpers
    pairs = {name.rsplit("_", 1)[0] if name.endswith(("_forward", "_backward")) else name
             for name in replaced}
    assert pairs <= COVERED, f"fast kernels without a proof against the reference: {pairs - COVERED}"
