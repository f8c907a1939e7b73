"""Edge cases found by other projects' test suites: each refused with a message that says what
was expected, or differentiated as central differences say."""

from __future__ import annotations

import numpy as np
import pytest

import nn
from autodiff import Tensor

# ---------------------------------------------------------------- widths and strides


@pytest.mark.parametrize("padding", [-1, (0, -2), (-1, 0)])
def test_conv2d_refuses_negative_padding_widths(padding):
    x, w = Tensor(np.ones((1, 1, 5, 5))), Tensor(np.ones((1, 1, 3, 3)), requires_grad=True)
    with pytest.raises(ValueError, match=r"padding widths must be non-negative \(0 or more\)"):
        nn.conv2d(x, w, padding=padding)
    with pytest.raises(ValueError, match=r"padding widths must be non-negative"):
        nn.Conv2d(1, 1, 3, padding=padding)


@pytest.mark.parametrize(
    "make",
    [
        lambda: nn.Conv2d(1, 1, 3, stride=0),
        lambda: nn.Conv2d(1, 1, (3, 0)),
        lambda: nn.MaxPool2d(2, stride=(1, 0)),
        lambda: nn.max_pool2d(Tensor(np.ones((1, 1, 4, 4))), 0),
    ],
    ids=["conv stride 0", "conv kernel 0", "pool stride 0", "pool size 0"],
)
def test_kernel_sizes_and_strides_must_be_positive(make):
    with pytest.raises(ValueError, match=r"must be 1 or more, got"):
        make()
