"""PyTorch rules graphjit follows where numpy differs, pinned as values (no torch needed): the
comparison tests against an installed torch check them too, for the PyTorch versions that keep
them."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit as gj


@pytest.mark.parametrize(
    ("args", "want"),
    [
        ((0, 4.5), [0, 1, 2, 3]),
        ((0.9, 3), [0, 1, 2]),
        ((0, 5, 1.5), [0, 1, 2, 3, 4]),
        ((0, 5, 2.5), [0, 2, 4]),
        ((-2.5, 3.7, 1.2), [-2, -1, 0, 1, 2]),
        ((0, -3.5, -1.5), [0, -1, -2]),
    ],
)
def test_integer_arange_truncates_its_arguments_first(args: tuple, want: list[int]) -> None:
    got = gj.arange(*args, dtype="int64")
    assert got.dtype == "int64"
    assert got.tolist() == want


def test_clamp_passes_the_gradient_at_the_bounds() -> None:
    x = gj.tensor(np.array([-1.0, -0.5, 0.0, 0.5, 1.0]), requires_grad=True)
    x.clamp(-0.5, 0.5).sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 1.0, 1.0, 0.0]
