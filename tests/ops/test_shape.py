"""Shape and joining ops: values against numpy, shape rules (static and symbolic), build-time
errors, and derivatives (order 1 and 2, broadcasting included) against finite differences. The
broadcasting ops' values and errors are in test_broadcast.py."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit as gj
from graphjit.interp import evaluate
from graphjit.ops.shape_rules import fresh_copy
from graphjit.testing import gradcheck
from tests.ops.helpers import check_symbolic_derivatives, run

RNG = np.random.default_rng(0)


def rand(*shape: int, dtype: str = "float64") -> np.ndarray:
    return RNG.standard_normal(shape).astype(dtype)


def run_symbolic(fn, shape, a: np.ndarray) -> np.ndarray:
    """``fn`` built on a placeholder of (symbolic) ``shape``, evaluated at ``a``."""
    x = gj.placeholder("x", shape, a.dtype.name)
    out = fn(x)
    (value,) = evaluate([out], {x: a})
    assert len(out.shape) == value.ndim
    assert all(d is None or d == v for d, v in zip(out.shape, value.shape))
    return value


# --------------------------------------------------------------------------------------------------
# reshape


@pytest.mark.parametrize("dtype", ["float64", "float32", "int32", "bool"])
@pytest.mark.parametrize("shape", [(6, 4), (-1,), (2, -1, 3), (4, 3, 2), 24, (1, 24, 1)])
def test_reshape_matches_numpy(shape, dtype):
    a = (rand(2, 3, 4) * 3).astype(dtype)
    got = run(lambda x: gj.reshape(x, shape), a)
    np.testing.assert_array_equal(got, np.reshape(a, shape))
    np.testing.assert_array_equal(run(lambda x: x.reshape(shape), a), np.reshape(a, shape))


def test_reshape_errors_name_both_shapes():
    x = gj.placeholder("x", (2, 3))
    with pytest.raises(
        ValueError,
        match=r"reshape: cannot reshape an array of shape \(2, 3\) "
        r"into shape \(4, 2\)",
    ):
        gj.reshape(x, (4, 2))
    with pytest.raises(ValueError, match=r"into shape \(4, -1\)"):
        gj.reshape(x, (4, -1))
    with pytest.raises(ValueError, match="only one dim can be -1"):
        gj.reshape(x, (-1, -1))
    with pytest.raises(ValueError, match="at most one -1"):
        gj.reshape(x, (-2, 3))
    with pytest.raises(ValueError, match="use -1"):
        gj.reshape(x, (None, 3))
    with pytest.raises(ValueError, match=r"\(None, 3\) into shape \(4,\)"):
        gj.reshape(gj.placeholder("y", (None, 3)), (4,))


def test_reshape_symbolic():
    x = gj.placeholder("x", (None, 3, 4))
    assert gj.reshape(x, (-1,)).shape == (None,)
    assert gj.reshape(x, (-1, 12)).shape == (None, 12)
    assert gj.reshape(x, (2, -1, 6)).shape == (2, None, 6)
    assert gj.reshape(x, (24,)).shape == (24,)  # checked at call time
    assert gj.reshape(x, (-1, 3, 4)) is x
    assert gj.reshape(gj.placeholder("s", (2, 3)), (2, 3)).op.name == "placeholder"
    for n in [1, 3]:
        a = rand(n, 3, 4)
        np.testing.assert_array_equal(
            run_symbolic(lambda t: gj.reshape(t, (2, -1, 6)), (None, 3, 4), np.concatenate([a, a])),
            np.concatenate([a, a]).reshape(2, -1, 6),
        )
    with pytest.raises(ValueError, match="cannot reshape"):
        run_symbolic(lambda t: gj.reshape(t, (24,)), (None, 3, 4), rand(3, 3, 4))


def test_reshape_like():
    x, ref = gj.placeholder("x", (None, 6)), gj.placeholder("r", (None, 2, 3))
    y = gj.reshape_like(x, ref)
    assert y.shape == (None, 2, 3) and y.dtype == "float64"
    a = rand(4, 6)
    (got,) = evaluate([y], {x: a, ref: np.zeros((4, 2, 3))})
    np.testing.assert_array_equal(got, a.reshape(4, 2, 3))
    with pytest.raises(ValueError, match="reshape_like: cannot reshape"):
        gj.reshape_like(gj.placeholder("p", (2, 3)), gj.placeholder("q", (5,)))


# --------------------------------------------------------------------------------------------------
# transpose, swapaxes, moveaxis, expand_dims, squeeze


@pytest.mark.parametrize("axes", [None, (0, 1, 2), (2, 0, 1), (1, 0, 2), (-1, 0, -2)])
def test_transpose_matches_numpy(axes):
    a = rand(2, 3, 4)
    np.testing.assert_array_equal(run(lambda x: gj.transpose(x, axes), a), np.transpose(a, axes))
    np.testing.assert_array_equal(run(lambda x: x.T, a), a.T)


def test_transpose_family_and_errors():
    a = rand(2, 3, 4)
    np.testing.assert_array_equal(run(lambda x: gj.swapaxes(x, 0, -1), a), np.swapaxes(a, 0, -1))
    for src, dst in [(0, -1), (-1, 0), ((0, 1), (-1, -2)), ((2, 0), (0, 1))]:
        got = run(lambda x, s=src, d=dst: gj.moveaxis(x, s, d), a)
        np.testing.assert_array_equal(got, np.moveaxis(a, src, dst))
    x = gj.placeholder("x", (None, 3, "n"))
    assert gj.transpose(x).shape == ("n", 3, None)
    assert gj.transpose(x, (0, 1, 2)) is x
    with pytest.raises(ValueError, match=r"transpose: axes .* are not a permutation"):
        gj.transpose(x, (0, 0, 1))
    with pytest.raises(ValueError, match="transpose: axis 3 is out of range"):
        gj.transpose(x, (0, 1, 3))
    with pytest.raises(ValueError, match="moveaxis: repeated axis"):
        gj.moveaxis(x, (0, 0), (1, 2))


@pytest.mark.parametrize("axis", [0, 1, -1, 2, (0, 2), (-1, 0), (1, 2, 4)])
def test_expand_dims_matches_numpy(axis):
    a = rand(2, 3)
    np.testing.assert_array_equal(
        run(lambda x: gj.expand_dims(x, axis), a), np.expand_dims(a, axis)
    )


def test_expand_dims_errors():
    x = gj.placeholder("x", (2, 3))
    with pytest.raises(ValueError, match="expand_dims: axis 3 is out of range for an array of 3"):
        gj.expand_dims(x, 3)
    with pytest.raises(ValueError, match="expand_dims: repeated axis"):
        gj.expand_dims(x, (0, -4))
    assert gj.expand_dims(x, ()) is x


def test_squeeze():
    a = rand(1, 3, 1, 2)
    for axis in [None, 0, 2, -2, (0, 2)]:
        got = run(lambda x, ax=axis: gj.squeeze(x, ax), a)
        np.testing.assert_array_equal(got, np.squeeze(a, axis))
    x = gj.placeholder("x", (1, None, 3))
    assert gj.squeeze(x).shape == (None, 3)  # only the static 1 is squeezed
    assert gj.squeeze(x, 1).shape == (1, 3)  # naming a None dim squeezes it
    with pytest.raises(ValueError, match=r"squeeze: cannot squeeze axis 2 of shape \(1, None, 3\)"):
        gj.squeeze(x, 2)
    np.testing.assert_array_equal(
        run_symbolic(lambda t: gj.squeeze(t, 1), (1, None, 3), np.ones((1, 1, 3))), np.ones((1, 3))
    )
    with pytest.raises(ValueError):
        run_symbolic(lambda t: gj.squeeze(t, 1), (1, None, 3), np.ones((1, 2, 3)))
    assert gj.squeeze(gj.placeholder("y", (2, 3))).op.name == "placeholder"
    assert gj.expand_dims(x, dim=0).shape == (1, 1, None, 3)


# --------------------------------------------------------------------------------------------------
# concatenate, stack, split


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concatenate_and_stack_match_numpy(axis):
    a, b, c = rand(2, 3), rand(2, 3), rand(2, 3)
    got = run(lambda x, y, z: gj.concatenate([x, y, z], axis), a, b, c)
    np.testing.assert_array_equal(got, np.concatenate([a, b, c], axis))
    got = run(lambda x, y, z: gj.stack([x, y, z], axis), a, b, c)
    np.testing.assert_array_equal(got, np.stack([a, b, c], axis))
    got = run(lambda x, y: gj.concatenate((x, y), dim=axis), a, b)
    np.testing.assert_array_equal(got, np.concatenate([a, b], axis))


def test_concatenate_promotes_and_checks_shapes():
    a, b = np.arange(3, dtype=np.int32), rand(2)
    got = run(lambda x, y: gj.concatenate([x, y]), a, b)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, np.concatenate([a, b]))
    x, y = gj.placeholder("x", (2, 3)), gj.placeholder("y", (2, 4))
    assert gj.concatenate([x, y], 1).shape == (2, 7)
    with pytest.raises(ValueError, match=r"concatenate: input 1 has shape \(2, 4\).* axis 0"):
        gj.concatenate([x, y])
    with pytest.raises(ValueError, match="concatenate: axis 2 is out of range"):
        gj.concatenate([x, y], 2)
    with pytest.raises(ValueError, match="0-d arrays"):
        gj.concatenate([gj.placeholder("s", ()), gj.placeholder("t", ())])
    with pytest.raises(ValueError, match="stack: input 1 has shape"):
        gj.stack([x, y])
    assert gj.concatenate([x]) is x


def test_concatenate_symbolic():
    x, y = gj.placeholder("x", (None, 3)), gj.placeholder("y", (2, None))
    z = gj.concatenate([x, y])
    assert z.shape == (None, 3)
    assert gj.concatenate([x, y], 1).shape == (2, None)
    a, b = rand(4, 3), rand(2, 3)
    np.testing.assert_array_equal(evaluate([z], {x: a, y: b})[0], np.concatenate([a, b]))


@pytest.mark.parametrize("spec", [3, [1, 4], [2], [-2], [0, 0, 6], [4, 2]])
@pytest.mark.parametrize("axis", [0, -1])
def test_split_matches_numpy(spec, axis):
    a = rand(6, 6)
    x = gj.placeholder("x", a.shape)
    parts = gj.split(x, spec, axis)
    want = np.split(a, spec, axis)
    got = evaluate(parts, {x: a})
    assert len(got) == len(want)
    for p, g, w in zip(parts, got, want):
        np.testing.assert_array_equal(g, w)
        assert p.shape == w.shape


def test_split_errors_and_symbolic():
    x = gj.placeholder("x", (None, 5))
    with pytest.raises(ValueError, match="split: axis 1 of size 5 does not divide into 2"):
        gj.split(x, 2, 1)
    with pytest.raises(ValueError, match="no fixed size"):
        gj.split(x, 2)
    first, rest = gj.split(x, [1])
    assert first.shape == (None, 5) and rest.shape == (None, 5)
    a = rand(4, 5)
    f, r = evaluate([first, rest], {x: a})
    np.testing.assert_array_equal(f, a[:1])
    np.testing.assert_array_equal(r, a[1:])


# --------------------------------------------------------------------------------------------------
# slice_axes, flip, pad


SLICES = [
    (slice(1, None), slice(None, None, 2)),
    (slice(None, None, -1),),
    (slice(-2, None), slice(-1, 0, -1)),
    (slice(3, 1), slice(None)),  # empty
    (slice(10, -10, -2), slice(-100, 100, 3)),
    (slice(-10, None, -1), slice(1, 2)),  # empty: a negative step from before the start
    (slice(0, 1), slice(-1, None, -2)),
    ((1, 3, 1), None),
]


@pytest.mark.parametrize("slices", SLICES)
def test_slice_axes_matches_python_slicing(slices):
    a = rand(4, 5)
    index = tuple(slice(*s) if isinstance(s, tuple) else (s or slice(None)) for s in slices)
    want = a[index]
    np.testing.assert_array_equal(run(lambda x: gj.slice_axes(x, slices), a), want)
    np.testing.assert_array_equal(
        run_symbolic(lambda x: gj.slice_axes(x, slices), (None, None), a), want
    )


def test_slice_axes_shapes_and_canonical_form():
    x = gj.placeholder("x", (6, None, "n"))
    y = gj.slice_axes(x, [slice(1, 5, 2), slice(2, None), slice(None)])
    assert y.shape == (2, None, "n")
    assert gj.slice_axes(x, [slice(0, 6)]) is x
    assert gj.slice_axes(x, [slice(None, None, 1), (0, None, 1)]) is x
    assert gj.slice_axes(x, [slice(1, 100)]) is gj.slice_axes(x, [(1, 6, 1)])
    assert gj.slice_axes(x, [slice(None, None, -1)]) is gj.slice_axes(x, [slice(5, -100, -1)])
    assert gj.slice_axes(x, [slice(4, 2)]).shape == (0, None, "n")
    assert gj.slice_axes(x, [None, slice(3, 1)]).shape == (6, 0, "n")
    with pytest.raises(ValueError, match="slice step cannot be zero"):
        gj.slice_axes(x, [slice(None, None, 0)])
    with pytest.raises(ValueError, match="slice_axes: 4 slices"):
        gj.slice_axes(x, [None] * 4)
    with pytest.raises(TypeError, match="ints or None"):
        gj.slice_axes(x, [slice(0.5, 2)])
    with pytest.raises(ValueError, match=r"expected one .* triple per axis"):
        gj.ops.OPS["slice_axes"].infer(x.type, slices=((None, None, 1),))


@pytest.mark.parametrize("axis", [None, 0, -1, (0, 2)])
def test_flip_matches_numpy(axis):
    a = rand(2, 3, 4)
    np.testing.assert_array_equal(run(lambda x: gj.flip(x, axis), a), np.flip(a, axis))
    np.testing.assert_array_equal(
        run_symbolic(lambda x: gj.flip(x, axis), (None, 3, None), a), np.flip(a, axis)
    )


@pytest.mark.parametrize("width", [1, (1, 2), ((0, 1), (2, 0)), ((1,), (2,)), 0])
@pytest.mark.parametrize("dtype", ["float64", "float32", "int32"])
def test_pad_matches_numpy(width, dtype):
    a = (rand(2, 3) * 4).astype(dtype)
    got = run(lambda x: gj.pad(x, width, constant_values=3), a)
    want = np.pad(a, width, constant_values=3)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("mode", ["edge", "reflect", "symmetric", "wrap"])
@pytest.mark.parametrize("width", [1, ((1, 2), (0, 3)), ((0, 0), (5, 6)), ((4, 0), (1, 1))])
def test_pad_modes_that_gather_from_the_array_match_numpy(mode, width):
    """Widths beyond the axis's size reflect and wrap again, as numpy's."""
    a = rand(3, 4)
    np.testing.assert_array_equal(
        run(lambda x: gj.pad(x, width, mode=mode), a), np.pad(a, width, mode=mode)
    )
    x = gj.tensor(a, requires_grad=True)
    gj.pad(x, width, mode=mode).sum().backward()  # each element's gradient: how often it is read
    counts = np.pad(np.arange(12).reshape(3, 4), width, mode=mode)
    np.testing.assert_array_equal(x.grad.numpy().ravel(), np.bincount(counts.ravel(), minlength=12))


def test_pad_symbolic_and_errors():
    x = gj.placeholder("x", (None, 3))
    y = gj.pad(x, ((1, 2), (0, 1)))
    assert y.shape == (None, 4)
    a = rand(2, 3)
    np.testing.assert_array_equal(evaluate([y], {x: a})[0], np.pad(a, ((1, 2), (0, 1))))
    assert gj.pad(x, 0) is x
    with pytest.raises(ValueError, match="pad: mode 'reflect' needs the size of axis 0 fixed"):
        gj.pad(x, 1, mode="reflect")  # a None axis: numpy's indices need its size
    with pytest.raises(ValueError, match=r"pad: mode must be one of constant, edge, .*'mean'"):
        gj.pad(x, 1, mode="mean")
    with pytest.raises(ValueError, match="cannot extend the empty axis 0"):
        gj.pad(gj.placeholder("e", (0, 3)), 1, mode="wrap")
    with pytest.raises(ValueError, match=">= 0"):
        gj.pad(x, -1)
    with pytest.raises(ValueError, match="does not fit"):
        gj.pad(x, ((1, 2), (1, 2), (1, 2)))
    with pytest.raises(TypeError, match="pad_width must be ints"):
        gj.pad(x, 1.5)


def test_impls_return_fresh_arrays():
    a = rand(2, 3)
    ops = gj.ops.OPS
    outs = [
        ops["reshape"].impl(a, shape=(3, 2)),
        ops["transpose"].impl(a, axes=(1, 0)),
        ops["expand_dims"].impl(a, axes=(0,)),
        ops["squeeze"].impl(a[None], axes=(0,)),
        ops["slice_axes"].impl(a, slices=((None, None, 1), (0, 2, 1))),
        ops["broadcast_like"].impl(a[:1], a),
    ]
    for out in outs:
        assert isinstance(out, np.ndarray) and not np.shares_memory(out, a)
        assert out.flags.writeable


# --------------------------------------------------------------------------------------------------
# derivatives


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: gj.reshape(x, (4, 3)),
        lambda x: gj.reshape(x, (-1,)),
        lambda x: gj.transpose(x, (1, 2, 0)),
        lambda x: gj.swapaxes(x, 0, 2),
        lambda x: gj.moveaxis(x, 0, -1),
        lambda x: gj.expand_dims(x, (0, 3)),
        lambda x: gj.squeeze(gj.slice_axes(x, [None, (1, 2, 1)]), 1),
        lambda x: gj.broadcast_to(x, (3, 2, 3, 2)),
        lambda x: gj.broadcast_to(gj.sum(x, 1, keepdims=True), (2, 3, 2)),
        lambda x: gj.broadcast_like(gj.sum(x, 0), x),
        lambda x: gj.slice_axes(x, [(None, None, -1), (2, 0, -1), (1, None, 1)]),
        lambda x: gj.flip(x, (0, 2)),
        lambda x: gj.pad(x, ((1, 0), (0, 2), (1, 1)), constant_values=2.0),
        lambda x: gj.concatenate([x, x * x, gj.sin(x)], 1),
        lambda x: gj.stack([x, gj.exp(x)], -1),
        lambda x: gj.split(x, [1, -1], 1)[1] * gj.split(x, 3, 1)[0],
        lambda x: gj.reshape_like(gj.transpose(x), gj.zeros_like(x)) + gj.ones_like(x),
    ],
)
def test_shape_op_gradients(fn):
    gradcheck(lambda x: fn(x) ** 3, [rand(2, 3, 2)])


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: gj.reshape(x, (-1,)),
        lambda x: gj.reshape(x, (3, -1)),
        lambda x: gj.transpose(x),
        lambda x: gj.expand_dims(x, 1),
        lambda x: gj.squeeze(gj.slice_axes(x, [(0, 1, 1)]), 0),
        lambda x: gj.broadcast_to(x, (2, None, 3)),
        lambda x: gj.slice_axes(x, [(1, None, 1), (None, None, -2)]),
        lambda x: gj.slice_axes(x, [(-2, 0, -1)]),
        lambda x: gj.flip(x),
        lambda x: gj.pad(x, 1),
        lambda x: gj.concatenate([x, gj.sin(x), x * x]),
        lambda x: gj.concatenate([x, x * x], 1),
        lambda x: gj.stack([x, x * x]),
        lambda x: gj.split(x, [1, 3])[1] + gj.split(x, [-2])[1],
        lambda x: gj.broadcast_like(gj.max(x, 0, keepdims=True), x) * x,
    ],
)
def test_derivatives_over_unknown_dims(fn):
    check_symbolic_derivatives(fn, rand(4, 3), (None, 3))


def test_squeeze_of_unknown_dim_gradient():
    check_symbolic_derivatives(lambda x: gj.squeeze(x, 0) * 2.0, rand(1, 3), (None, 3))


def test_concatenate_gradient_on_unknown_axis_uses_call_time_sizes():
    x, y = gj.placeholder("x", (None, 2)), gj.placeholder("y", (None, 2))
    w = gj.placeholder("w", (None, 2))
    loss = gj.sum(gj.concatenate([x, y]) * w)
    gx, gy = gj.grad(loss, [x, y])
    assert gx.shape == (None, 2) and gy.shape == (None, 2)
    a, b, c = rand(3, 2), rand(1, 2), rand(4, 2)
    got_x, got_y = evaluate([gx, gy], {x: a, y: b, w: c})
    np.testing.assert_array_equal(got_x, c[:3])
    np.testing.assert_array_equal(got_y, c[3:])


# --------------------------------------------------------------------------------------------------
# the reference impls call ndarray methods: they give the arrays numpy's functions give


def _layouts() -> list[np.ndarray]:
    m = RNG.standard_normal((2, 3, 4))
    return [m, np.asfortranarray(m), m[:, ::-1, ::2].repeat(2, axis=2), m.astype(np.int8)]


@pytest.mark.parametrize("x", _layouts(), ids=["C", "F", "strided", "int8"])
def test_shape_impls_give_what_numpys_functions_give(x: np.ndarray) -> None:
    ops = gj.ops.OPS
    cases = [
        (ops["reshape"].impl(x, shape=(4, 6)), np.reshape(x, (4, 6))),
        (ops["reshape"].impl(x, shape=(-1,)), np.reshape(x, (-1,))),
        (ops["transpose"].impl(x, axes=(2, 0, 1)), np.transpose(x, (2, 0, 1))),
        (ops["expand_dims"].impl(x, axes=(0, 2, 5)), np.expand_dims(x, (0, 2, 5))),
        (ops["squeeze"].impl(x[:, :1, None], axes=(1, 2)), np.squeeze(x[:, :1, None], (1, 2))),
        (
            ops["broadcast_to"].impl(x[:, :1], shape=(3, 2, 5, 4)),
            np.broadcast_to(x[:, :1], (3, 2, 5, 4)),
        ),
        (
            ops["broadcast_to"].impl(x[:1, :1, :1], shape=(2, 3, 4)),
            np.broadcast_to(x[:1, :1, :1], (2, 3, 4)),
        ),
    ]
    for got, view in cases:
        want = np.array(view, copy=True)
        np.testing.assert_array_equal(got, want, strict=True)
        assert got.strides == want.strides  # the same memory layout, so later sums round alike
        assert not np.shares_memory(got, x) and got.flags.writeable


@pytest.mark.parametrize(
    "make",
    [lambda m: m, lambda m: m.T, lambda m: m[:, ::2], lambda m: m.transpose(1, 0, 2),
     lambda m: np.broadcast_to(m[:1], m.shape), lambda m: m.astype(np.int8)[::-1],
     lambda m: np.asarray(m[0, 0, 0]), lambda m: m[0, 0, 0], lambda m: m.tolist()],
)  # fmt: skip
def test_fresh_copy_is_numpys_copy(make) -> None:
    value = make(RNG.standard_normal((3, 4, 5)))
    got, want = fresh_copy(value), np.array(value, copy=True)
    np.testing.assert_array_equal(got, want, strict=True)
    assert type(got) is np.ndarray and got.strides == want.strides and got.flags.writeable
    if isinstance(value, np.ndarray):
        assert not np.shares_memory(got, value)
