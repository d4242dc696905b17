"""Classic mistakes planted in the reference solutions: the grader fails the right function on
a named input and its hint points at the mistake (at least one per week)."""
import numpy as np

from numpy_transformer import nn
from numpy_transformer.curriculum.grader import format_result
from numpy_transformer.curriculum.solutions import week_1, week_2, week_5, week_6

from .conftest import grade


def assert_caught(result, function, *words):
    report = format_result(result)
    assert result["status"] == "fail", report
    assert result["what"].startswith(function), report
    assert result["case"], report                                  # which input failed
    for word in words:
        assert word in report, f"{word!r} not in:\n{report}"


# ---- week 1 ----
def test_softmax_jacobian_taken_as_diagonal():
    def softmax_backward(dy, cache):
        y, axis = cache
        return dy * y * (1 - y)
    assert_caught(grade(1, "softmax", softmax_backward=softmax_backward), "softmax_backward, dx",
                  "only the diagonal", "got", "expected")


def test_cross_entropy_without_the_mean():
    def cross_entropy_backward(dloss, cache):
        return week_1.cross_entropy_backward(dloss, cache) * 4   # the first case has N = 4
    assert_caught(grade(1, "cross_entropy", cross_entropy_backward=cross_entropy_backward),
                  "cross_entropy_backward, dlogits", "1/N")


def test_relu_gradient_at_zero():
    def relu_forward(x):
        return np.maximum(x, 0), x

    def relu_backward(dy, x):
        return dy * (x >= 0)
    result = grade(1, "relu", relu_forward=relu_forward, relu_backward=relu_backward)
    assert_caught(result, "relu_backward", "x > 0, not x >= 0")
    assert "entries exactly 0" in result["case"]


def test_linear_weight_gradient_transposed():
    def linear_backward(dy, cache):
        dx, dw, db = week_1.linear_backward(dy, cache)
        return dx, dw.T, db
    assert_caught(grade(1, "linear", linear_backward=linear_backward), "linear_backward, dweight",
                  "transpose")


def test_forward_that_does_not_return_a_cache_is_named():
    result = grade(1, "tanh", tanh_forward=lambda x: np.tanh(x))
    assert_caught(result, "tanh_forward", "must return (out, cache)")


# ---- week 2 ----
def test_convolution_output_one_row_short():
    def conv2d_forward(x, weight, bias=None, stride=1, padding=0):
        y, cache = week_2.conv2d_forward(x, weight, bias, stride, padding)
        return y[:, :, :-1, :-1], cache
    assert_caught(grade(2, "conv2d", conv2d_forward=conv2d_forward), "conv2d_forward, output",
                  "off by one", "+ 1")


def test_max_pool_gradient_sent_to_every_tie():
    def max_pool2d_forward(x, kernel_size, stride=None):
        y, _ = week_2.max_pool2d_forward(x, kernel_size, stride)
        return y, (x, y, kernel_size, stride or kernel_size)

    def max_pool2d_backward(dy, cache):
        x, y, k, s = cache
        dx = np.zeros_like(x)
        for i in range(y.shape[2]):
            for j in range(y.shape[3]):
                window = (slice(None), slice(None), slice(i * s, i * s + k), slice(j * s, j * s + k))
                dx[window] += dy[:, :, i:i + 1, j:j + 1] * (x[window] == y[:, :, i:i + 1, j:j + 1])
        return dx
    result = grade(2, "max_pool2d", max_pool2d_forward=max_pool2d_forward,
                   max_pool2d_backward=max_pool2d_backward)
    assert_caught(result, "max_pool2d_backward, dx", "ONE of them")
    assert "ties" in result["case"]


# ---- week 3 ----
def _dropout(scale_train, scale_eval):
    def dropout_forward(x, p=0.5, training=True, generator=None):
        if not training:
            return x * scale_eval(p), None
        mask = (generator.random(x.shape) >= p) * scale_train(p)
        return x * mask, mask

    def dropout_backward(dy, mask):
        return dy if mask is None else dy * mask
    return {"dropout_forward": dropout_forward, "dropout_backward": dropout_backward}


