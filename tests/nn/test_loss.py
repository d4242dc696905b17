"""Every loss and option against its torch twin, by finite differences, and its errors."""
import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

import numpy_transformer as nt
from numpy_transformer.nn import functional as F
from numpy_transformer.testing import check_functional_gradients, compare_with_torch

dtypes = st.sampled_from([np.float64, np.float32])
reductions = st.sampled_from(["mean", "sum", "none"])


def compare(ours, theirs, x, target, dtype, seed=0):
    """Loss and d loss / d input against torch; the target gets no gradient."""
    return compare_with_torch(ours, theirs, x, target, dtype=dtype, n_grads=1, grad_inputs=[0],
                              seed=seed)


def torch_options(**options):
    return {k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in options.items()}


class Unbatched(torch.nn.Module):
    """A torch loss given input [C] as a batch of one (torch's own unbatched paths are partial)."""

    def __init__(self, loss):
        super().__init__()
        self.loss = loss

    def forward(self, x, target):
        loss = self.loss(x[None], target[None])
        return loss[0] if self.loss.reduction == "none" else loss

    def state_dict(self, *args, **kwargs):
        return self.loss.state_dict(*args, **kwargs)

    def load_state_dict(self, state, *args, **kwargs):
        return self.loss.load_state_dict(state, *args, **kwargs)


@st.composite
def class_problems(draw, probabilities, weighted):
    """Logits [N, C, d...] or [C], targets (indices with ignored ones, or probabilities), options."""
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    n_classes = draw(st.integers(1, 6))
    unbatched = draw(st.booleans()) and draw(st.booleans())
    shape = [n_classes] if unbatched else [draw(st.integers(1, 5)), n_classes] + draw(
        st.lists(st.integers(1, 3), max_size=2))
    x = rng.standard_normal(shape) * draw(st.sampled_from([0.5, 3.0, 30.0]))
    options = {"reduction": draw(reductions)}
    if weighted:
        options["weight"] = rng.random(n_classes) + 0.1
    use_probabilities = probabilities
    index_shape = () if unbatched else tuple(shape[:1] + shape[2:])
    if use_probabilities:
        target = rng.random(shape)
        target /= target.sum(axis=0 if unbatched else 1, keepdims=True)
    else:
        ignore_index = draw(st.sampled_from([-100, -1, 0])) if n_classes > 1 else -100
        target = rng.integers(0, n_classes, index_shape)
        ignored = rng.random(index_shape) < draw(st.sampled_from([0.0, 0.3]))
        target = np.where(ignored, ignore_index, target)
        if np.all(target == ignore_index):                # keep one target: the mean needs it
            target[(0,) * target.ndim] = 1 if ignore_index == 0 else 0
        options["ignore_index"] = ignore_index
    return x, np.asarray(target), options, unbatched


@pytest.mark.fast_too
@pytest.mark.parametrize("probabilities", [False, True], ids=["indices", "probabilities"])
@pytest.mark.parametrize("weighted", [False, True], ids=["", "weight"])
@given(data=st.data(), smoothing=st.sampled_from([0.0, 0.0, 0.1, 0.6]), dtype=dtypes,
       seed=st.integers(0, 2**16))
def test_cross_entropy_matches_torch(probabilities, weighted, data, smoothing, dtype, seed):
    x, target, options, unbatched = data.draw(class_problems(probabilities, weighted))
    twin = torch.nn.CrossEntropyLoss(label_smoothing=smoothing, **torch_options(**options))
    compare(nt.nn.CrossEntropyLoss(label_smoothing=smoothing, **options),
            Unbatched(twin) if unbatched else twin, x, target, dtype, seed)


@pytest.mark.parametrize("weighted", [False, True], ids=["", "weight"])
@given(data=st.data(), dtype=dtypes, seed=st.integers(0, 2**16))
def test_nll_loss_matches_torch(weighted, data, dtype, seed):
    x, target, options, unbatched = data.draw(class_problems(False, weighted))
    twin = torch.nn.NLLLoss(**torch_options(**options))
    compare(nt.nn.NLLLoss(**options), Unbatched(twin) if unbatched else twin, x, target, dtype, seed)


@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3), weighted=st.booleans(),
       reduction=reductions, dtype=dtypes, seed=st.integers(0, 2**16))
