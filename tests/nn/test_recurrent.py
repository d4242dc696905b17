"""RNN, LSTM, GRU and their cells against torch.nn, by finite differences, and their errors."""
import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

import numpy_transformer as nt
from numpy_transformer.nn import functional as F
from numpy_transformer.testing import (check_functional_gradients, check_module_gradients,
                                       compare_with_torch)

dtypes = st.sampled_from([np.float64, np.float32])
LAYERS = ["RNN", "LSTM", "GRU"]
CELLS = ["RNNCell", "LSTMCell", "GRUCell"]


def _backward_with_states(layer, name):
    """compare_with_torch's backward: grads = [output, h_n(, c_n)] (the first n_grads of them)."""
    def backward(grads):
        states = list(grads[1:]) + [None, None]
        if name == "LSTM":
            return layer.backward(grads[0], (states[0], states[1]))
        return layer.backward(grads[0], states[0])
    return backward


# ---- the layers against torch ---------------------------------------------------------------

@pytest.mark.fast_too
@pytest.mark.parametrize("name", LAYERS)
@given(batch=st.integers(1, 3), length=st.integers(1, 5), n_in=st.integers(1, 5),
       hidden=st.integers(1, 5), num_layers=st.integers(1, 3), bidirectional=st.booleans(),
       batch_first=st.booleans(), bias=st.booleans(), relu=st.booleans(), batched=st.booleans(),
       with_state=st.booleans(), grad_states=st.booleans(), dtype=dtypes, seed=st.integers(0, 2**16))
def test_layer_matches_torch(name, batch, length, n_in, hidden, num_layers, bidirectional,
                             batch_first, bias, relu, batched, with_state, grad_states, dtype, seed):
    options = dict(num_layers=num_layers, bias=bias, batch_first=batch_first, bidirectional=bidirectional)
    if name == "RNN":
        options["nonlinearity"] = "relu" if relu else "tanh"
    ours, theirs = getattr(nt.nn, name)(n_in, hidden, **options), getattr(torch.nn, name)(n_in, hidden, **options)
    rng = np.random.default_rng(seed)
    shape = ((batch, length) if batch_first else (length, batch)) if batched else (length,)
    inputs = [rng.standard_normal((*shape, n_in))]
    states = num_layers * (2 if bidirectional else 1), *((batch,) if batched else ()), hidden
    if with_state:
        h0 = rng.standard_normal(states)
        inputs.append((h0, rng.standard_normal(states)) if name == "LSTM" else h0)
    n_outputs = 3 if name == "LSTM" else 2
    compare_with_torch(ours, theirs, *inputs, dtype=dtype, seed=seed,
                       n_grads=n_outputs if grad_states else 1,
                       backward=_backward_with_states(ours, name))


@pytest.mark.parametrize("name", LAYERS)
@pytest.mark.parametrize("batch", [1, 4])
def test_layer_matches_torch_for_batch_of_one_and_several(name, batch, rng):
    x = rng.standard_normal((batch, 6, 3))
    ours = getattr(nt.nn, name)(3, 5, num_layers=2, batch_first=True, bidirectional=True)
    theirs = getattr(torch.nn, name)(3, 5, num_layers=2, batch_first=True, bidirectional=True)
    compare_with_torch(ours, theirs, x, n_grads=3 if name == "LSTM" else 2,
                       backward=_backward_with_states(ours, name))


@pytest.mark.parametrize("name", LAYERS)
@pytest.mark.filterwarnings("error")
def test_saturated_gates_match_torch_without_overflow_warnings(name, rng):
    # pre-activations of +-1e4: exp(-a) overflows to inf inside the sigmoids, which is not an error
    x = rng.standard_normal((2, 4, 3)) * 1e4
    ours = getattr(nt.nn, name)(3, 5, batch_first=True)
    theirs = getattr(torch.nn, name)(3, 5, batch_first=True)
    for dtype in (np.float32, np.float64):
        compare_with_torch(ours, theirs, x, dtype=dtype, n_grads=3 if name == "LSTM" else 2,
                           backward=_backward_with_states(ours, name))


@pytest.mark.parametrize("name", LAYERS)
def test_gradient_into_final_state_only(name, rng):
    """backward(None, grad_h_n): the output gets no gradient, h_n does (as in torch)."""
    ours, theirs = getattr(nt.nn, name)(3, 4, num_layers=2).double(), getattr(torch.nn, name)(3, 4, num_layers=2).double()
    theirs.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in ours.state_dict().items()})
    x = rng.standard_normal((5, 2, 3))
    _, state = ours(x)
    tx = torch.from_numpy(x).requires_grad_()
    _, t_state = theirs(tx)
    g = rng.standard_normal((2, 2, 4))
    if name == "LSTM":
        dx = ours.backward(None, (None, g))
        t_state[1].backward(torch.from_numpy(g))
    else:
        dx = ours.backward(None, g)
        t_state.backward(torch.from_numpy(g))
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.weight_hh_l0.grad, theirs.weight_hh_l0.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_eval_mode_ignores_dropout_between_layers(rng):
    ours, theirs = nt.nn.LSTM(3, 4, num_layers=3, dropout=0.5).eval(), torch.nn.LSTM(3, 4, num_layers=3, dropout=0.5).eval()
    compare_with_torch(ours, theirs, rng.standard_normal((5, 2, 3)))


