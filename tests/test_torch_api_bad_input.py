"""Bad input to the PyTorch-style functions and Tensor methods, with PyTorch as the oracle:
where torch raises, graphjit raises a clear exception naming the function; where torch returns,
values, dtypes and gradients agree; a failed in-place op leaves the tensor as it was (values,
dtype, version and autograd history)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import graphjit as gj
from graphjit.errors import TensorUsageError

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(5)
M34 = RNG.standard_normal((3, 4))
M23 = RNG.standard_normal((2, 3))
M32 = RNG.standard_normal((3, 2))
M42 = RNG.standard_normal((4, 2))
M22 = RNG.standard_normal((2, 2))
B223 = RNG.standard_normal((2, 2, 3))
B232 = RNG.standard_normal((2, 3, 2))
B332 = RNG.standard_normal((3, 3, 2))
V2, V3, V4, V12 = (RNG.standard_normal(n) for n in (2, 3, 4, 12))
I34 = RNG.integers(-3, 4, (3, 4))
PROBS = np.array([0.0, 0.2, 0.5, 0.9, 1.0])
TRUE34 = np.ones((3, 4), dtype=bool)


def _i(*values: Any) -> np.ndarray:
    return np.array(values, dtype=np.int64)


def _lift(lib: Any, a: Any) -> Any:
    return lib.tensor(a) if isinstance(a, np.ndarray) else a


def _np(t: Any) -> np.ndarray:
    return np.asarray(t.detach().numpy() if isinstance(t, torch.Tensor) else t.numpy())


def _lib(t: Any) -> Any:
    return torch if isinstance(t, torch.Tensor) else gj


def _dtype(t: Any) -> str:
    return str(t.dtype).removeprefix("torch.")


# (name, fn(lib, *inputs), inputs, graphjit's exception, a pattern its message matches):
# torch raises, and graphjit raises that, naming the function
RAISES: list[tuple[str, Callable[..., Any], list[Any], type[Exception], str]] = [
    # products: inner dims, batch counts, ranks, the input's shape
    ("bmm inner", lambda m, a, b: m.bmm(a, b), [B223, B223], ValueError, "do not align"),
    ("bmm batch", lambda m, a, b: m.bmm(a, b), [B223, B332], ValueError, "bmm: the batch"),
    ("bmm rank", lambda m, a, b: m.bmm(a, b), [M23, M32], ValueError, "bmm: input must be"),
    ("mv inner", lambda m, a, v: m.mv(a, v), [M23, V4], ValueError, "do not align"),
    ("mv vec rank", lambda m, a, v: m.mv(a, v), [M23, M32], ValueError, "mv: vec must be"),
    ("mv mat rank", lambda m, a, v: m.mv(a, v), [V3, V3], ValueError, "mv: input must be"),
    ("ger rank", lambda m, a, b: m.ger(a, b), [M23, V3], ValueError, "ger: input must be"),
    ("addr rank", lambda m, c, a, b: m.addr(c, a, b), [M23, M22, V3], ValueError, "addr: vec1"),
    ("addr input", lambda m, c, a, b: m.addr(c, a, b), [M34, V2, V3], ValueError, "addr: input"),
    ("addmm inner", lambda m, c, a, b: m.addmm(c, a, b), [M22, M23, M42], ValueError, "align"),
    ("addmm input", lambda m, c, a, b: m.addmm(c, a, b), [M32, M23, M32], ValueError, "addmm: in"),
    ("addmm 1-D", lambda m, c, a, b: m.addmm(c, a, b), [M22, V3, V3], ValueError, "addmm: mat1"),
    ("addmv input", lambda m, c, a, v: m.addmv(c, a, v), [V3, M23, V3], ValueError, "addmv: in"),
    ("addbmm batch", lambda m, c, a, b: m.addbmm(c, a, b), [M22, B223, B332], ValueError, "bmm"),
    ("baddbmm input", lambda m, c, a, b: m.baddbmm(c, a, b), [B332, B223, B232], ValueError, "bad"),
    ("chain_matmul inner", lambda m, a, b: m.chain_matmul(a, b), [M23, M23], ValueError, "align"),
    ("chain_matmul rank", lambda m, a, b: m.chain_matmul(a, b), [M23, V3], ValueError, "chain"),
    ("chain_matmul none", lambda m: m.chain_matmul(), [], ValueError, "chain_matmul"),
    (
        "addmm float alpha, int inputs",
        lambda m, c, a, b: m.addr(c, a, b, alpha=0.5),
        [_i([1, 2], [3, 4]), _i(1, 2), _i(3, 4)],
        TypeError,
        "addr: for integer inputs, alpha",
    ),
    ("dist p string", lambda m, a, b: m.dist(a, b, "fro"), [M23, V3], TypeError, "dist: p"),
    # norms
    ("norm p string", lambda m, a: m.norm(a, "abc"), [M34], ValueError, "norm: p='abc'"),
    ("norm int input", lambda m, a: m.norm(a), [I34], TypeError, "norm: expects a floating"),
    ("norm dim", lambda m, a: m.norm(a, 2, dim=2), [M34], ValueError, "norm: axis 2"),
    ("renorm p 0", lambda m, a: m.renorm(a, 0, 0, 1.0), [M34], ValueError, "renorm: p must be >"),
    ("renorm p < 0", lambda m, a: m.renorm(a, -1, 0, 1.0), [M34], ValueError, "renorm: p must"),
    ("renorm p str", lambda m, a: m.renorm(a, "fro", 0, 1.0), [M34], TypeError, "renorm: p must"),
    ("renorm maxnorm", lambda m, a: m.renorm(a, 2, 0, "1"), [M34], TypeError, "renorm: maxnorm"),
    ("renorm maxnorm < 0", lambda m, a: m.renorm(a, 2, 0, -1.0), [M34], ValueError, "maxnorm"),
    ("unbind dim", lambda m, a: m.unbind(a, 2), [M34], ValueError, "unbind: axis 2"),
    # elementwise
    ("logit eps string", lambda m, a: m.logit(a, "x"), [PROBS], TypeError, "logit: eps"),
    ("addcdiv ints", lambda m, a, b, c: m.addcdiv(a, b, c), [_i(1), _i(1), _i(1)], TypeError, "ad"),
    ("clamp_min shape", lambda m, a, b: m.clamp_min(a, b), [V3, V4], ValueError, "clamp"),
    # gathers and scatters: dims, indices out of range or of a float dtype, shapes
    ("gather dim", lambda m, a, i: m.gather(a, 2, i), [M34, _i([0])], ValueError, "gather: axis"),
    ("gather index", lambda m, a, i: m.gather(a, 1, i), [M34, _i([4])], IndexError, "index 4"),
    ("gather index -5", lambda m, a, i: m.gather(a, 1, i), [M34, _i([-5])], IndexError, "-5"),
    ("gather float", lambda m, a, i: m.gather(a, 1, i), [M34, M34], TypeError, "gather: index"),
    ("gather rank", lambda m, a, i: m.gather(a, 1, i), [M34, _i(0)], ValueError, "gather: index"),
    (
        "scatter index",
        lambda m, a, i, s: m.scatter(a, 1, i, s),
        [M34, _i([4]), M34],
        IndexError,
        "4",
    ),
    ("scatter float", lambda m, a, i, s: m.scatter(a, 1, i, s), [M34, M34, M34], TypeError, "ter:"),
    (
        "scatter src",
        lambda m, a, i, s: m.scatter(a, 1, i, s),
        [M34, _i([0], [1]), V2[None]],
        IndexError,
        "scatter: index has size 2",
    ),
    (
        "scatter_add index",
        lambda m, a, i, s: m.scatter_add(a, 0, i, s),
        [M34, _i([3]), M34],
        IndexError,
        "index 3",
    ),
    (
        "scatter_reduce maximum",
        lambda m, a, i, s: m.scatter_reduce(a, 1, i, s, "maximum"),
        [M34, _i([0]), M34],
        ValueError,
        "scatter_reduce: reduce must be",
    ),
    (
        "scatter_reduce index",
        lambda m, a, i, s: m.scatter_reduce(a, 1, i, s, "sum"),
        [M34, _i([0, 4]), M34],
        IndexError,
        "scatter_reduce: an index is out of range",
    ),
    (
        "scatter_reduce index -5",
        lambda m, a, i, s: m.scatter_reduce(a, 1, i, s, "amax"),
        [M34, _i([-5, 0]), M34],
        IndexError,
        "scatter_reduce: an index is out of range",
    ),
    (
        "scatter_reduce float",
        lambda m, a, i, s: m.scatter_reduce(a, 1, i, s, "sum"),
        [M34, M34, M34],
        TypeError,
        "scatter_reduce: index",
    ),
    (
        "scatter_reduce dim",
        lambda m, a, i, s: m.scatter_reduce(a, 2, i, s, "sum"),
        [M34, _i([0]), M34],
        ValueError,
        "scatter_reduce: axis 2",
    ),
    ("index_select index", lambda m, a, i: m.index_select(a, 1, i), [M34, _i(4)], IndexError, "4"),
    ("index_select 2-D", lambda m, a, i: m.index_select(a, 1, i), [M34, _i([0])], ValueError, "in"),
    ("index_select float", lambda m, a, i: m.index_select(a, 0, i), [M34, V2], TypeError, "index_"),
    (
        "take_along_dim rank",
        lambda m, a, i: m.take_along_dim(a, i, 1),
        [M34, _i(0)],
        ValueError,
        "take_along",
    ),
    ("index_fill index", lambda m, a, i: m.index_fill(a, 1, i, 1.0), [M34, _i(4)], IndexError, "4"),
    ("index_fill float", lambda m, a, i: m.index_fill(a, 1, i, 1.0), [M34, V2], TypeError, "fill"),
    (
        "index_fill value",
        lambda m, a, i, v: m.index_fill(a, 1, i, v),
        [M34, _i(0), V2],
        ValueError,
        "index_fill: value",
    ),
    (
        "index_copy index",
        lambda m, a, i, s: m.index_copy(a, 1, i, s),
        [M34, _i(0, 4), M32],
        IndexError,
        "index 4",
    ),
    (
        "index_copy float",
        lambda m, a, i, s: m.index_copy(a, 1, i, s),
        [M34, V2, M32],
        TypeError,
        "index_copy: index",
    ),
    (
        "index_copy too few",
        lambda m, a, i, s: m.index_copy(a, 1, i, s),
        [M34, _i(0, 1, 2), M32],
        IndexError,
        r"index_copy: the number of indices \(3\)",
    ),
    (
        "index_copy too many",
        lambda m, a, i, s: m.index_copy(a, 0, i, s),
        [M34, _i(0), M34],
        IndexError,
        r"index_copy: the number of indices \(1\)",
    ),
    (
        "index_copy slice",
        lambda m, a, i, s: m.index_copy(a, 1, i, s),
        [M34, _i(0, 1), M22],
        ValueError,
        "index_copy: source of shape",
    ),
    (
        "index_copy rank",
        lambda m, a, i, s: m.index_copy(a, 1, i, s),
        [M34, _i(0), B232],
        ValueError,
        "index_copy: source must have",
    ),
    (
        "index_add count",
        lambda m, a, i, s: m.index_add(a, 1, i, s),
        [M34, _i(0), M32],
        IndexError,
        "index_add: the number of indices",
    ),
    (
        "index_add slice",
        lambda m, a, i, s: m.index_add(a, 1, i, s),
        [M34, _i(0, 1), M22],
        ValueError,
        "index_add: source of shape",
    ),
    (
        "index_put index",
        lambda m, a, i, v: m.index_put(a, (i,), v),
        [M34, _i(0, 3), V4],
        IndexError,
        "index_put: an index is out of range",
    ),
    (
        "index_put index -4",
        lambda m, a, i, v: m.index_put(a, (i,), v),
        [M34, _i(0, -4), V4],
        IndexError,
        "index_put: an index is out of range",
    ),
    (
        "index_put accumulate",
        lambda m, a, i, v: m.index_put(a, (i,), v, True),
        [M34, _i(-4), V4],
        IndexError,
        "index_put: an index is out of range",
    ),
    (
        "index_put float",
        lambda m, a, i, v: m.index_put(a, (i,), v),
        [M34, V2, V4],
        TypeError,
        "index_put: index",
    ),
    (
        "index_put too many",
        lambda m, a, i, v: m.index_put(a, (i, i, i), v),
        [M34, _i(0), V4],
        IndexError,
        "index_put: 3 indices",
    ),
    # masks
    (
        "masked_fill int mask",
        lambda m, a, k: m.masked_fill(a, k, 1.0),
        [M34, I34],
        TypeError,
        "masked_fill: mask must be bool",
    ),
    (
        "masked_fill value",
        lambda m, a, k, v: m.masked_fill(a, k, v),
        [M34, TRUE34, V4],
        ValueError,
        "masked_fill: value must be",
    ),
    (
        "masked_scatter int mask",
        lambda m, a, k, s: m.masked_scatter(a, k, s),
        [M34, I34, V12],
        TypeError,
        "masked_scatter: mask must be bool",
    ),
    (
        "masked_scatter mask",
        lambda m, a, k, s: m.masked_scatter(a, k, s),
        [M34, TRUE34[:, :3], V12],
        ValueError,
        "masked_scatter: mask of shape",
    ),
    (
        "masked_scatter short",
        lambda m, a, k, s: m.masked_scatter(a, k, s),
        [M34, TRUE34, V4],
        IndexError,
        "masked_scatter: source has fewer",
    ),
    (
        "masked_scatter empty",
        lambda m, a, k, s: m.masked_scatter(a, k, s),
        [M34, TRUE34, V4[:0]],
        IndexError,
        "masked_scatter: source has fewer",
    ),
    # new tensors and conversions
    ("new_full string", lambda m, a: a.new_full((2,), "a"), [M22], TypeError, "new_full: fill"),
    ("new_full None", lambda m, a: a.new_full((2,), None), [M22], TypeError, "new_full: fill"),
    ("new_full list", lambda m, a: a.new_full((2,), [1, 2]), [M22], TypeError, "new_full: fill"),
    ("new_full 1-D", lambda m, a, v: a.new_full((2,), v), [M22, V2], TypeError, "new_full: fill"),
    ("new_zeros size", lambda m, a: a.new_zeros(-1, 2), [M22], ValueError, "dimension 0"),
    ("type_as array", lambda m, a: a.type_as(I34), [M22], TypeError, "type_as: other must be"),
    ("type_as number", lambda m, a: a.type_as(1.0), [M22], TypeError, "type_as: other must be"),
    ("type_as None", lambda m, a: a.type_as(None), [M22], TypeError, "type_as: other must be"),
]


@pytest.mark.parametrize(("fn", "inputs", "exc", "match"),
                         [pytest.param(*c[1:], id=c[0]) for c in RAISES])  # fmt: skip
def test_refused_as_torch_refuses(fn: Any, inputs: list[Any], exc: Any, match: str) -> None:
    with pytest.raises((RuntimeError, TypeError, ValueError, IndexError)):
        fn(torch, *[_lift(torch, a) for a in inputs])
    with pytest.raises(exc, match=match):
        fn(gj, *[_lift(gj, a) for a in inputs])


def test_scatter_reduce_refuses_max_up_front() -> None:
    """torch.scatter_reduce's forward takes "max" (its backward then refuses it); graphjit
    refuses it at once, naming the reductions it has."""
    args = (1, _i([0, 0]), M22[:1], "max")
    theirs = torch.tensor(M34, requires_grad=True)
    out = torch.scatter_reduce(theirs, *[_lift(torch, a) for a in args])
    with pytest.raises(RuntimeError, match="amax"):
        out.sum().backward()
    with pytest.raises(ValueError, match=r"scatter_reduce: reduce must be one of .*'amax'"):
        gj.scatter_reduce(gj.tensor(M34), *[_lift(gj, a) for a in args])


INT22 = _i([1, 2], [3, 4])
FLOAT_SCALES = [
    ("addmm alpha", lambda c: gj.addmm(c, c, c, alpha=0.5), "addmm: for integer inputs, alpha"),
    ("addmm beta", lambda c: gj.addmm(c, c, c, beta=0.5), "addmm: for integer inputs, beta"),
    ("addmv", lambda c: gj.addmv(c[0], c, c[1], alpha=1.5), "addmv: for integer inputs, alpha"),
    ("baddbmm", lambda c: gj.baddbmm(c, c[None], c[None], beta=np.float64(2)), "baddbmm: for"),
    ("addcmul", lambda c: gj.addcmul(c, c, c, value=0.5), "addcmul: for integer inputs, value"),
]


@pytest.mark.parametrize(("fn", "match"), [pytest.param(*c[1:], id=c[0]) for c in FLOAT_SCALES])
def test_float_scale_for_integer_inputs_is_refused(fn: Any, match: str) -> None:
    """PyTorch's documented rule (alpha, beta and value are integers for integer tensors):
    torch.addr refuses a float, torch.addmm and torch.addcmul truncate it to an integer. graphjit
    refuses it in all of them rather than return either a truncated or a promoted result."""
    with pytest.raises(TypeError, match=match):
        fn(gj.tensor(INT22))
    np.testing.assert_array_equal(gj.addmm(gj.tensor(INT22), INT22, INT22, alpha=2).numpy(),
                                  INT22 + 2 * INT22 @ INT22)  # fmt: skip


# (name, fn(lib, *inputs), inputs): awkward input that torch accepts; graphjit gives the same
# values and dtype, and (float inputs) the same gradients
SAME: list[tuple[str, Callable[..., Any], list[Any]]] = [
    ("addr input broadcast", lambda m, c, a, b: m.addr(c, a, b), [V3, V2, V3]),
    ("baddbmm input broadcast", lambda m, c, a, b: m.baddbmm(c, a, b), [M22[:1], B223, B232]),
    (
        "addmm beta 0 ignores nan",
        lambda m, c, a, b: m.addmm(c, a, b, beta=0),
        [np.full((2, 2), np.nan), M23, M32],
    ),
    (
        "addmm int alpha",
        lambda m, c, a, b: m.addmm(c, a, b, alpha=2),
        [_i([1, 2], [3, 4]), _i([1, 2], [3, 4]), _i([0, 1], [1, 0])],
    ),
    ("bmm empty batch", lambda m, a, b: m.bmm(a, b), [B223[:0], B232[:0]]),
    ("dist p 0", lambda m, a, b: m.dist(a.detach(), b.detach(), 0), [M23, V3]),  # no gradient
    ("dist p -1", lambda m, a, b: m.dist(a, b, -1), [M23, V3 + 3]),
    ("dist p inf", lambda m, a, b: m.dist(a, b, float("inf")), [M23, V3]),
    ("norm p 0", lambda m, a: m.norm(a.detach(), 0), [M34]),
    ("norm p -inf", lambda m, a: m.norm(a, float("-inf"), dim=1), [M34]),
    ("norm p 0.5", lambda m, a: m.norm(a, 0.5, dim=0), [M34]),
    ("norm p None", lambda m, a: m.norm(a, None), [M34]),
    ("renorm p inf", lambda m, a: m.renorm(a, float("inf"), 0, 1.0), [M34]),
    ("logit eps > 0.5", lambda m, a: m.logit(a, 0.7), [PROBS]),
    ("logit eps 0.5", lambda m, a: m.logit(a, 0.5), [PROBS]),
    ("logit eps < 0", lambda m, a: m.logit(a, -0.1), [PROBS[1:-1]]),
    ("logit eps 0", lambda m, a: m.logit(a, 0.0), [PROBS[1:-1]]),
    ("logit eps 0 at 0 and 1", lambda m, a: m.logit(a.detach(), 0.0), [PROBS]),
    (
        "index_add 0-d index",
        lambda m, a, i, s: m.index_add(a, 1, i, s),
        [M34, np.array(2), M32[:, :1]],
    ),
    ("index_fill negative", lambda m, a, i: m.index_fill(a, 1, i, 2.0), [M34, _i(0, -1)]),
    ("index_put negative", lambda m, a, i, v: m.index_put(a, (i,), v), [M34, _i(0, -1), V4]),
    ("take_along_dim negative", lambda m, a, i: m.take_along_dim(a, i, 1), [M34, _i([0, -1])]),
    (
        "masked_fill mask broadcasts up",
        lambda m, a, k: m.masked_fill(a, k, 1.0),
        [M34, np.ones((2, 3, 4), dtype=bool)],
    ),
    ("masked_fill int, float value", lambda m, a, k: m.masked_fill(a, k, 1.5), [I34, TRUE34]),
    ("index_fill int, float value", lambda m, a, i: m.index_fill(a, 1, i, 1.5), [I34, _i(0, 1)]),
    (
        "masked_scatter 2-D source",
        lambda m, a, k, s: m.masked_scatter(a, k, s),
        [M34, TRUE34, V12.reshape(4, 3)],
    ),
    (
        "masked_scatter extra source",
        lambda m, a, k, s: m.masked_scatter(a, k, s),
        [M34, M34 > 0, np.concatenate([V12, V12])],
    ),
    (
        "masked_scatter empty source",
        lambda m, a, k, s: m.masked_scatter(a, k, s),
        [M34, ~TRUE34, V4[:0]],
    ),
    ("new_full 0-d tensor", lambda m, a, v: a.new_full((2,), v), [M22, np.array(3)]),
    ("new_full float into int", lambda m, a: a.new_full((2,), 1.7), [I34]),
    ("type_as int tensor", lambda m, a, b: a.type_as(b), [M22, I34]),
]


def _grads(lib: Any, fn: Any, inputs: list[Any]) -> tuple[Any, list[Any]]:
    ts = [_lift(lib, a) for a in inputs]
    floats = [t for t in ts if hasattr(t, "requires_grad_") and _dtype(t) == "float64"]
    for t in floats:
        t.requires_grad_(True)
    out = fn(lib, *ts)
    grads: list[Any] = []
    if floats and out.requires_grad:
        torch_like = lib is torch
        w = lib.tensor(np.arange(np.prod(out.shape), dtype=np.float64).reshape(tuple(out.shape)))
        (out * w).sum().backward()
        grads = [np.zeros(t.shape) if t.grad is None else _np(t.grad) for t in floats]
        assert torch_like or grads  # graphjit's backward ran
    return out, grads


@pytest.mark.parametrize(("fn", "inputs"), [pytest.param(*c[1:], id=c[0]) for c in SAME])
def test_accepted_as_torch_accepts(fn: Any, inputs: list[Any]) -> None:
    expected, expected_grads = _grads(torch, fn, inputs)
    got, got_grads = _grads(gj, fn, inputs)
    assert _dtype(got) == _dtype(expected)
    np.testing.assert_allclose(_np(got), _np(expected), rtol=1e-12, atol=1e-12)
    assert len(got_grads) == len(expected_grads)
    for g, e in zip(got_grads, expected_grads):
        np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-12)


# graphjit's own documented rule, where torch refuses: a negative index counts from the end
# (numpy's rule) in every gather and scatter, scatter_reduce included
NEGATIVE = [
    ("gather", lambda m, a, i: m.gather(a, 1, i), [M34, _i([0, -1], [-4, 2])]),
    ("scatter_add", lambda m, a, i, s: m.scatter_add(a, 1, i, s), [M34, _i([0, -1]), M32.T]),
    (
        "scatter_reduce",
        lambda m, a, i, s: m.scatter_reduce(a, 1, i, s, "amax"),
        [M34, _i([-1, -1], [0, -3]), M22],
    ),
    ("index_select", lambda m, a, i: m.index_select(a, 1, i), [M34, _i(-1, 0)]),
    ("index_copy", lambda m, a, i, s: m.index_copy(a, 1, i, s), [M34, _i(-1, 0), M32]),
]


@pytest.mark.parametrize(("fn", "inputs"), [pytest.param(*c[1:], id=c[0]) for c in NEGATIVE])
def test_negative_indices_count_from_the_end(fn: Any, inputs: list[Any]) -> None:
    wrapped = [np.where(a < 0, a + 4, a) if a.dtype == np.int64 else a for a in inputs]
    expected = fn(torch, *[_lift(torch, a) for a in wrapped])
    np.testing.assert_allclose(_np(fn(gj, *[_lift(gj, a) for a in inputs])), _np(expected))


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
def test_out_of_range_indices_raise_when_a_compiled_graph_runs(backend: str) -> None:
    x = gj.placeholder("x", (3, 4))
    i = gj.placeholder("i", (1, 2), dtype="int64")
    f = gj.compile([x, i], [gj.scatter_reduce(x, 1, i, x[:1, :2], "sum")], backend=backend)
    (ok,) = f(M34, _i([0, -1]))
    expected = torch.tensor(M34).scatter_reduce(
        1, torch.tensor(_i([0, 3])), torch.tensor(M34[:1, :2]), "sum"
    )
    np.testing.assert_allclose(ok, expected.numpy())
    for bad in (_i([0, 4]), _i([-5, 0])):
        with pytest.raises(IndexError, match="out of bounds"):
            f(M34, bad)
    j = gj.placeholder("j", (2,), dtype="int64")
    g = gj.compile([x, j], [gj.index_put(x, (j,), gj.ones(4))], backend=backend)
    with pytest.raises(IndexError, match="out of bounds"):
        g(M34, _i(0, -4))


# in-place: (name, method call, self, args); torch refuses, graphjit raises the exception given
# and leaves the tensor as it was
IN_PLACE_REFUSED: list[tuple[str, Callable[..., Any], Any, list[Any], type[Exception], str]] = [
    ("int += float", lambda s, o: s.__iadd__(o), I34, [M34], TypeError, "add_: cannot store"),
    ("int add_ 1.5", lambda s: s.add_(1.5), I34, [], TypeError, "add_: cannot store float64"),
    ("int div_ int", lambda s, o: s.div_(o), I34, [I34], TypeError, "div_: cannot store"),
    ("int sqrt_", lambda s: s.sqrt_(), I34, [], TypeError, "sqrt_: cannot store"),
    ("int clamp_min_ 0.5", lambda s: s.clamp_min_(0.5), I34, [], TypeError, "clamp_min_: cannot"),
    ("int addcmul_ float", lambda s, a, b: s.addcmul_(a, b), I34, [M34, M34], TypeError, "add"),
    (
        "int addmm_ float",
        lambda s, a, b: s.addmm_(a, b),
        _i([1, 2], [3, 4]),
        [M23, M32],
        TypeError,
        "addmm_: cannot store",
    ),
    ("bool add_ int", lambda s, o: s.add_(o), TRUE34, [I34], TypeError, "add_: cannot store int"),
    ("add_ broadcasts self", lambda s, o: s.add_(o), V4, [M34], ValueError, "add_: a value of"),
    ("mul_ broadcasts self", lambda s, o: s.mul_(o), M34[:1], [M34], ValueError, "mul_: a value"),
    ("0-d add_ 1-D", lambda s, o: s.add_(o), np.array(1.0), [V2[:1]], ValueError, "add_: a val"),
    (
        "addmm_ broadcasts self",
        lambda s, a, b: s.addmm_(a, b),
        M22[:1],
        [M23, M32],
        ValueError,
        "addmm_: a value of shape",
    ),
    ("lerp_ broadcasts self", lambda s, o: s.lerp_(o, 0.5), V4, [M34], ValueError, "lerp_: a v"),
    (
        "masked_fill_ bigger mask",
        lambda s, k: s.masked_fill_(k, 1.0),
        M34,
        [np.ones((2, 3, 4), dtype=bool)],
        ValueError,
        "masked_fill_: a value of shape",
    ),
    ("copy_ shape", lambda s, o: s.copy_(o), M34, [M23], ValueError, "copy_: a value of shape"),
    ("fill_ 1-D", lambda s, v: s.fill_(v), M34, [V4], ValueError, "fill_: value must be"),
    ("fill_ string", lambda s: s.fill_("a"), M34, [], TypeError, "fill_: value must be"),
    (
        "index_copy_ index",
        lambda s, i, src: s.index_copy_(1, i, src),
        M34,
        [_i(0, 4), M32],
        IndexError,
        "index 4",
    ),
    (
        "index_copy_ count",
        lambda s, i, src: s.index_copy_(1, i, src),
        M34,
        [_i(0), M32],
        IndexError,
        "index_copy: the number of indices",
    ),
    (
        "index_put_ index -4",
        lambda s, i, v: s.index_put_((i,), v),
        M34,
        [_i(0, -4), V4],
        IndexError,
        "index_put: an index is out of range",
    ),
    ("index_fill_ index", lambda s, i: s.index_fill_(1, i, 1.0), M34, [_i(4)], IndexError, "4"),
    (
        "index_add_ index",
        lambda s, i, src: s.index_add_(1, i, src),
        M34,
        [_i(0, 4), M32],
        IndexError,
        "index 4",
    ),
    (
        "scatter_ index",
        lambda s, i, src: s.scatter_(1, i, src),
        M34,
        [_i([0, 4]), M22],
        IndexError,
        "index 4",
    ),
    (
        "scatter_reduce_ index",
        lambda s, i, src: s.scatter_reduce_(1, i, src, "sum"),
        M34,
        [_i([0, 4]), M22],
        IndexError,
        "scatter_reduce: an index is out of range",
    ),
    (
        "scatter_reduce_ reduce",
        lambda s, i, src: s.scatter_reduce_(1, i, src, "add"),
        M34,
        [_i([0, 1]), M22],
        ValueError,
        "scatter_reduce: reduce must be",
    ),
    (
        "masked_scatter_ short",
        lambda s, k, src: s.masked_scatter_(k, src),
        M34,
        [TRUE34, V4],
        IndexError,
        "masked_scatter: source has fewer",
    ),
    ("renorm_ p 0", lambda s: s.renorm_(0, 0, 1.0), M34, [], ValueError, "renorm: p must be >"),
]


def _in_place_cases(tracked: bool) -> list[Any]:
    cases = [pytest.param(*c[1:], id=c[0]) for c in IN_PLACE_REFUSED]
    if tracked:  # only float tensors are on the tape
        cases = [c for c, raw in zip(cases, IN_PLACE_REFUSED) if raw[2].dtype == np.float64]
    return cases


@pytest.mark.parametrize(("call", "self_", "args", "exc", "match"), _in_place_cases(False))
def test_refused_in_place_leaves_the_tensor_as_it_was(
    call: Any, self_: Any, args: list[Any], exc: Any, match: str
) -> None:
    theirs = torch.tensor(self_)
    with pytest.raises((RuntimeError, TypeError, ValueError, IndexError)):
        call(theirs, *[_lift(torch, a) for a in args])
    ours = gj.tensor(self_.copy())
    version = ours._version
    with pytest.raises(exc, match=match):
        call(ours, *[_lift(gj, a) for a in args])
    assert ours.dtype == str(self_.dtype)
    np.testing.assert_array_equal(ours.numpy(), self_)
    assert ours._version == version


@pytest.mark.parametrize(("call", "self_", "args", "exc", "match"), _in_place_cases(True))
def test_refused_in_place_keeps_the_tape(
    call: Any, self_: Any, args: list[Any], exc: Any, match: str
) -> None:
    """On a tensor with autograd history: the history and the value survive the failed op, and
    backward gives the gradient of the ops before it."""
    leaf = gj.tensor(self_, requires_grad=True)
    t = leaf * 2
    entry = t._ctx
    with pytest.raises(exc, match=match):
        call(t, *[_lift(gj, a) for a in args])
    assert t._ctx is entry and t.requires_grad
    np.testing.assert_array_equal(t.detach().numpy(), 2 * self_)
    t.sum().backward()
    np.testing.assert_array_equal(leaf.grad.numpy(), np.full(self_.shape, 2.0))


def test_int_tensor_in_place_with_a_tensor_that_requires_grad() -> None:
    """An int tensor cannot take a float result, even on the tape (it used to be truncated)."""
    ours = gj.tensor(_i(1, 2, 3))
    with pytest.raises(TypeError, match="add_: cannot store float64 values in a int64 tensor"):
        ours.add_(gj.tensor([0.5, 0.5, 0.5], requires_grad=True))
    assert ours.tolist() == [1, 2, 3]
    assert not ours.requires_grad and ours.grad_fn is None
    with pytest.raises(RuntimeError):
        torch.tensor([1, 2, 3]).add_(torch.tensor([0.5, 0.5, 0.5], requires_grad=True))


LEAF_CALLS = [
    ("add_", lambda s: s.add_(1.0)),
    ("mul_", lambda s: s.mul_(2.0)),
    ("exp_", lambda s: s.exp_()),
    ("zero_", lambda s: s.zero_()),
    ("fill_", lambda s: s.fill_(1.0)),
    ("copy_", lambda s: s.copy_(s.detach() + 1)),
    ("clamp_", lambda s: s.clamp_(0, 1)),
    ("+=", lambda s: s.__iadd__(1.0)),
    ("index_fill_", lambda s: s.index_fill_(0, _lift(_lib(s), _i(0)), 1.0)),
    ("masked_fill_", lambda s: s.masked_fill_(s.detach() > 0, 1.0)),
    ("addcmul_", lambda s: s.addcmul_(s.detach(), s.detach())),
    ("scatter_reduce_", lambda s: s.scatter_reduce_(0, _lift(_lib(s), _i(0)), s.detach(), "sum")),
]  # fmt: skip


@pytest.mark.parametrize("call", [pytest.param(c, id=n) for n, c in LEAF_CALLS])
def test_in_place_on_a_leaf_that_requires_grad(call: Any) -> None:
    theirs = torch.tensor(V3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        call(theirs)
    ours = gj.tensor(V3, requires_grad=True)
    with pytest.raises(TensorUsageError, match="a leaf tensor that requires grad"):
        call(ours)
    np.testing.assert_array_equal(ours.detach().numpy(), V3)
    assert ours.grad_fn is None and ours.requires_grad
    with gj.no_grad():  # an optimiser step may
        call(ours)
    assert not np.array_equal(ours.detach().numpy(), V3)


IN_PLACE_SAME = [
    ("f32 add_ f64", lambda s, o: s.add_(o), M34.astype(np.float32), [M34]),
    ("int32 add_ int64", lambda s, o: s.add_(o), I34.astype(np.int32), [I34]),
    ("int fill_ 1.5", lambda s: s.fill_(1.5), I34, []),
    ("bool fill_ 2", lambda s: s.fill_(2), TRUE34, []),
    ("fill_ 0-d tensor", lambda s, v: s.fill_(v), M34, [np.array(2.5)]),
    ("int copy_ float", lambda s, o: s.copy_(o), I34, [M34]),
    ("copy_ broadcasts", lambda s, o: s.copy_(o), M34, [V4]),
    ("add_ broadcasts other", lambda s, o: s.add_(o), M34, [V4]),
    ("int index_fill_ 1.5", lambda s, i: s.index_fill_(1, i, 1.5), I34, [_i(0, 1)]),
]


@pytest.mark.parametrize(("call", "self_", "args"),
                         [pytest.param(*c[1:], id=c[0]) for c in IN_PLACE_SAME])  # fmt: skip
def test_in_place_accepted_as_torch_accepts(call: Any, self_: Any, args: list[Any]) -> None:
    theirs = torch.tensor(self_)
    call(theirs, *[_lift(torch, a) for a in args])
    ours = gj.tensor(self_.copy())
    assert call(ours, *[_lift(gj, a) for a in args]) is ours
    assert ours.dtype == _dtype(theirs)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


def test_fill_with_a_0d_tensor_on_the_tape() -> None:
    value = gj.tensor(2.0, requires_grad=True)
    t = gj.tensor(V3, requires_grad=True) * 1
    t.fill_(value)
    (t * gj.tensor([1.0, 2.0, 3.0])).sum().backward()
    theirs_value = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    theirs = torch.tensor(V3, requires_grad=True) * 1
    theirs.fill_(theirs_value)
    (theirs * torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)).sum().backward()
    assert value.grad.item() == theirs_value.grad.item() == 6.0


def test_register_hook_bad_input() -> None:
    with pytest.raises(RuntimeError, match="does"):
        torch.tensor(V3).register_hook(lambda g: g)
    with pytest.raises(TensorUsageError, match="register_hook: cannot register"):
        gj.tensor(V3).register_hook(lambda g: g)
    with pytest.raises(TypeError, match="register_hook: hook must be callable"):
        gj.tensor(V3, requires_grad=True).register_hook(3)
    for lib in (torch, gj):  # a hook that changes the gradient's shape, on a leaf and not
        leaf = lib.tensor(V3, requires_grad=True)
        mid = leaf * 2
        mid.register_hook(lambda g: g[:2])
        with pytest.raises((RuntimeError, ValueError), match=r"size|shape"):
            (mid * 3).sum().backward()
        leaf.register_hook(lambda g: g.sum())
        with pytest.raises((RuntimeError, ValueError), match=r"size|shape"):
            (leaf * 3).sum().backward()
        assert leaf.grad is None


def test_scatter_reduce_gradient_with_negative_indices() -> None:
    index = _i([-1, 0], [2, -1])
    got = gj.tensor(M34, requires_grad=True)
    src = gj.tensor(M22, requires_grad=True)
    gj.scatter_reduce(got, 1, gj.tensor(index), src, "prod").sum().backward()
    theirs = torch.tensor(M34, requires_grad=True)
    theirs_src = torch.tensor(M22, requires_grad=True)
    wrapped = torch.tensor(np.where(index < 0, index + 4, index))
    torch.scatter_reduce(theirs, 1, wrapped, theirs_src, "prod").sum().backward()
    np.testing.assert_allclose(got.grad.numpy(), theirs.grad.numpy())
    np.testing.assert_allclose(src.grad.numpy(), theirs_src.grad.numpy())


# --------------------------------------------------------------------------------------------------
# numbers that do not fit the dtype they are stored in: numpy's errors, never a silent wrap


@pytest.mark.parametrize(
    ("dtype", "value", "error"),
    [
        (np.int32, 2**40, gj.IntegerOutOfRangeError),
        (np.int64, float("nan"), ValueError),
        (np.int64, float("inf"), gj.IntegerOutOfRangeError),
        (np.float64, 1 + 5j, TypeError),
    ],
)
def test_assigning_or_filling_a_number_that_does_not_fit_raises(
    dtype: type, value: object, error: type
) -> None:
    t = gj.tensor(np.array([1, 2], dtype=dtype))
    with pytest.raises(error):
        t[0] = value
    with pytest.raises(error):
        t.fill_(value)
    np.testing.assert_array_equal(t.numpy(), np.array([1, 2], dtype=dtype))  # nothing written


def test_assigning_an_integer_array_that_does_not_fit_raises() -> None:
    t = gj.tensor(np.array([1, 2], dtype=np.int32))
    with pytest.raises(gj.IntegerOutOfRangeError, match="2147483648 does not fit in int32"):
        t[:] = np.array([2**31, 1])
    t[:] = np.array([7, -7], dtype=np.int64)  # values that fit are stored, as numpy stores them
    t[0] = 2.9  # a float into ints truncates, as in numpy and PyTorch
    assert t.tolist() == [2, -7]


def test_set_value_refuses_integers_that_do_not_fit_the_variable() -> None:
    w = gj.variable(np.zeros(3, dtype=np.int32), name="w")
    with pytest.raises(gj.IntegerOutOfRangeError, match=r"variable 'w'.*1099511627776"):
        w.set_value([2**40, 2, 3])
    with pytest.raises(gj.IntegerOutOfRangeError, match="-2147483649"):
        w.set_value(np.array([-(2**31) - 1, 2, 3]))
    np.testing.assert_array_equal(w.get_value(), [0, 0, 0])
    w.set_value(np.array([5, 6, 7], dtype=np.int64))
    np.testing.assert_array_equal(w.get_value(), [5, 6, 7])


_F = gj.nn.functional
_IMAGE, _KERNEL = np.ones((1, 1, 5, 5)), np.ones((1, 1, 3, 3))


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: _F.conv2d(gj.tensor(_IMAGE), gj.tensor(_KERNEL), stride=1.5), TypeError,
         "conv2d: stride must be an int or 2 ints, got 1.5"),
        (lambda: _F.conv2d(gj.tensor(_IMAGE), gj.tensor(_KERNEL), padding=1.0), TypeError,
         "conv2d: padding must be an int"),
        (lambda: _F.max_pool1d(gj.tensor(np.ones((1, 1, 5))), 2, stride=2**63), ValueError,
         "max_pool1d: stride must be below"),
        (lambda: _F.unfold(gj.tensor(_IMAGE), 2, stride=2**63), ValueError,
         "unfold: stride must be below"),
        (lambda: _F.interpolate(gj.tensor(np.ones((1, 1, 4))), scale_factor=float("nan")),
         ValueError, "scale_factor must be positive and finite"),
        (lambda: _F.interpolate(gj.tensor(np.ones((1, 1, 4))), scale_factor=float("inf")),
         ValueError, "scale_factor must be positive and finite"),
        (lambda: _F.embedding(gj.tensor([0, 1]), gj.tensor(np.ones((5, 3))), padding_idx=7),
         ValueError, "padding_idx 7 is out of range for 5 embeddings"),
    ],
)  # fmt: skip
def test_bad_layer_arguments_raise_naming_the_function_and_argument(
    call: Callable[[], Any], error: type, match: str
) -> None:
    with pytest.raises(error, match=match):
        call()


def test_a_grad_that_is_not_a_tensor_of_the_tensors_shape_is_refused() -> None:
    p = gj.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(TypeError, match="assigned grad expected to be a Tensor or None"):
        p.grad = np.ones(3)  # type: ignore[assignment]
    with pytest.raises(RuntimeError, match=r"assigned grad has shape \(2,\)"):
        p.grad = gj.tensor(np.ones(2))
    p.grad = gj.tensor(np.ones(3))
    gj.optim.SGD([p], lr=0.5).step()
    assert p.tolist() == [0.5, 0.5, 0.5]


def test_a_scatter_source_smaller_than_the_index_is_named_as_the_source() -> None:
    with pytest.raises(IndexError, match="index has size 3 on dim 0, the source only 1"):
        gj.scatter_add(gj.tensor(np.zeros(3)), 0, gj.tensor([0, 1, 2]), gj.tensor([1.0]))
    index = gj.tensor(np.zeros((2, 3), dtype=np.int64))  # wider than the input on dim 1
    with pytest.raises(IndexError, match="index has size 3 on dim 1, the input only 2"):
        gj.scatter_add(gj.tensor(np.zeros((3, 2))), 0, index, gj.tensor(np.ones((2, 3))))


def test_a_size_1_source_facing_a_size_known_only_when_run_is_refused_when_built() -> None:
    """PyTorch refuses a source of the wrong size; a graph's scatter would broadcast a size-1
    source over an index whose length is known only when it runs (no check can see it then)."""
    x = gj.placeholder("x", (4, 3))
    index = gj.placeholder("index", (None,), "int64")
    one_row = gj.placeholder("one_row", (1, 3))
    with pytest.raises(ValueError, match="index_add: the source has size 1 on dim 0, where the"):
        gj.index_add(x, 0, index, one_row)
    with pytest.raises(ValueError, match="index_copy: the source has size 1 on dim 0"):
        gj.index_copy(x, 0, index, one_row)
    rows = gj.placeholder("rows", (None, 3), "int64")
    with pytest.raises(ValueError, match="scatter_add: the source has size 1 on dim 0"):
        gj.scatter_add(x, 0, rows, one_row)
    # declared as the message says, the sizes are checked when the graph runs
    source = gj.placeholder("source", (None, 3))
    f = gj.compile([x, index, source], [gj.index_add(x, 0, index, source)], backend="cpu")
    zeros = np.zeros((4, 3))
    np.testing.assert_array_equal(f(zeros, np.array([1]), np.ones((1, 3)))[0].sum(1), [0, 3, 0, 0])
    with pytest.raises(ValueError, match="wrong size"):
        f(zeros, np.array([0, 1]), np.ones((1, 3)))