def test_bce_matches_torch(shape, weighted, reduction, dtype, seed):
    rng = np.random.default_rng(seed)
    p = rng.random(shape)
    p.flat[0] = rng.choice([0.0, 1.0])                    # log(0) is clamped to -100
    y = rng.random(shape)
    options = {"reduction": reduction}
    if weighted:
        options["weight"] = rng.random(shape[-1:]) + 0.1  # broadcast along the last axis
    compare(nt.nn.BCELoss(**options), torch.nn.BCELoss(**torch_options(**options)), p, y, dtype, seed)


@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3), weighted=st.booleans(),
       pos_weighted=st.booleans(), scale=st.sampled_from([1.0, 20.0, 1000.0]), reduction=reductions,
       dtype=dtypes, seed=st.integers(0, 2**16))
def test_bce_with_logits_matches_torch(shape, weighted, pos_weighted, scale, reduction, dtype, seed):
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal(shape) * scale, (rng.random(shape) < 0.5) * 1.0
    options = {"reduction": reduction}
    if weighted:
        options["weight"] = rng.random(shape) + 0.1
    if pos_weighted:
        options["pos_weight"] = rng.random(shape[-1:]) * 3
    with np.errstate(over="raise"):
        compare(nt.nn.BCEWithLogitsLoss(**options), torch.nn.BCEWithLogitsLoss(**torch_options(**options)),
                x, y, dtype, seed)


REGRESSION = {
    "mse": (lambda r: nt.nn.MSELoss(r), lambda r: torch.nn.MSELoss(reduction=r)),
    "l1": (lambda r: nt.nn.L1Loss(r), lambda r: torch.nn.L1Loss(reduction=r)),
    "smooth_l1": (lambda r: nt.nn.SmoothL1Loss(r), lambda r: torch.nn.SmoothL1Loss(reduction=r)),
    "smooth_l1_beta": (lambda r: nt.nn.SmoothL1Loss(r, beta=0.3),
                       lambda r: torch.nn.SmoothL1Loss(reduction=r, beta=0.3)),
    "smooth_l1_beta0": (lambda r: nt.nn.SmoothL1Loss(r, beta=0.0),
                        lambda r: torch.nn.SmoothL1Loss(reduction=r, beta=0.0)),
    "huber": (lambda r: nt.nn.HuberLoss(r, delta=0.5), lambda r: torch.nn.HuberLoss(reduction=r, delta=0.5)),
}


@pytest.mark.parametrize("name", REGRESSION)
@given(shape=st.lists(st.integers(1, 4), max_size=3), reduction=reductions, dtype=dtypes,
       seed=st.integers(0, 2**16))
def test_regression_losses_match_torch(name, shape, reduction, dtype, seed):
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal(shape), rng.standard_normal(shape)
    if x.size:
        y.flat[0] = x.flat[0]                             # a zero difference: sign(0) = 0
    ours, theirs = REGRESSION[name]
    compare(ours(reduction), theirs(reduction), x, y, dtype, seed)


# ---- finite differences, float64 ----
def _class_inputs(rng, probabilities=False):
    x = rng.standard_normal((4, 5, 3))
    if probabilities:
        p = rng.random((4, 5, 3))
        return x, p / p.sum(axis=1, keepdims=True)
    t = rng.integers(0, 5, (4, 3))
    t[0, 0] = -100
    return x, t


W = np.array([0.5, 1.0, 2.0, 1.5, 0.2])
FUNCTIONALS = [
    ("ce", F.cross_entropy_forward, F.cross_entropy_backward, False, {}),
    ("ce_weight_smooth_none", F.cross_entropy_forward, F.cross_entropy_backward, False,
     {"weight": W, "label_smoothing": 0.2, "reduction": "none"}),
    ("ce_smooth_sum", F.cross_entropy_forward, F.cross_entropy_backward, False,
     {"label_smoothing": 0.3, "reduction": "sum"}),
    ("ce_probabilities", F.cross_entropy_forward, F.cross_entropy_backward, True,
     {"weight": W, "label_smoothing": 0.1}),
    ("nll", F.nll_loss_forward, F.nll_loss_backward, False, {"weight": W}),
    ("nll_none", F.nll_loss_forward, F.nll_loss_backward, False, {"reduction": "none"}),
]


@pytest.mark.parametrize("name, forward, backward, probabilities, kwargs", FUNCTIONALS,
                         ids=[f[0] for f in FUNCTIONALS])
