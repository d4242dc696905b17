"""Every scheduler sets torch's learning rates, step by step, for 30 steps and two param groups."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

import numpy_transformer as nt

STEPS = 30
BASE_LRS = (0.1, 0.02)
gammas = st.sampled_from([0.1, 0.5, 0.9, 0.97])


def optimizers(optimizer="SGD"):
    """Our optimizer and torch's, each with two param groups (lr 0.1 and 0.02)."""
    def groups(param):
        return [{"params": [param(2)], "lr": BASE_LRS[0]}, {"params": [param(3)], "lr": BASE_LRS[1]}]
    options = dict(momentum=0.9) if optimizer == "SGD" else {}
    ours = getattr(nt.optim, optimizer)(groups(lambda n: nt.nn.Parameter(np.zeros(n))), **options)
    theirs = getattr(torch.optim, optimizer)(
        groups(lambda n: torch.nn.Parameter(torch.zeros(n, dtype=torch.float64))), **options)
    return ours, theirs


def value(group, key):
    return group["betas"][0] if key == "beta1" else group[key]


def schedule(scheduler, optimizer, steps=STEPS, keys=("lr",)):
    """[get_last_lr(), then the groups' `keys`] at construction and after each of `steps` steps."""
    def snapshot():
        return [list(scheduler.get_last_lr())] + [[value(g, k) for g in optimizer.param_groups]
                                                  for k in keys]
    values = [snapshot()]
    for _ in range(steps):
        optimizer.step()
        scheduler.step()
        values.append(snapshot())
    return values


def assert_same_schedule(build, optimizer="SGD", keys=("lr",)):
    """`build(lr_scheduler_module, optimizer)` gives the same values with ours and torch's."""
    ours, theirs = optimizers(optimizer)
    expected = schedule(build(torch.optim.lr_scheduler, theirs), theirs, keys=keys)
    got = schedule(build(nt.optim.lr_scheduler, ours), ours, keys=keys)
    for step, (g, e) in enumerate(zip(got, expected)):
        np.testing.assert_allclose(np.array(g, dtype=float), np.array(e, dtype=float), rtol=1e-6,
                                   atol=0, err_msg=f"step {step}")


@given(step_size=st.integers(1, 7), gamma=gammas)
def test_step_lr_matches_torch(step_size, gamma):
    assert_same_schedule(lambda m, opt: m.StepLR(opt, step_size=step_size, gamma=gamma))


@given(milestones=st.lists(st.integers(1, STEPS), max_size=5), gamma=gammas)
def test_multi_step_lr_matches_torch(milestones, gamma):
    assert_same_schedule(lambda m, opt: m.MultiStepLR(opt, milestones=milestones, gamma=gamma))


@given(gamma=gammas)
def test_exponential_lr_matches_torch(gamma):
    assert_same_schedule(lambda m, opt: m.ExponentialLR(opt, gamma=gamma))


@given(T_max=st.integers(1, 15), eta_min=st.sampled_from([0.0, 1e-3, 0.01]))
def test_cosine_annealing_lr_matches_torch_past_t_max(T_max, eta_min):
    assert_same_schedule(lambda m, opt: m.CosineAnnealingLR(opt, T_max=T_max, eta_min=eta_min))


@given(start_factor=st.sampled_from([0.01, 1 / 3, 0.5, 1.0]),
       end_factor=st.sampled_from([0.0, 0.5, 1.0]), total_iters=st.integers(1, 12))
def test_linear_lr_matches_torch(start_factor, end_factor, total_iters):
    assert_same_schedule(lambda m, opt: m.LinearLR(opt, start_factor=start_factor,
                                                   end_factor=end_factor, total_iters=total_iters))


def test_lambda_lr_matches_torch_with_one_or_one_lambda_per_group():
    assert_same_schedule(lambda m, opt: m.LambdaLR(opt, lambda t: 0.95 ** t))
    assert_same_schedule(lambda m, opt: m.LambdaLR(opt, [lambda t: 1 / (t + 1), lambda t: t % 4]))


