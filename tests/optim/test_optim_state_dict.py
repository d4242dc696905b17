"""State dicts: torch's structure, JSON-able scalars, and a resumed run equal bit for bit to a
straight one."""
import json

import numpy as np
import pytest
import torch

import numpy_transformer as nt
from optim_twins import gradient_sequence, twin_parameters

SHAPES = ((4, 3), (6,))
SETUPS = {
    "SGD nesterov + warmup_cosine": (
        lambda ps: nt.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-2),
        lambda opt: nt.optim.lr_scheduler.warmup_cosine(opt, warmup_steps=5, total_steps=20)),
    "Adam amsgrad + StepLR": (
        lambda ps: nt.optim.Adam(ps, lr=0.01, amsgrad=True),
        lambda opt: nt.optim.lr_scheduler.StepLR(opt, step_size=4, gamma=0.5)),
    "AdamW + OneCycleLR (cycles beta1)": (
        lambda ps: nt.optim.AdamW(ps, lr=0.01),
        lambda opt: nt.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.05, total_steps=20)),
    "RMSprop centered momentum + MultiStepLR": (
        lambda ps: nt.optim.RMSprop(ps, lr=0.01, momentum=0.5, centered=True),
        lambda opt: nt.optim.lr_scheduler.MultiStepLR(opt, milestones=[3, 12, 12])),
}


def through_checkpoint(state_dict):
    """What a checkpoint keeps: arrays as arrays (copied), everything else through JSON."""
    arrays = {}

    def split(value):
        if isinstance(value, np.ndarray):
            arrays[str(len(arrays))] = value.copy()
            return {"__array__": str(len(arrays) - 1)}
        if isinstance(value, dict):
            return {key: split(v) for key, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [split(v) for v in value]
        return value

    def join(value):
        if isinstance(value, dict):
            return arrays[value["__array__"]] if "__array__" in value else {
                key: join(v) for key, v in value.items()}
        if isinstance(value, list):
            return [join(v) for v in value]
        return value

    return join(json.loads(json.dumps(split(state_dict))))


def train(setup, params, grads, optimizer=None, scheduler=None):
    make_optimizer, make_scheduler = SETUPS[setup]
    optimizer = optimizer or make_optimizer(params)
    scheduler = scheduler or make_scheduler(optimizer)
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad[...] = g
        optimizer.step()
        scheduler.step()
    return optimizer, scheduler


@pytest.mark.parametrize("setup", list(SETUPS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_resuming_from_a_state_dict_continues_bit_identically(setup, dtype):
    grads = gradient_sequence(SHAPES, 20, dtype, seed=7)
    straight, _ = twin_parameters(SHAPES, dtype, 0)
    train(setup, straight, grads)

    first, _ = twin_parameters(SHAPES, dtype, 0)
    optimizer, scheduler = train(setup, first, grads[:10])
    saved = through_checkpoint({"optimizer": optimizer.state_dict(),
                                "scheduler": scheduler.state_dict(),
                                "weights": [p.data for p in first]})
    train(setup, first, grads[:3], optimizer, scheduler)   # the saved copy must not change

    resumed = [nt.nn.Parameter(w) for w in saved["weights"]]
    make_optimizer, make_scheduler = SETUPS[setup]
    optimizer = make_optimizer(resumed)
    scheduler = make_scheduler(optimizer)
    optimizer.load_state_dict(saved["optimizer"])
    scheduler.load_state_dict(saved["scheduler"])
    train(setup, resumed, grads[10:], optimizer, scheduler)
    for i, (p, q) in enumerate(zip(resumed, straight)):
        assert p.data.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(p.data, q.data, err_msg=f"{setup}: parameter {i}")


def test_state_dict_has_torchs_structure():
    ours, theirs = twin_parameters(SHAPES, np.float64, 0)
    optimizer = nt.optim.Adam([{"params": [ours[0]]}, {"params": [ours[1]], "lr": 0.1}], amsgrad=True)
    twin = torch.optim.Adam([{"params": [theirs[0]]}, {"params": [theirs[1]], "lr": 0.1}], amsgrad=True)
    for p, t in zip(ours, theirs):
        p.grad[...] = 1.0
        t.grad = torch.ones_like(t)
    optimizer.step()
    twin.step()
    state, expected = optimizer.state_dict(), twin.state_dict()
    assert [g["params"] for g in state["param_groups"]] == [g["params"] for g in expected["param_groups"]]
    assert set(state["state"]) == set(expected["state"])
    for index, entry in state["state"].items():
        assert set(entry) == set(expected["state"][index])
        np.testing.assert_allclose(entry["exp_avg"], expected["state"][index]["exp_avg"].numpy())
        assert entry["step"] == float(expected["state"][index]["step"])


def test_state_dict_arrays_are_copies():
    param = nt.nn.Parameter(np.ones(3))
    optimizer = nt.optim.SGD([param], lr=0.1, momentum=0.9)
    param.grad[...] = 1.0
    optimizer.step()
    saved = optimizer.state_dict()["state"][0]["momentum_buffer"]
    optimizer.step()
    np.testing.assert_array_equal(saved, np.ones(3))


def test_loading_casts_state_to_the_parameters_dtype():
    source = nt.nn.Parameter(np.ones(3))
    optimizer = nt.optim.Adam([source])
    source.grad[...] = 0.5
    optimizer.step()
    target = nt.nn.Parameter(np.ones(3, np.float32))
    resumed = nt.optim.Adam([target])
    resumed.load_state_dict(optimizer.state_dict())
    assert all(resumed.state[target][k].dtype == np.float32 for k in ("exp_avg", "exp_avg_sq"))
    assert resumed.state[target]["step"] == 1