def test_class_loss_functional_gradients(name, forward, backward, probabilities, kwargs, rng):
    x, target = _class_inputs(rng, probabilities)
    check_functional_gradients(forward, backward, [x, target], wrt=[0], kwargs=kwargs, name=name)


def _pairwise_inputs(rng, kind):
    x, y = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    if kind == "probability":
        return rng.uniform(0.05, 0.95, (3, 4)), rng.random((3, 4))
    if kind == "away_from_kinks":                        # |x - y| far from 0 and from beta/delta
        d = rng.choice([-1, 1], (3, 4)) * rng.uniform(0.1, 0.4, (3, 4))
        d[0] *= 5
        return x, x - d
    return x, y


ELEMENTWISE = [
    ("bce", F.binary_cross_entropy_forward, F.binary_cross_entropy_backward, "probability",
     {"weight": np.array([1.0, 0.5, 2.0, 0.1])}),
    ("bce_logits", F.binary_cross_entropy_with_logits_forward,
     F.binary_cross_entropy_with_logits_backward, "probability", {}),
    ("bce_logits_weights", F.binary_cross_entropy_with_logits_forward,
     F.binary_cross_entropy_with_logits_backward, "any",
     {"weight": np.array([1.0, 0.5, 2.0, 0.1]), "pos_weight": np.array([3.0, 0.5, 1.0, 2.0]),
      "reduction": "none"}),
    ("mse", F.mse_loss_forward, F.mse_loss_backward, "any", {"reduction": "sum"}),
    ("l1", F.l1_loss_forward, F.l1_loss_backward, "away_from_kinks", {}),
    ("smooth_l1", F.smooth_l1_loss_forward, F.smooth_l1_loss_backward, "away_from_kinks",
     {"beta": 0.7, "reduction": "none"}),
    ("huber", F.huber_loss_forward, F.huber_loss_backward, "away_from_kinks", {"delta": 0.7}),
]


@pytest.mark.parametrize("name, forward, backward, kind, kwargs", ELEMENTWISE,
                         ids=[f[0] for f in ELEMENTWISE])
def test_elementwise_loss_functional_gradients(name, forward, backward, kind, kwargs, rng):
    x, y = _pairwise_inputs(rng, kind)
    check_functional_gradients(forward, backward, [x, y], wrt=[0], kwargs=kwargs, name=name)


# ---- the module contract ----
def test_scalar_loss_is_0d_of_input_dtype_and_backward_defaults_to_one(rng):
    x, t = rng.standard_normal((4, 3)).astype(np.float32), rng.integers(0, 3, 4)
    criterion = nt.nn.CrossEntropyLoss(weight=np.array([1.0, 2.0, 3.0]))  # float64 weight
    loss = criterion(x, t)
    assert isinstance(loss, np.ndarray) and loss.shape == () and loss.dtype == np.float32
    dx = criterion.backward()
    criterion(x, t)
    assert dx.dtype == np.float32
    np.testing.assert_array_equal(criterion.backward(np.float32(1.0) * np.ones((), np.float32)), dx)


def test_reduction_none_needs_a_gradient_of_the_loss_shape(rng):
    criterion = nt.nn.MSELoss(reduction="none")
    loss = criterion(rng.standard_normal((2, 3)), rng.standard_normal((2, 3)))
    assert loss.shape == (2, 3)
    with pytest.raises(ValueError, match=r"MSELoss\(reduction='none'\) gave a loss of shape \(2, 3\)"):
        criterion.backward()
    with pytest.raises(ValueError, match=r"grad of shape \(3,\), but the forward output had shape \(2, 3\)"):
        criterion.backward(np.ones(3))
    assert criterion.backward(np.ones((2, 3))).shape == (2, 3)


def test_criterion_called_twice_is_backpropagated_last_call_first(rng):
    criterion = nt.nn.CrossEntropyLoss(label_smoothing=0.1).double()
    x1, x2 = rng.standard_normal((3, 4)), rng.standard_normal((5, 4))
    t1, t2 = rng.integers(0, 4, 3), rng.integers(0, 4, 5)
    expected = []
    for x, t in ((x1, t1), (x2, t2)):
        tx = torch.from_numpy(x).requires_grad_()
        torch.nn.functional.cross_entropy(tx, torch.from_numpy(t), label_smoothing=0.1).backward()
        expected.append(tx.grad.numpy())
    criterion(x1, t1)
    criterion(x2, t2)
    np.testing.assert_allclose(criterion.backward(), expected[1], rtol=1e-12)
    np.testing.assert_allclose(criterion.backward(), expected[0], rtol=1e-12)


