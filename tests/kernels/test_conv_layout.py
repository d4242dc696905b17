"""The fast convolution's choice of internal layout (tests/kernels/test_fast_equals_reference.py
proves both layouts equal to the reference)."""
import numpy as np
import pytest

from numpy_transformer.kernels.cpu import conv
from numpy_transformer.nn.functional.windows import conv_geometry


@pytest.mark.parametrize("shape, out_channels, kwargs, layout", [
    ((2, 16, 6, 20), 8, dict(padding=1), "NHW"),          # long rows
    ((2, 16, 6, 6), 8, dict(padding=1), "HWN"),           # short rows, columns outweigh images
    ((2, 1, 12, 12), 16, dict(stride=2), "NHW"),          # one input channel: images outweigh
])
def test_layout_is_batch_last_only_for_short_rows_and_heavy_columns(shape, out_channels, kwargs, layout):
    w = np.zeros((out_channels, shape[1], 3, 3))
    geo = conv_geometry(shape, w.shape[2:], kwargs.get("stride", 1), kwargs.get("padding", 0), 1)
    assert conv._layout(geo, w, 1) == layout
