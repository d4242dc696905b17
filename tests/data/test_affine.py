"""Affine warps of image batches: identity, whole-pixel shifts and quarter turns exact; others as torch's grid_sample."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from numpy_transformer.data import RandomAffine, affine_images, shift_images


def warp(x, angle=0.0, scale=1.0, dy=0.0, dx=0.0):
    """affine_images with the same amounts for every image."""
    n = x.shape[0]
    return affine_images(x, np.full(n, angle), np.full(n, scale), np.full(n, dy), np.full(n, dx))


def torch_warp(x, angle, scale, dy, dx):
    """The same warp by torch's affine_grid + grid_sample (square images, zeros outside)."""
    n, c, h, w = x.shape
    theta = np.deg2rad(angle)
    cos, sin = np.cos(theta) / scale, np.sin(theta) / scale   # [N] each
    a = np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], -2)  # [N, 2, 2]: output -> input
    shift = np.stack([2 * dx / w, 2 * dy / h], -1)[..., None]               # [N, 2, 1], normalised
    matrix = torch.from_numpy(np.concatenate([a, -a @ shift], -1))
    grid = torch.nn.functional.affine_grid(matrix, (n, c, h, w), align_corners=False)
    return torch.nn.functional.grid_sample(torch.from_numpy(x), grid, mode="bilinear",
                                           padding_mode="zeros", align_corners=False).numpy()


@pytest.mark.parametrize("shape", [(3, 5, 7), (2, 3, 6, 4)])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_the_identity_warp_returns_the_images_unchanged(shape, dtype):
    x = np.random.default_rng(0).integers(0, 256, shape).astype(dtype)
    y = warp(x)
    assert y.dtype == x.dtype and y.shape == x.shape
    np.testing.assert_array_equal(y, x)


@given(n=st.integers(1, 4), c=st.sampled_from([None, 1, 3]), h=st.integers(1, 7), w=st.integers(1, 7),
       seed=st.integers(0, 2**16))
def test_whole_pixel_moves_equal_shift_images(n, c, h, w, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, h, w) if c is None else (n, c, h, w)).astype(np.float32)
    dy, dx = rng.integers(-h - 1, h + 2, n), rng.integers(-w - 1, w + 2, n)
    moved = affine_images(x, np.zeros(n), np.ones(n), dy, dx)
    np.testing.assert_array_equal(moved, shift_images(x, dy, dx))


@pytest.mark.parametrize("turns", [1, 2, 3])
def test_quarter_turns_counter_clockwise_equal_rot90(turns):
    x = np.random.default_rng(1).integers(0, 256, (4, 2, 6, 6), dtype=np.uint8)
    np.testing.assert_array_equal(warp(x, angle=90 * turns), np.rot90(x, turns, axes=(-2, -1)))


def test_a_half_turn_of_an_oblong_image_reverses_both_axes():
    x = np.random.default_rng(6).standard_normal((2, 3, 5, 8)).astype(np.float32)
    np.testing.assert_allclose(warp(x, angle=180), x[..., ::-1, ::-1], atol=1e-5)


@settings(deadline=None, max_examples=30)
@given(n=st.integers(1, 3), c=st.integers(1, 3), side=st.integers(2, 12), seed=st.integers(0, 2**16))
def test_rotation_scale_and_shift_equal_torch_grid_sample(n, c, side, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, side, side))
    angle, scale = rng.uniform(-180, 180, n), rng.uniform(0.5, 1.5, n)
    dy, dx = rng.uniform(-2, 2, (2, n))
    y = affine_images(x, angle, scale, dy, dx)
    assert y.dtype == np.float64
    np.testing.assert_allclose(y, torch_warp(x, angle, scale, dy, dx), atol=1e-9)


def test_float32_images_stay_float32():
    x = np.random.default_rng(2).standard_normal((2, 8, 8)).astype(np.float32)
    assert warp(x, angle=17, scale=1.1).dtype == np.float32


def test_random_affine_draws_each_image_its_own_amounts_within_range():
    x = np.random.default_rng(3).integers(0, 256, (64, 1, 12, 15), dtype=np.uint8)
    transform = RandomAffine(degrees=15, translate=(0.1, 0.2), scale=(0.9, 1.1))
    y = transform(x, np.random.default_rng(4))
    draws = np.random.default_rng(4)
    angle, scale = draws.uniform(-15, 15, 64), draws.uniform(0.9, 1.1, 64)
    dx, dy = np.rint(draws.uniform(-1, 1, 64) * 1.5), np.rint(draws.uniform(-1, 1, 64) * 2.4)
    np.testing.assert_array_equal(y, affine_images(x, angle, scale, dy, dx))
    assert set(np.unique(dx)) == {-1, 0, 1} and set(np.unique(dy)) == {-2, -1, 0, 1, 2}
    np.testing.assert_array_equal(y, transform(x, np.random.default_rng(4)))
    assert not np.array_equal(y, transform(x, np.random.default_rng(5)))


def test_random_affine_with_a_fixed_range_is_that_warp():
    x = np.random.default_rng(5).standard_normal((3, 9, 9)).astype(np.float32)
    y = RandomAffine(degrees=(30, 30), scale=(1.25, 1.25))(x, np.random.default_rng(0))
    np.testing.assert_array_equal(y, warp(x, angle=30, scale=1.25))
    np.testing.assert_array_equal(RandomAffine(0)(x, np.random.default_rng(0)), x)


def test_random_affine_names_its_mistakes():
    with pytest.raises(ValueError, match=r"RandomAffine degrees must be >= 0 as a single number, got -5"):
        RandomAffine(-5)
    with pytest.raises(ValueError, match=r"RandomAffine degrees must be a pair \(low, high\) with low <= high"):
        RandomAffine((10, -10))
    with pytest.raises(ValueError, match=r"RandomAffine translate must be two fractions in \[0, 1\], got \(0.5, 2\)"):
        RandomAffine(0, translate=(0.5, 2))
    with pytest.raises(ValueError, match=r"RandomAffine translate must be two fractions in \[0, 1\], got 0.1"):
        RandomAffine(0, translate=0.1)
    with pytest.raises(ValueError, match=r"RandomAffine degrees must be a number or a pair \(low, high\), got None"):
        RandomAffine(None)
    with pytest.raises(ValueError, match=r"RandomAffine scale must be positive, got \(0, 1\)"):
        RandomAffine(0, scale=(0, 1))
    with pytest.raises(ValueError, match=r"RandomAffine expects images \[N, H, W\] or \[N, C, H, W\], got shape \(4, 64\)"):
        RandomAffine(10)(np.zeros((4, 64)))


def test_affine_images_takes_one_amount_for_all_or_one_per_image():
    x = np.random.default_rng(7).standard_normal((3, 6, 6))
    np.testing.assert_array_equal(affine_images(x, 30, 1.1, 1, -1), warp(x, 30, 1.1, 1, -1))
    with pytest.raises(ValueError, match=r"affine_images angle must be one number or one per image \(3\), got shape \(2,\)"):
        affine_images(x, [10, 20], 1, 0, 0)
    with pytest.raises(ValueError, match=r"affine_images expects images \[N, H, W\] or \[N, C, H, W\], got shape \(3, 36\)"):
        affine_images(x.reshape(3, 36), 0, 1, 0, 0)
