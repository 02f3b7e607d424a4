"""atleast_1d/2d/3d, hstack, vstack, row_stack, dstack, column_stack, array_split, hsplit, vsplit,
dsplit: values and shapes against numpy, None dims, errors and gradients."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit as gj
from graphjit.testing import gradcheck
from tests.ops.helpers import run

RNG = np.random.default_rng(3)


def rand(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape)


@pytest.mark.parametrize("name", ["atleast_1d", "atleast_2d", "atleast_3d"])
@pytest.mark.parametrize("shape", [(), (3,), (2, 3), (2, 3, 4)])
def test_atleast_matches_numpy(name, shape):
    x = rand(*shape)
    want = getattr(np, name)(x)
    got = getattr(gj, name)(gj.tensor(x))
    assert got.shape == want.shape
    np.testing.assert_array_equal(got.numpy(), want)
    both = getattr(gj, name)(gj.tensor(x), gj.tensor(rand(2)))
    assert [b.shape for b in both] == [w.shape for w in getattr(np, name)(x, rand(2))]


@pytest.mark.parametrize(
    ("name", "shapes"),
    [
        ("hstack", [(3,), (2,)]),
        ("hstack", [(2, 3), (2, 1)]),
        ("hstack", [(2, 1, 3), (2, 2, 3)]),
        ("vstack", [(3,), (3,)]),
        ("vstack", [(1, 3), (3,)]),
        ("row_stack", [(2, 3, 2), (1, 3, 2)]),
        ("dstack", [(3,), (3,)]),
        ("dstack", [(2, 3), (2, 3, 2)]),
        ("column_stack", [(3,), (3, 2)]),
        ("column_stack", [(2, 3, 1), (2, 1, 1)]),
    ],
)
def test_stacks_match_numpy(name, shapes):
    xs = [rand(*s) for s in shapes]
    ref = np.vstack if name == "row_stack" else getattr(np, name)
    want = ref(xs)
    got = run(lambda *ps: getattr(gj, name)(list(ps)), *xs)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(getattr(gj, name)([gj.tensor(x) for x in xs]).numpy(), want)


def test_column_stack_mixes_vectors_and_matrices():
    a, b = rand(3), rand(3, 2)
    np.testing.assert_array_equal(
        run(lambda p, q: gj.column_stack([p, q]), a, b), np.column_stack([a, b])
    )


@pytest.mark.parametrize(
    ("name", "shape", "spec"),
    [
        ("array_split", (7, 2), 3),
        ("array_split", (7, 2), [2, 5]),
        ("array_split", (2, 3), 5),
        ("hsplit", (2, 4), 2),
        ("hsplit", (6,), [1, 4]),
        ("vsplit", (4, 2), 2),
        ("dsplit", (1, 2, 4), [3]),
    ],
)
def test_splits_match_numpy(name, shape, spec):
    x = rand(*shape)
    want = getattr(np, name)(x, spec)
    got = getattr(gj, name)(gj.tensor(x), spec)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g.numpy(), w)
    ph = gj.placeholder("x", shape)
    assert [tuple(p.shape) for p in getattr(gj, name)(ph, spec)] == [w.shape for w in want]


def test_split_points_work_on_none_dims_and_sections_need_fixed_sizes():
    x = gj.placeholder("x", (None, 4))
    assert [p.shape for p in gj.array_split(x, [1])] == [(None, 4), (None, 4)]  # 0 or 1 rows
    assert [p.shape for p in gj.array_split(x, 3, axis=1)] == [(None, 2), (None, 1), (None, 1)]
    with pytest.raises(ValueError, match="has no fixed size"):
        gj.array_split(x, 2)
    with pytest.raises(ValueError, match="does not divide into 3 sections"):
        gj.hsplit(x, 3)
    with pytest.raises(ValueError, match="at least 2 dims"):
        gj.vsplit(gj.tensor(rand(3)), 3)
    with pytest.raises(ValueError, match="at least 3 dims"):
        gj.dsplit(x, 2)
    with pytest.raises(ValueError, match="must be > 0"):
        gj.array_split(gj.tensor(rand(3)), 0)
    with pytest.raises(TypeError, match="a single array"):
        gj.hstack(gj.tensor(rand(3)))


def test_gradients():
    a, b = rand(2, 3), rand(3)
    gradcheck(lambda p, q: gj.vstack([p, q]) ** 2, [a, b])
    gradcheck(lambda p, q: gj.column_stack([q, p.T]) ** 2, [a, b])
    gradcheck(lambda p: gj.dstack([p, p * 2]) ** 2, [a])
    gradcheck(lambda p: gj.array_split(p, 2, axis=1)[0] ** 2 + gj.hsplit(p, [1])[0], [a])