def test_dropout_without_the_scaling():
    result = grade(3, "dropout", **_dropout(lambda p: 1.0, lambda p: 1.0))
    assert_caught(result, "dropout_forward", "not scaled", "1 / (1 - p)")


def test_dropout_scaled_in_evaluation():
    result = grade(3, "dropout", **_dropout(lambda p: 1 / (1 - p), lambda p: 1 - p))
    assert_caught(result, "dropout_forward", "do not scale in evaluation")
    assert result["case"].startswith("evaluation")


def test_sgd_without_the_momentum_term():
    class SGD:
        def __init__(self, params, lr, momentum=0.0):
            self.params, self.lr = list(params), lr

        def step(self):
            for p in self.params:
                p.data -= self.lr * p.grad
    assert_caught(grade(3, "SGD", SGD=SGD), "SGD.step", "no momentum")


def test_adam_without_bias_correction():
    class Adam:
        def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
            self.params, self.lr, self.betas, self.eps = list(params), lr, betas, eps
            self.m = [np.zeros_like(p.data) for p in self.params]
            self.v = [np.zeros_like(p.data) for p in self.params]

        def step(self):
            b1, b2 = self.betas
            for p, m, v in zip(self.params, self.m, self.v):
                m[...] = b1 * m + (1 - b1) * p.grad
                v[...] = b2 * v + (1 - b2) * p.grad ** 2
                p.data -= self.lr * m / (np.sqrt(v) + self.eps)
    assert_caught(grade(3, "Adam", Adam=Adam), "Adam.step", "bias correction")


def test_embedding_gradient_that_overwrites_repeated_ids():
    def embedding_forward(ids, weight):
        return weight[ids], (ids, weight.shape)

    def embedding_backward(dy, cache):
        ids, shape = cache
        dweight = np.zeros(shape, dy.dtype)
        dweight[ids.reshape(-1)] += dy.reshape(-1, shape[1])
        return None, dweight
    result = grade(3, "embedding", embedding_forward=embedding_forward,
                   embedding_backward=embedding_backward)
    assert_caught(result, "embedding_backward, dweight", "np.add.at")
    assert "repeated" in result["case"]


# ---- week 4 ----
def _rnn_forward(x, h0, w_ih, w_hh, b_ih, b_hh):
    hs = [h0]
    for t in range(len(x)):
        hs.append(np.tanh(x[t] @ w_ih.T + b_ih + hs[-1] @ w_hh.T + b_hh))
    return np.stack(hs[1:]), (x, hs, w_ih, w_hh)


def _rnn_backward_without_carry(d_output, cache):
    x, hs, w_ih, w_hh = cache
    dx, dw_ih, dw_hh = np.zeros_like(x), np.zeros_like(w_ih), np.zeros_like(w_hh)
    db = np.zeros(w_hh.shape[0], x.dtype)
    for t in reversed(range(len(x))):
        da = d_output[t] * (1 - hs[t + 1] ** 2)         # the gradient from step t + 1 is dropped
        dx[t] = da @ w_ih
        dw_ih += da.T @ x[t]
        dw_hh += da.T @ hs[t]
        db += da.sum(0)
        dh = da @ w_hh
    return dx, dh, dw_ih, dw_hh, db, db.copy()


def test_backpropagation_through_time_without_the_carried_gradient():
    result = grade(4, "rnn", rnn_forward=_rnn_forward, rnn_backward=_rnn_backward_without_carry)
    assert_caught(result, "rnn_backward", "later steps", "d_output[t]")


def test_tokenizer_that_splits_on_spaces_only():
    from numpy_transformer.curriculum.solutions.week_4 import WordTokenizer

    class SpaceTokenizer(WordTokenizer):
        def tokenize(self, text):
            return text.lower().split()
    result = grade(4, "WordTokenizer", WordTokenizer=SpaceTokenizer)
    assert_caught(result, "WordTokenizer.tokenize", "any single other character")


