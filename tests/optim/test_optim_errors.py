"""Mistakes in building optimizers and schedulers fail at once, with messages that say what to fix."""
import numpy as np
import pytest

import numpy_transformer as nt

OPTIMIZERS = [nt.optim.SGD, nt.optim.Adam, nt.optim.AdamW, nt.optim.RMSprop]


def params(n=1):
    return [nt.nn.Parameter(np.zeros(3, np.float32)) for _ in range(n)]


@pytest.mark.parametrize("cls", OPTIMIZERS)
def test_negative_learning_rate_is_rejected_for_the_optimizer_and_a_group(cls):
    with pytest.raises(ValueError, match=rf"{cls.__name__} got an invalid learning rate lr=-0.1"):
        cls(params(), lr=-0.1)
    with pytest.raises(ValueError, match="invalid learning rate lr=-1"):
        cls([{"params": params()}, {"params": params(), "lr": -1}], lr=0.1)


@pytest.mark.parametrize("cls", [nt.optim.Adam, nt.optim.AdamW])
@pytest.mark.parametrize("betas, index", [((1.0, 0.999), 0), ((-0.1, 0.9), 0), ((0.9, 1.0), 1)])
def test_betas_outside_zero_one_are_rejected(cls, betas, index):
    with pytest.raises(ValueError, match=rf"invalid beta at index {index}.*must be in \[0, 1\)"):
        cls(params(), betas=betas)


@pytest.mark.parametrize("options", [dict(nesterov=True), dict(nesterov=True, momentum=0.9,
                                                               dampening=0.1)])
def test_nesterov_needs_momentum_and_no_dampening(options):
    with pytest.raises(ValueError, match="Nesterov momentum needs momentum > 0 and dampening = 0"):
        nt.optim.SGD(params(), lr=0.1, **options)


@pytest.mark.parametrize("cls, option", [(nt.optim.SGD, "momentum"), (nt.optim.SGD, "weight_decay"),
                                         (nt.optim.Adam, "eps"), (nt.optim.Adam, "weight_decay"),
                                         (nt.optim.RMSprop, "alpha"), (nt.optim.RMSprop, "momentum")])
def test_negative_options_are_rejected(cls, option):
    with pytest.raises(ValueError, match=rf"invalid {option}=-0.5; it must be >= 0"):
        cls(params(), **{option: -0.5})


@pytest.mark.parametrize("cls", OPTIMIZERS)
def test_empty_parameter_list_is_rejected(cls):
    with pytest.raises(ValueError, match=rf"{cls.__name__} got an empty parameter list"):
        cls([])
    with pytest.raises(ValueError, match="empty parameter list"):
        cls(iter(()))


def test_what_is_not_a_list_of_parameters_is_rejected():
    with pytest.raises(TypeError, match="iterable of Parameters.*got a single Parameter"):
        nt.optim.SGD(params()[0])
    with pytest.raises(TypeError, match="can only optimize nt.nn.Parameter objects.*ndarray"):
        nt.optim.SGD([np.zeros(3)])
    with pytest.raises(TypeError, match="not a set"):
        nt.optim.SGD([{"params": set(params())}])


def test_a_parameter_in_two_groups_is_rejected():
    shared = params()
    with pytest.raises(ValueError, match="more than one parameter group"):
        nt.optim.SGD([{"params": shared}, {"params": shared}])
    optimizer = nt.optim.SGD(shared)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optimizer.add_param_group({"params": shared})


def test_load_state_dict_with_another_group_count_is_rejected():
    two_groups = nt.optim.Adam([{"params": params()}, {"params": params()}])
    one_group = nt.optim.Adam(params(2))
    with pytest.raises(ValueError, match="the state dict has 2 parameter groups, but this "
                                         "optimizer has 1"):
        one_group.load_state_dict(two_groups.state_dict())


def test_load_state_dict_with_another_group_size_is_rejected():
    with pytest.raises(ValueError, match="parameter group 0 of the state dict has 2 parameters, "
                                         "but this optimizer's group 0 has 3"):
        nt.optim.SGD(params(3)).load_state_dict(nt.optim.SGD(params(2)).state_dict())


def test_load_state_dict_with_another_shape_is_rejected():
    source = nt.optim.SGD(params(), momentum=0.9)
    source.step()
    target = nt.optim.SGD([nt.nn.Parameter(np.zeros((2, 2), np.float32))], momentum=0.9)
    with pytest.raises(ValueError, match=r"state\[0\]\['momentum_buffer'\] has shape \(3,\), but "
                                         r"its parameter has shape \(2, 2\)"):
        target.load_state_dict(source.state_dict())


def test_scheduler_needs_an_optimizer():
    with pytest.raises(TypeError, match="StepLR needs an nt.optim.Optimizer, got list"):
        nt.optim.lr_scheduler.StepLR(params(), step_size=3)


def test_resuming_a_scheduler_needs_initial_lr():
    with pytest.raises(KeyError, match="param_groups\\[0\\] has no 'initial_lr'"):
        nt.optim.lr_scheduler.StepLR(nt.optim.SGD(params()), step_size=3, last_epoch=5)


def test_scheduler_arguments_are_checked():
    optimizer = nt.optim.SGD(params())
    schedulers = nt.optim.lr_scheduler
    with pytest.raises(ValueError, match="0 < start_factor <= 1, got 0"):
        schedulers.LinearLR(optimizer, start_factor=0)
    with pytest.raises(ValueError, match="positive integer step_size, got 0"):
        schedulers.StepLR(optimizer, step_size=0)
    with pytest.raises(ValueError, match="one milestone fewer than schedulers, got 2 schedulers "
                                         "and 2 milestones"):
        schedulers.SequentialLR(optimizer, [schedulers.ExponentialLR(optimizer, 0.9)] * 2, [1, 2])
    with pytest.raises(ValueError, match="scheduler 0 \\(ExponentialLR\\) has another one"):
        schedulers.SequentialLR(optimizer, [schedulers.ExponentialLR(nt.optim.SGD(params()), 0.9)], [])
    with pytest.raises(ValueError, match="0 <= warmup_steps < total_steps, got warmup_steps=10, "
                                         "total_steps=10"):
        schedulers.warmup_cosine(optimizer, warmup_steps=10, total_steps=10)
    with pytest.raises(ValueError, match="LambdaLR expected 1 lr_lambdas"):
        schedulers.LambdaLR(optimizer, [lambda t: 1.0, lambda t: 1.0])


def test_one_cycle_lr_stepped_past_total_steps_raises():
    scheduler = nt.optim.lr_scheduler.OneCycleLR(nt.optim.SGD(params()), max_lr=0.1, total_steps=3)
    for _ in range(3):
        scheduler.step()
    with pytest.raises(ValueError, match="stepped 4 times, but total_steps is 3"):
        scheduler.step()
    with pytest.raises(ValueError, match="needs an optimizer with momentum or betas"):
        nt.optim.lr_scheduler.OneCycleLR(nt.optim.Optimizer(params(), {"lr": 0.1}), max_lr=0.1,
                                         total_steps=3)