def test_backward_before_forward_and_under_no_grad(rng):
    with pytest.raises(RuntimeError, match="without a matching forward"):
        nt.nn.NLLLoss().backward()
    criterion = nt.nn.CrossEntropyLoss()
    with nt.no_grad():
        criterion(rng.standard_normal((2, 3)), np.array([0, 1]))
    with pytest.raises(RuntimeError, match="without a matching forward"):
        criterion.backward()


def test_cross_entropy_is_stable_for_huge_logits():
    x = np.array([[1e4, -1e4, 0.0], [-1e38, 1e38, 1.0]], np.float32)
    t = np.array([1, 1])
    with np.errstate(over="raise", invalid="raise"):
        loss = nt.nn.CrossEntropyLoss()
        value = loss(x, t)
        dx = loss.backward()
    assert value == pytest.approx(1e4, rel=1e-6)
    np.testing.assert_allclose(dx, [[0.5, -0.5, 0.0], [0.0, 0.0, 0.0]], atol=1e-7)


def test_unbatched_losses_are_0d_for_every_reduction(rng):
    for reduction in ("mean", "sum", "none"):
        loss = nt.nn.CrossEntropyLoss(reduction=reduction)(rng.standard_normal(4), np.array(2))
        assert loss.shape == ()


def test_state_dict_holds_the_weight_buffers_by_torch_names():
    assert list(nt.nn.CrossEntropyLoss(weight=np.ones(3)).state_dict()) == ["weight"]
    assert list(nt.nn.CrossEntropyLoss().state_dict()) == []
    assert list(nt.nn.BCEWithLogitsLoss(pos_weight=np.ones(3)).state_dict()) == ["pos_weight"]


# ---- errors at the mistake ----
def test_target_shape_must_match():
    with pytest.raises(ValueError, match=r"CrossEntropyLoss expects class indices of shape \(4,\) "
                                         r"for input of shape \(4, 3\), got target of shape \(5,\)"):
        nt.nn.CrossEntropyLoss()(np.zeros((4, 3)), np.zeros(5, int))
    with pytest.raises(ValueError, match=r"NLLLoss expects class indices of shape \(4, 7\) for "
                                         r"input of shape \(4, 3, 7\)"):
        nt.nn.NLLLoss()(np.zeros((4, 3, 7)), np.zeros((4, 3), int))
    with pytest.raises(ValueError, match=r"MSELoss got input of shape \(2, 3\) and target of shape \(3,\)"):
        nt.nn.MSELoss()(np.zeros((2, 3)), np.zeros(3))


def test_float_targets_where_class_indices_are_needed_and_vice_versa():
    with pytest.raises(TypeError, match=r"CrossEntropyLoss got a floating target of shape \(4,\) "
                                        r"for input of shape \(4, 3\): class indices must be integers"):
        nt.nn.CrossEntropyLoss()(np.zeros((4, 3)), np.zeros(4))
    with pytest.raises(TypeError, match=r"integer target of the input's shape \(4, 3\): class "
                                        r"probabilities must be floating"):
        nt.nn.CrossEntropyLoss()(np.zeros((4, 3)), np.zeros((4, 3), int))
    with pytest.raises(TypeError, match="NLLLoss needs integer class indices as target, got float64"):
        nt.nn.NLLLoss()(np.zeros((4, 3)), np.zeros(4))
    with pytest.raises(TypeError, match=r"BCELoss needs a floating target of the input's shape \(4,\), got int64"):
        nt.nn.BCELoss()(np.full(4, 0.5), np.ones(4, np.int64))


def test_class_index_out_of_range_names_the_value_and_c():
    with pytest.raises(IndexError, match=r"CrossEntropyLoss: target class index 7 at \(2,\) is out "
                                         r"of range for input of shape \(4, 5\) with C = 5 classes"):
        nt.nn.CrossEntropyLoss()(np.zeros((4, 5)), np.array([0, 1, 7, 2]))
    with pytest.raises(IndexError, match=r"NLLLoss: target class index -1 at \(0, 1\)"):
        nt.nn.NLLLoss()(np.zeros((2, 5, 2)), np.array([[0, -1], [1, 1]]))
    nt.nn.CrossEntropyLoss(ignore_index=-1)(np.zeros((2, 5)), np.array([-1, 4]))  # ignored: fine


