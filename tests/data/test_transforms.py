"""Batch transforms: shapes, dtypes, and shifts/crops checked against a per-image reference."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import numpy_transformer as nt
from numpy_transformer.data import (Compose, Flatten, Normalize, RandomCrop, RandomShift, ToFloat,
                                    crop_images, shift_images)


def reference_shift(image, dy, dx):
    """One image moved down dy and right dx, zeros shifted in (a per-image loop, for checking)."""
    out = np.zeros_like(image)
    h, w = image.shape[-2:]
    dy, dx = int(np.clip(dy, -h, h)), int(np.clip(dx, -w, w))  # shifted right out: all zeros
    out[..., max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        image[..., max(-dy, 0):h - max(dy, 0), max(-dx, 0):w - max(dx, 0)]
    return out


def test_shift_moves_a_single_pixel_by_the_given_offsets():
    images = np.zeros((3, 5, 5), np.uint8)
    images[:, 2, 2] = 9
    shifted = shift_images(images, dy=[1, -2, 0], dx=[0, 2, -1])
    assert [tuple(np.argwhere(s)[0]) for s in shifted] == [(3, 2), (0, 4), (2, 1)]
    assert shifted.dtype == np.uint8 and shifted.shape == images.shape and shifted.sum() == 27


@given(n=st.integers(1, 4), c=st.sampled_from([None, 1, 3]), h=st.integers(1, 6), w=st.integers(1, 6),
       m=st.integers(0, 3), seed=st.integers(0, 2**16))
def test_shift_matches_the_per_image_reference(n, c, h, w, m, seed):
    rng = np.random.default_rng(seed)
    images = rng.standard_normal((n, h, w) if c is None else (n, c, h, w)).astype(np.float32)
    dy, dx = rng.integers(-m, m + 1, size=(2, n))
    shifted = shift_images(images, dy, dx)
    assert shifted.dtype == np.float32 and shifted.shape == images.shape
    for i in range(n):
        np.testing.assert_array_equal(shifted[i], reference_shift(images[i], dy[i], dx[i]))


def test_random_shift_draws_each_image_its_own_offset_within_range():
    images = np.zeros((200, 1, 9, 9), np.uint8)
    images[:, 0, 4, 4] = 1
    shifted = RandomShift(2)(images, np.random.default_rng(0))
    where = np.argwhere(shifted[:, 0])  # [200, 3]: image, row, column of the pixel
    assert len(where) == 200 and shifted.shape == images.shape
    offsets = where[:, 1:] - 4
    assert offsets.min() == -2 and offsets.max() == 2
    assert len(np.unique(offsets, axis=0)) == 25  # all 5 x 5 offsets occur
    np.testing.assert_array_equal(shifted, RandomShift(2)(images, np.random.default_rng(0)))
    np.testing.assert_array_equal(RandomShift(0)(images, np.random.default_rng(0)), images)


def test_random_shift_without_rng_uses_its_generator_or_the_library_one():
    images = np.arange(2 * 6 * 6, dtype=np.float32).reshape(2, 6, 6)
    a = RandomShift(2, generator=np.random.default_rng(5))(images)
    b = RandomShift(2)(images, np.random.default_rng(5))
    nt.manual_seed(1)
    c = RandomShift(2)(images)
    nt.manual_seed(1)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(c, RandomShift(2)(images))


def test_random_crop_cuts_each_image_at_its_own_position_in_the_padded_image():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (6, 3, 8, 8), dtype=np.uint8)
    crops = RandomCrop(6, padding=2)(images, np.random.default_rng(1))
    draws = np.random.default_rng(1)
    top, left = draws.integers(0, 7, size=6), draws.integers(0, 7, size=6)
    padded = np.pad(images, [(0, 0), (0, 0), (2, 2), (2, 2)])
    assert crops.shape == (6, 3, 6, 6) and crops.dtype == np.uint8
    for i in range(6):
        np.testing.assert_array_equal(crops[i], padded[i, :, top[i]:top[i] + 6, left[i]:left[i] + 6])
    np.testing.assert_array_equal(crop_images(images, np.zeros(6, int), np.zeros(6, int), (8, 8)), images)
    with pytest.raises(ValueError, match=r"RandomCrop of size \(13, 13\) does not fit .* padded by 2"):
        RandomCrop(13, padding=2)(images, rng)


def test_image_transforms_reject_other_ranks():
    with pytest.raises(ValueError, match=r"RandomShift expects images \[N, H, W\] or \[N, C, H, W\], got shape \(4, 64\)"):
        RandomShift(1)(np.zeros((4, 64)))


def test_to_float_scales_to_float32_by_default():
    x = np.array([[0, 255], [51, 102]], np.uint8)
    y = ToFloat()(x)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, [[0, 1], [0.2, 0.4]], rtol=1e-6)
    assert ToFloat(1 / 16, dtype=np.float64)(x).dtype == np.float64
    nt.set_default_dtype(np.float64)
    try:
        assert ToFloat()(x).dtype == np.float64
    finally:
        nt.set_default_dtype(np.float32)


def test_normalize_keeps_float32_and_applies_per_channel_values_on_axis_1():
    x = np.ones((2, 3, 4, 4), np.float32)
    y = Normalize([1.0, 0.0, 3.0], [1.0, 2.0, 4.0])(x)
    assert y.dtype == np.float32 and y.shape == x.shape
    assert y[:, 0].max() == 0 and y[:, 1].min() == 0.5 and y[:, 2].min() == -0.5
    z = Normalize(0.1307, 0.3081)(np.zeros((2, 28, 28), np.float32))
    assert z.dtype == np.float32 and z[0, 0, 0] == pytest.approx(-0.1307 / 0.3081, rel=1e-6)
    np.testing.assert_array_equal(x, 1)  # input untouched


def test_normalize_names_its_mistakes():
    with pytest.raises(TypeError, match=r"Normalize needs floating input, got uint8 .* put ToFloat\(\) before it"):
        Normalize(0.5, 0.5)(np.zeros((2, 3, 3), np.uint8))
    with pytest.raises(ValueError, match=r"3 channel values but the batch has shape \(2, 1, 3, 3\)"):
        Normalize([0, 0, 0], [1, 1, 1])(np.zeros((2, 1, 3, 3), np.float32))


def test_compose_pipeline_gives_flat_normalised_float32_batches():
    pipeline = Compose([RandomShift(2), ToFloat(), Normalize(0.1307, 0.3081), Flatten()])
    x = np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8)
    y = pipeline(x, np.random.default_rng(3))
    assert y.shape == (5, 784) and y.dtype == np.float32
    np.testing.assert_array_equal(y, pipeline(x, np.random.default_rng(3)))
    assert Flatten(2)(np.zeros((2, 3, 4, 5))).shape == (2, 3, 20)