def test_dropout_between_layers_in_training_masks_forward_and_backward_alike(rng):
    """With the generator reseeded before each call the mask repeats: backward = finite differences."""
    layer = nt.nn.GRU(3, 4, num_layers=2, dropout=0.5).double()
    x, dy = rng.standard_normal((4, 2, 3)), rng.standard_normal((4, 2, 4))

    def loss():
        nt.manual_seed(7)
        with nt.no_grad():
            return float(np.sum(layer(x)[0] * dy))
    nt.manual_seed(7)
    out, _ = layer(x)
    dx = layer.backward(dy)
    assert not np.allclose(out, layer.eval()(x)[0])   # the dropout did something in training
    layer.train()
    for index in [(0, 0, 0), (2, 1, 1), (3, 0, 2)]:
        x[index] += 1e-6
        plus = loss()
        x[index] -= 2e-6
        minus = loss()
        x[index] += 1e-6
        assert np.isclose(dx[index], (plus - minus) / 2e-6, rtol=1e-5, atol=1e-8)


def test_dropout_with_one_layer_warns_like_torch():
    with pytest.warns(UserWarning, match="num_layers greater than 1"):
        nt.nn.LSTM(3, 4, dropout=0.2)


# ---- the cells against torch ----------------------------------------------------------------

@pytest.mark.fast_too
@pytest.mark.parametrize("name", CELLS)
@given(batch=st.integers(1, 3), n_in=st.integers(1, 5), hidden=st.integers(1, 5), bias=st.booleans(),
       relu=st.booleans(), batched=st.booleans(), with_state=st.booleans(), grad_c=st.booleans(),
       dtype=dtypes, seed=st.integers(0, 2**16))
def test_cell_matches_torch(name, batch, n_in, hidden, bias, relu, batched, with_state, grad_c,
                            dtype, seed):
    options = {"nonlinearity": "relu" if relu else "tanh"} if name == "RNNCell" else {}
    ours = getattr(nt.nn, name)(n_in, hidden, bias=bias, **options)
    theirs = getattr(torch.nn, name)(n_in, hidden, bias=bias, **options)
    rng = np.random.default_rng(seed)
    lead = (batch,) if batched else ()
    inputs = [rng.standard_normal((*lead, n_in))]
    if with_state:
        h = rng.standard_normal((*lead, hidden))
        inputs.append((h, rng.standard_normal(h.shape)) if name == "LSTMCell" else h)
    compare_with_torch(ours, theirs, *inputs, dtype=dtype, seed=seed,
                       n_grads=2 if name == "LSTMCell" and grad_c else 1)


# ---- finite differences of the functional pairs ---------------------------------------------

def _weights(rng, gates, n_in, hidden):
    return [0.5 * rng.standard_normal(shape) for shape in
            ((gates * hidden, n_in), (gates * hidden, hidden), (gates * hidden,), (gates * hidden,))]


@pytest.mark.parametrize("kind, gates", [("rnn", 1), ("lstm", 4), ("gru", 3)])
@pytest.mark.parametrize("reverse", [False, True])
def test_sequence_functional_gradients(kind, gates, reverse, rng):
    x, h0, c0 = rng.standard_normal((4, 3, 2)), rng.standard_normal((3, 5)), rng.standard_normal((3, 5))
    states = [h0, c0] if kind == "lstm" else [h0]
    check_functional_gradients(getattr(F, f"{kind}_forward"), getattr(F, f"{kind}_backward"),
                               [x, *states, *_weights(rng, gates, 2, 5)], kwargs={"reverse": reverse},
                               name=f"{kind}_forward")


@pytest.mark.parametrize("kind, gates", [("rnn", 1), ("lstm", 4), ("gru", 3)])
def test_cell_functional_gradients(kind, gates, rng):
    x, h, c = rng.standard_normal((3, 2)), rng.standard_normal((3, 5)), rng.standard_normal((3, 5))
    states = [h, c] if kind == "lstm" else [h]
    check_functional_gradients(getattr(F, f"{kind}_cell_forward"), getattr(F, f"{kind}_cell_backward"),
                               [x, *states, *_weights(rng, gates, 2, 5)], name=f"{kind}_cell_forward")