def test_integer_input_and_mismatched_dtypes_are_rejected():
    with pytest.raises(TypeError, match=r"CrossEntropyLoss\(\) needs a floating input, got dtype int64"):
        nt.nn.CrossEntropyLoss()(np.zeros((2, 3), np.int64), np.array([0, 1]))
    with pytest.raises(TypeError, match="MSELoss got input of dtype float32 and target of dtype float64"):
        nt.nn.MSELoss()(np.zeros(3, np.float32), np.zeros(3))


def test_nan_or_inf_in_the_loss_names_the_cause():
    x = np.zeros((3, 4))
    x[1, 2] = np.nan
    with pytest.raises(FloatingPointError, match=r"CrossEntropyLoss: loss is nan; the input contains nan at \(1, 2\)"):
        nt.nn.CrossEntropyLoss()(x, np.array([0, 1, 2]))
    y = np.zeros((2, 2))
    y[0, 1] = np.inf
    with pytest.raises(FloatingPointError, match=r"MSELoss: loss is inf; the target contains inf at \(0, 1\)"):
        nt.nn.MSELoss()(np.zeros((2, 2)), y)
    with pytest.raises(FloatingPointError, match="loss is inf although input and target are finite: "
                                                 "it overflowed float32"):
        nt.nn.MSELoss()(np.full(2, 3e20, np.float32), np.zeros(2, np.float32))
    with pytest.raises(FloatingPointError, match="loss is nan .* every target is ignore_index=-100"):
        nt.nn.CrossEntropyLoss()(np.zeros((2, 3)), np.array([-100, -100]))
    with pytest.raises(FloatingPointError, match="BCEWithLogitsLoss: loss is nan; the pos_weight contains nan"):
        nt.nn.BCEWithLogitsLoss(pos_weight=np.array([np.nan]))(np.zeros((2, 1)), np.ones((2, 1)))


def test_bce_input_must_be_probabilities():
    with pytest.raises(ValueError, match=r"BCELoss needs input values in \[0, 1\] \(apply a Sigmoid "
                                         r"first, or use BCEWithLogitsLoss\); got 1.5 at \(1,\)"):
        nt.nn.BCELoss()(np.array([0.5, 1.5]), np.array([0.0, 1.0]))


def test_bad_options_and_weights():
    with pytest.raises(ValueError, match="reduction must be 'mean', 'sum' or 'none', got 'avg'"):
        nt.nn.L1Loss(reduction="avg")
    with pytest.raises(ValueError, match=r"label_smoothing must be in \[0, 1\], got 1.5"):
        nt.nn.CrossEntropyLoss(label_smoothing=1.5)
    with pytest.raises(ValueError, match=r"weight must be 1-D \(one per class\), got shape \(2, 2\)"):
        nt.nn.NLLLoss(weight=np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"CrossEntropyLoss: weight of shape \(4,\) for input of "
                                         r"shape \(2, 3\) with C = 3 classes"):
        nt.nn.CrossEntropyLoss(weight=np.ones(4))(np.zeros((2, 3)), np.array([0, 1]))
    with pytest.raises(ValueError, match=r"BCEWithLogitsLoss: pos_weight of shape \(3,\) does not "
                                         r"broadcast to the input's shape \(2, 4\)"):
        nt.nn.BCEWithLogitsLoss(pos_weight=np.ones(3))(np.zeros((2, 4)), np.zeros((2, 4)))


def test_nll_ignores_ignored_targets_even_where_the_input_is_minus_inf():
    log_p = np.array([[-np.inf, 0.0], [np.log(0.25), np.log(0.75)]])   # log of 0 at (0, 0)
    loss = nt.nn.NLLLoss()(log_p, np.array([-100, 1]))
    assert loss == pytest.approx(-np.log(0.75), rel=1e-12)


@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss"])
def test_a_mean_over_no_kept_target_is_nan_with_zero_gradients_as_torch(name):
    x = np.random.default_rng(0).standard_normal((3, 4))
    target = np.full(3, -100)
    loss, cache = getattr(F, f"{name}_forward")(x, target)
    expected_x = torch.tensor(x, requires_grad=True)
    expected = getattr(torch.nn.functional, name)(expected_x, torch.from_numpy(target))
    expected.backward()
    assert np.isnan(loss) and torch.isnan(expected)
    np.testing.assert_array_equal(getattr(F, f"{name}_backward")(1.0, cache), expected_x.grad)