@given(warmup=st.integers(1, 8), T_max=st.integers(1, 25), eta_min=st.sampled_from([0.0, 1e-3]))
def test_sequential_warmup_then_cosine_matches_torch(warmup, T_max, eta_min):
    def build(m, opt):
        return m.SequentialLR(opt, [m.LinearLR(opt, start_factor=0.1, total_iters=warmup),
                                    m.CosineAnnealingLR(opt, T_max=T_max, eta_min=eta_min)],
                              milestones=[warmup])
    assert_same_schedule(build)


def test_sequential_of_three_schedulers_matches_torch():
    def build(m, opt):
        return m.SequentialLR(opt, [m.LinearLR(opt, start_factor=0.5, end_factor=0.5, total_iters=4),
                                    m.ExponentialLR(opt, gamma=0.9),
                                    m.StepLR(opt, step_size=3, gamma=0.5)], milestones=[5, 12])
    assert_same_schedule(build)


@given(warmup=st.integers(0, 10), extra=st.integers(1, 25), min_lr=st.sampled_from([0.0, 1e-3]))
def test_warmup_cosine_equals_its_torch_composition(warmup, extra, min_lr):
    total = warmup + extra

    def build(m, opt):
        if m is nt.optim.lr_scheduler:
            return m.warmup_cosine(opt, warmup_steps=warmup, total_steps=total, min_lr=min_lr)
        if warmup == 0:
            return m.CosineAnnealingLR(opt, T_max=total, eta_min=min_lr)
        return m.SequentialLR(opt, [m.LinearLR(opt, start_factor=1 / (warmup + 1), end_factor=1.0,
                                               total_iters=warmup),
                                    m.CosineAnnealingLR(opt, T_max=total - warmup, eta_min=min_lr)],
                              milestones=[warmup])
    assert_same_schedule(build)


def test_warmup_cosine_follows_its_formula():
    ours, _ = optimizers()
    scheduler = nt.optim.lr_scheduler.warmup_cosine(ours, warmup_steps=4, total_steps=14, min_lr=1e-3)
    lrs = [row[0][0] for row in schedule(scheduler, ours, steps=14)]
    base, W, T = BASE_LRS[0], 4, 14
    expected = [base * (t + 1) / (W + 1) if t < W else
                1e-3 + (base - 1e-3) * (1 + math.cos(math.pi * (t - W) / (T - W))) / 2
                for t in range(T + 1)]
    np.testing.assert_allclose(lrs, expected, rtol=1e-12)
    assert lrs[W] == pytest.approx(base) and lrs[T] == pytest.approx(1e-3)


@given(pct_start=st.sampled_from([0.1, 0.3, 0.5]), anneal_strategy=st.sampled_from(["cos", "linear"]),
       three_phase=st.booleans(), cycle_momentum=st.booleans(), optimizer=st.sampled_from(["SGD", "Adam"]))
def test_one_cycle_lr_matches_torch_with_momentum_or_beta1(pct_start, anneal_strategy, three_phase,
                                                           cycle_momentum, optimizer):
    def build(m, opt):
        return m.OneCycleLR(opt, max_lr=[0.5, 0.05], total_steps=STEPS, pct_start=pct_start,
                            anneal_strategy=anneal_strategy, three_phase=three_phase,
                            cycle_momentum=cycle_momentum)
    keys = ("lr", "momentum" if optimizer == "SGD" else "beta1")
    assert_same_schedule(build, optimizer, keys=keys)


def test_scheduler_keeps_initial_lr_in_the_param_groups_like_torch():
    ours, theirs = optimizers()
    nt.optim.lr_scheduler.StepLR(ours, step_size=2)
    torch.optim.lr_scheduler.StepLR(theirs, step_size=2)
    assert [g["initial_lr"] for g in ours.param_groups] == [g["initial_lr"] for g in theirs.param_groups]