# ---- week 5 ----
def test_layer_norm_backward_without_the_mean_terms():
    def layer_norm_backward(dy, cache):
        xhat, rstd, weight, _, _ = cache
        lead = tuple(range(dy.ndim - 1))
        return dy * weight * rstd.reshape(dy.shape[:-1] + (1,)), (dy * xhat.reshape(dy.shape)).sum(lead), \
            dy.sum(lead)
    result = grade(5, "layer_norm", layer_norm_backward=layer_norm_backward)
    assert_caught(result, "layer_norm_backward, dx", "dropped both mean terms", "mean(g)")


def test_layer_norm_variance_by_cancellation():
    def layer_norm_forward(x, weight, bias, eps=1e-5):
        mean = x.mean(-1, keepdims=True)
        var = (x * x).mean(-1, keepdims=True) - mean ** 2
        y, cache = week_5.layer_norm_forward(x, weight, bias, eps=eps)
        return (x - mean) / np.sqrt(var + eps) * weight + bias, cache
    result = grade(5, "layer_norm", layer_norm_forward=layer_norm_forward)
    assert result["status"] == "fail" and "large mean" in result["case"], format_result(result)


def test_residual_that_returns_only_the_branch_gradient():
    class Residual(nn.Residual):
        def backward(self, grad_output):
            self._pop(grad_output)
            return self.module.backward(grad_output)
    result = grade(5, "Residual", Residual=Residual)
    assert_caught(result, "Residual.backward", "two paths", "dy (the skip path)")


def test_running_variance_updated_with_the_biased_variance():
    def batch_norm_forward(x, weight, bias, running_mean, running_var, training=True,
                           momentum=0.1, eps=1e-5):
        y, cache = week_5.batch_norm_forward(x, weight, bias, None, None, training, momentum, eps)
        if training:
            running_mean *= 1 - momentum
            running_mean += momentum * x.mean(0)
            running_var *= 1 - momentum
            running_var += momentum * x.var(0)
        return y, cache
    result = grade(5, "batch_norm running statistics", batch_norm_forward=batch_norm_forward)
    assert_caught(result, "batch_norm_forward, running_var", "UNBIASED")


# ---- week 6 ----
def test_attention_without_the_scale():
    def scaled_dot_product_attention_forward(query, key, value, attn_mask=None, is_causal=False):
        return week_6.scaled_dot_product_attention_forward(query, key, value, attn_mask=attn_mask,
                                                           is_causal=is_causal, scale=1.0)
    result = grade(6, "scaled_dot_product_attention",
                   scaled_dot_product_attention_forward=scaled_dot_product_attention_forward)
    assert_caught(result, "scaled_dot_product_attention_forward, output", "sqrt(E)")


def test_causal_mask_that_shows_the_future():
    result = grade(6, "causal_mask", causal_mask=lambda L: np.triu(np.ones((L, L), dtype=bool)))
    assert_caught(result, "causal_mask", "FUTURE", "np.tril")


def test_causal_attention_that_hides_the_diagonal():
    def scaled_dot_product_attention_forward(query, key, value, attn_mask=None, is_causal=False):
        if is_causal:
            L = query.shape[-2]
            attn_mask, is_causal = np.tri(L, L, -1, dtype=bool), False
            attn_mask[0, 0] = True                       # keep row 0 defined
        return week_6.scaled_dot_product_attention_forward(query, key, value, attn_mask=attn_mask,
                                                           is_causal=is_causal)
    result = grade(6, "scaled_dot_product_attention",
                   scaled_dot_product_attention_forward=scaled_dot_product_attention_forward)
    assert result["status"] == "fail" and result["case"].startswith("is_causal"), format_result(result)


def test_forward_that_overwrites_its_input_is_named():
    def relu_forward(x):
        x[x < 0] = 0
        return x, x > 0
    assert_caught(grade(1, "relu", relu_forward=relu_forward), "relu_forward",
                  "changed its input x in place", "np.maximum")