def test_relu_rnn_functional_gradients(rng):
    x, h0 = rng.standard_normal((4, 3, 2)), rng.standard_normal((3, 5))
    check_functional_gradients(F.rnn_forward, F.rnn_backward, [x, h0, *_weights(rng, 1, 2, 5)],
                               kwargs={"nonlinearity": "relu"})
    check_functional_gradients(F.rnn_cell_forward, F.rnn_cell_backward, [x[0], h0, *_weights(rng, 1, 2, 5)],
                               kwargs={"nonlinearity": "relu"})


def test_stacked_bidirectional_layers_by_finite_differences(rng):
    gru = nt.nn.GRU(3, 4, num_layers=2, bidirectional=True, batch_first=True)
    check_module_gradients(gru, rng.standard_normal((2, 5, 3)), rng.standard_normal((4, 2, 4)),
                           backward=lambda grads: gru.backward(*grads))
    lstm = nt.nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    check_module_gradients(lstm, rng.standard_normal((5, 2, 3)),
                           backward=lambda grads: lstm.backward(grads[0], (grads[1], grads[2])))


def test_sequence_equals_cell_applied_step_by_step(rng):
    x, h, c = rng.standard_normal((4, 3, 2)), rng.standard_normal((3, 5)), rng.standard_normal((3, 5))
    weights = _weights(rng, 4, 2, 5)
    (output, (h_n, c_n)), _ = F.lstm_forward(x, h, c, *weights)
    for t in range(4):
        (h, c), _ = F.lstm_cell_forward(x[t], h, c, *weights)
        np.testing.assert_allclose(output[t], h, rtol=1e-12)
    np.testing.assert_allclose(h_n, h, rtol=1e-12)
    np.testing.assert_allclose(c_n, c, rtol=1e-12)


# ---- the module contract --------------------------------------------------------------------

@pytest.mark.parametrize("name", LAYERS)
def test_called_twice_backpropagates_both_calls_last_first(name, rng):
    ours = getattr(nt.nn, name)(4, 4, num_layers=2).double()
    theirs = getattr(torch.nn, name)(4, 4, num_layers=2).double()
    theirs.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in ours.state_dict().items()})
    x = rng.standard_normal((5, 2, 4))
    y, _ = ours(ours(x)[0])
    dx = ours.backward(ours.backward(np.ones_like(y)))
    tx = torch.from_numpy(x).requires_grad_()
    theirs(theirs(tx)[0])[0].sum().backward()
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    for key, param in ours.named_parameters():
        np.testing.assert_allclose(param.grad, dict(theirs.named_parameters())[key].grad.numpy(),
                                   rtol=1e-10, atol=1e-12, err_msg=key)


def test_changing_the_output_in_place_does_not_change_the_gradients(rng):
    layer = nt.nn.GRU(3, 4).double()
    x, dy = rng.standard_normal((5, 2, 3)), rng.standard_normal((5, 2, 4))
    layer(x)
    expected = layer.backward(dy), layer.weight_hh_l0.grad.copy()
    layer.zero_grad()
    out, h_n = layer(x)
    out *= 0
    h_n *= 0
    np.testing.assert_array_equal(layer.backward(dy), expected[0])
    np.testing.assert_array_equal(layer.weight_hh_l0.grad, expected[1])


@pytest.mark.parametrize("name", LAYERS + CELLS)
def test_parameter_names_and_init_follow_torch(name):
    options = {"num_layers": 2, "bidirectional": True} if name in LAYERS else {}
    ours, theirs = getattr(nt.nn, name)(3, 16, **options), getattr(torch.nn, name)(3, 16, **options)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for key, value in ours.state_dict().items():
        assert value.shape == tuple(theirs.state_dict()[key].shape) and value.dtype == np.float32
        assert np.abs(value).max() <= 0.25 and value.std() > 0.1   # U(-1/sqrt(16), 1/sqrt(16))


def test_float32_stays_float32(rng):
    layer = nt.nn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True)
    x = rng.standard_normal((2, 5, 3)).astype(np.float32)
    out, (h_n, c_n) = layer(x)
    assert out.dtype == h_n.dtype == c_n.dtype == np.float32
    assert layer.backward(out).dtype == np.float32
    assert all(p.grad.dtype == np.float32 for p in layer.parameters())


def test_no_grad_keeps_no_cache(rng):
    layer = nt.nn.RNN(3, 4)
    with nt.no_grad():
        out, _ = layer(rng.standard_normal((5, 2, 3)).astype(np.float32))
    with pytest.raises(RuntimeError, match="without a matching forward"):
        layer.backward(out)


def test_repr_shows_options_like_torch():
    assert repr(nt.nn.LSTM(10, 20, num_layers=2, batch_first=True)) == repr(torch.nn.LSTM(10, 20, num_layers=2, batch_first=True))
    assert repr(nt.nn.GRUCell(3, 4, bias=False)) == repr(torch.nn.GRUCell(3, 4, bias=False))


# ---- errors: at the mistake, naming the module and the shapes --------------------------------

def test_wrong_input_feature_size_names_the_layer_and_shapes():
    with pytest.raises(ValueError, match=r"LSTM\(10, 20\) expects input with last dimension \(input_size\) 10, got shape \(5, 3, 7\)"):
        nt.nn.LSTM(10, 20)(np.zeros((5, 3, 7), np.float32))


@pytest.mark.parametrize("shape", [(10,), (2, 5, 3, 10)])
def test_wrong_input_rank(shape):
    with pytest.raises(ValueError, match=rf"GRU\(10, 20\) expects 2-D or 3-D input.*got shape \({shape[0]},"):
        nt.nn.GRU(10, 20)(np.zeros(shape, np.float32))


def test_integer_input_is_rejected():
    with pytest.raises(TypeError, match=r"RNN\(3, 4\) needs a floating input, got dtype int64"):
        nt.nn.RNN(3, 4)(np.zeros((5, 2, 3), np.int64))


def test_float64_input_into_float32_layer_is_rejected_not_upcast():
    with pytest.raises(TypeError, match="float32 parameters but got input of dtype float64"):
        nt.nn.RNN(3, 4)(np.zeros((5, 2, 3)))


def test_wrong_initial_state_shape():
    x = np.zeros((5, 2, 3), np.float32)
    with pytest.raises(ValueError, match=r"GRU\(3, 4, num_layers=2\) expects h0 of shape \(2, 2, 4\), got shape \(1, 2, 4\)"):
        nt.nn.GRU(3, 4, num_layers=2)(x, np.zeros((1, 2, 4), np.float32))
    with pytest.raises(ValueError, match=r"LSTM\(3, 4\) expects c0 of shape \(1, 2, 4\), got shape \(1, 3, 4\)"):
        nt.nn.LSTM(3, 4)(x, (np.zeros((1, 2, 4), np.float32), np.zeros((1, 3, 4), np.float32)))
    with pytest.raises(ValueError, match=r"expects h0 of shape \(1, 4\), got shape \(1, 1, 4\)"):
        nt.nn.RNN(3, 4)(x[:, 0], np.zeros((1, 1, 4), np.float32))   # unbatched input, batched state
    with pytest.raises(TypeError, match=r"LSTM\(3, 4\) expects the initial state as a tuple \(h0, c0\)"):
        nt.nn.LSTM(3, 4)(x, np.zeros((1, 2, 4), np.float32))


def test_backward_before_forward():
    with pytest.raises(RuntimeError, match=r"LSTM\(3, 4\).backward\(\) called without a matching forward"):
        nt.nn.LSTM(3, 4).backward(np.zeros((5, 2, 4), np.float32))


def test_gradient_of_wrong_shape():
    layer = nt.nn.LSTM(3, 4, bidirectional=True)
    layer(np.zeros((5, 2, 3), np.float32))
    with pytest.raises(ValueError, match=r"grad_output of shape \(5, 2, 4\).*output had shape \(5, 2, 8\)"):
        layer.backward(np.zeros((5, 2, 4), np.float32))
    with pytest.raises(ValueError, match=r"grad_c_n of shape \(1, 2, 4\).*output had shape \(2, 2, 4\)"):
        layer.backward(np.zeros((5, 2, 8), np.float32), (None, np.zeros((1, 2, 4), np.float32)))


def test_cell_errors_name_the_cell_and_shapes():
    cell = nt.nn.LSTMCell(3, 4)
    with pytest.raises(ValueError, match=r"LSTMCell\(3, 4\) expects input with last dimension \(input_size\) 3, got shape \(2, 5\)"):
        cell(np.zeros((2, 5), np.float32))
    with pytest.raises(ValueError, match=r"LSTMCell\(3, 4\) expects h of shape \(2, 4\), got shape \(3, 4\)"):
        cell(np.zeros((2, 3), np.float32), (np.zeros((3, 4), np.float32), np.zeros((2, 4), np.float32)))
    with pytest.raises(RuntimeError, match="without a matching forward"):
        nt.nn.GRUCell(3, 4).backward(np.zeros((2, 4), np.float32))
    rnn_cell = nt.nn.RNNCell(3, 4)
    rnn_cell(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match=r"RNNCell\(3, 4\).backward got grad_h of shape \(2, 3\)"):
        rnn_cell.backward(np.zeros((2, 3), np.float32))


def test_bad_options_are_rejected():
    with pytest.raises(ValueError, match="Unknown nonlinearity 'sigmoid'"):
        nt.nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="dropout should be a number in range"):
        nt.nn.GRU(3, 4, num_layers=2, dropout=1.5)
    with pytest.raises(ValueError, match="hidden_size must be a positive integer"):
        nt.nn.LSTM(3, 0)
