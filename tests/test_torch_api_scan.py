"""The PyTorch-spelled reductions, scans and sorts against PyTorch itself: eager values, indices
and gradients. Skipped (with the reason shown) when torch is not installed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import graphjit as gj

torch = pytest.importorskip("torch", reason="torch is not installed: no PyTorch comparison")

RNG = np.random.default_rng(0)


def _data(shape: tuple[int, ...], zeros: bool = False) -> np.ndarray:
    a = RNG.standard_normal(shape)
    if zeros:
        a[..., 1] = 0.0
        a[..., -2] = 0.0
    return a


def _first(result: Any) -> Any:
    """The differentiable part of a result (values of a (values, indices) pair)."""
    return result[0] if isinstance(result, tuple) else result


def compare(
    ours: Callable[[Any], Any],
    theirs: Callable[[Any], Any],
    a: np.ndarray,
    grad: bool = True,
    check_indices: bool = True,
) -> None:
    """Values (and indices) of ``ours`` on a gj tensor and ``theirs`` on a torch tensor, then the
    gradient of a weighted sum of the values."""
    t = gj.tensor(a, requires_grad=grad)
    u = torch.tensor(a, requires_grad=grad)
    got, want = ours(t), theirs(u)
    got_parts = got if isinstance(got, tuple) else (got,)
    want_parts = want if isinstance(want, tuple) else (want,)
    assert len(got_parts) == len(want_parts)
    for i, (g, w) in enumerate(zip(got_parts, want_parts)):
        if i > 0 and not check_indices:
            continue
        w = w.detach().numpy()
        assert g.shape == w.shape, f"part {i}: {g.shape} != {w.shape}"
        np.testing.assert_allclose(g.numpy(), w, rtol=1e-10, atol=1e-12, equal_nan=True)
    if not grad:
        return
    weights = RNG.standard_normal(_first(got).shape)
    gj.sum(_first(got) * weights).backward()
    (_first(want) * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), u.grad.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_scans(dim):
    a = _data((3, 5))
    compare(lambda t: gj.cumsum(t, dim), lambda u: torch.cumsum(u, dim), a)
    compare(lambda t: t.cumsum(dim), lambda u: u.cumsum(dim), a)
    compare(lambda t: gj.cumprod(t, dim), lambda u: torch.cumprod(u, dim), a)
    compare(lambda t: gj.logcumsumexp(t, dim), lambda u: torch.logcumsumexp(u, dim), a)
    compare(lambda t: gj.cummax(t, dim), lambda u: torch.cummax(u, dim), a)
    compare(lambda t: t.cummin(dim), lambda u: u.cummin(dim), a)


def test_cumprod_through_zeros_and_cummax_with_ties():
    a = _data((2, 6), zeros=True)
    compare(lambda t: gj.cumprod(t, 1), lambda u: torch.cumprod(u, 1), a)
    ties = np.array([[1.0, 3.0, 3.0, 2.0, 3.0, 1.0], [2.0, 2.0, 1.0, 1.0, 0.5, 2.0]])
    compare(lambda t: gj.cummax(t, 1), lambda u: torch.cummax(u, 1), ties)
    compare(lambda t: gj.cummin(t, 1), lambda u: torch.cummin(u, 1), ties)


@pytest.mark.parametrize("dim", [None, 0, 1])
def test_statistics_pairs(dim):
    a = _data((4, 3))
    kw = {} if dim is None else {"dim": dim}
    compare(lambda t: gj.var_mean(t, **kw), lambda u: torch.var_mean(u, **kw), a)
    compare(lambda t: gj.std_mean(t, **kw), lambda u: torch.std_mean(u, **kw), a)
    compare(
        lambda t: gj.std_mean(t, **kw, correction=0, keepdim=True),
        lambda u: torch.std_mean(u, **kw, correction=0, keepdim=True),
        a,
    )
    compare(lambda t: gj.aminmax(t, **kw), lambda u: torch.aminmax(u, **kw), a, grad=False)


@pytest.mark.parametrize("dim", [0, 1])
def test_any_all(dim):
    a = np.array([[0.0, 1.0, 2.0], [0.0, 0.0, 3.0]])
    for name in ("any", "all"):
        compare(
            lambda t, n=name: getattr(gj, n)(t, dim=dim, keepdim=True),
            lambda u, n=name: getattr(torch, n)(u, dim=dim, keepdim=True),
            a,
            grad=False,
        )
        compare(
            lambda t, n=name: getattr(t, n)(dim),
            lambda u, n=name: getattr(u, n)(dim),
            a,
            grad=False,
        )
        compare(  # numpy's axis= alias, where PyTorch accepts it too
            lambda t, n=name: getattr(gj, n)(t, axis=dim),
            lambda u, n=name: getattr(torch, n)(u, axis=dim),
            a,
            grad=False,
        )


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_order_statistics(dim):
    a = _data((5, 4))
    compare(lambda t: gj.median(t, dim), lambda u: torch.median(u, dim), a)
    compare(lambda t: t.median(dim, keepdim=True), lambda u: u.median(dim, keepdim=True), a)
    compare(lambda t: gj.kthvalue(t, 2, dim), lambda u: torch.kthvalue(u, 2, dim), a)
    compare(lambda t: gj.topk(t, 2, dim), lambda u: torch.topk(u, 2, dim), a)
    compare(lambda t: t.topk(3, dim, largest=False), lambda u: u.topk(3, dim, largest=False), a)
    compare(lambda t: t.sort(dim), lambda u: u.sort(dim=dim, stable=True), a)
    compare(
        lambda t: t.sort(dim, descending=True),
        lambda u: u.sort(dim=dim, descending=True, stable=True),
        a,
    )
    compare(
        lambda t: gj.argsort(t, dim=dim, descending=True),
        lambda u: torch.argsort(u, dim=dim, descending=True, stable=True),
        a,
        grad=False,
    )


def test_median_whole_and_with_nan():
    a = _data((6,))
    compare(lambda t: gj.median(t), lambda u: torch.median(u), a)
    compare(lambda t: t.median(), lambda u: u.median(), _data((3, 4)))
    nan = np.array([[1.0, np.nan, 3.0, np.nan], [4.0, 1.0, 2.0, 3.0]])
    compare(lambda t: gj.median(t, 1), lambda u: torch.median(u, 1), nan, grad=False)


def test_ties_give_the_same_values():
    # PyTorch may pick another index among ties; the values (and a valid index) agree
    a = np.array([[1.0, 3.0, 3.0, 2.0, 3.0, 1.0], [2.0, 2.0, 1.0, 1.0, 0.5, 2.0]])
    for ours, theirs in [
        (lambda t: gj.kthvalue(t, 2, 1), lambda u: torch.kthvalue(u, 2, 1)),
        (lambda t: gj.median(t, 1), lambda u: torch.median(u, 1)),
        (lambda t: gj.topk(t, 3, 1), lambda u: torch.topk(u, 3, 1)),
    ]:
        compare(ours, theirs, a, grad=False, check_indices=False)
        values, indices = ours(gj.tensor(a))
        np.testing.assert_array_equal(
            np.take_along_axis(a, indices.numpy().reshape(values.shape[0], -1), 1).reshape(
                values.shape
            ),
            values.numpy(),
        )


@pytest.mark.parametrize(
    "a",
    [
        np.array([1.0, 3.0, 3.0, 2.0, 3.0, 1.0]),
        np.array([[1, 2, 2, 1], [3, 3, 4, 4]]),
        np.array([[0.5, 0.5, 0.25], [0.25, 1.0, 1.0]]),
    ],
)
def test_mode(a):
    compare(lambda t: gj.mode(t), lambda u: torch.mode(u), a, grad=False)
    compare(lambda t: t.mode(0, keepdim=True), lambda u: u.mode(0, keepdim=True), a, grad=False)


def test_mode_counts_nan_as_one_value_above_every_number():
    a = np.array([[1.0, np.nan, 3.0, 2.0], [np.nan, 1.0, 1.0, np.nan], [np.nan, 4.0, np.nan, 2.0]])
    values, indices = gj.mode(gj.tensor(a), 1)
    want = torch.mode(torch.tensor(a), 1).values.numpy()  # [1, 1, nan]: ties go to the smaller
    np.testing.assert_array_equal(values.numpy(), want)
    assert indices.tolist() == [0, 2, 2]  # the last occurrence (PyTorch's index is unspecified)


def test_mode_gradient():
    a = np.array([[0.5, 0.5, 0.25], [0.25, 1.0, 1.0]])
    compare(lambda t: gj.mode(t, 1), lambda u: torch.mode(u, 1), a)


def test_unique():
    a = np.array([[3, 1, 2], [3, 1, 7]])
    both = {"return_inverse": True, "return_counts": True}
    options = [{}, {"return_inverse": True}, {"return_counts": True}, both, {"dim": 0}, {"dim": 1}]
    for kwargs in options:
        compare(
            lambda t, kw=kwargs: gj.unique(t, **kw),
            lambda u, kw=kwargs: torch.unique(u, **kw),
            a,
            grad=False,
        )
    with pytest.raises(TypeError, match="eager"):
        gj.unique(gj.placeholder("x", (3,)))


def test_dims_of_0d_tensors():
    a = np.array(2.5)
    for dim in (0, -1):
        compare(lambda t, d=dim: t.sum(d), lambda u, d=dim: u.sum(d), a)
        compare(lambda t, d=dim: t.mean(d, keepdim=True), lambda u, d=dim: u.mean(d, True), a)
        compare(lambda t, d=dim: t.max(d), lambda u, d=dim: u.max(d), a)
        compare(lambda t, d=dim: t.argmin(d), lambda u, d=dim: u.argmin(d), a, grad=False)
        compare(lambda t, d=dim: gj.cumsum(t, d), lambda u, d=dim: torch.cumsum(u, d), a)
        compare(lambda t, d=dim: gj.cummax(t, d), lambda u, d=dim: torch.cummax(u, d), a)
        compare(lambda t, d=dim: t.sort(d), lambda u, d=dim: u.sort(d), a)
        compare(lambda t, d=dim: gj.topk(t, 1, d), lambda u, d=dim: torch.topk(u, 1, d), a)
        compare(
            lambda t, d=dim: t.var(d, unbiased=False), lambda u, d=dim: u.var(d, correction=0), a
        )


def test_max_with_axis_is_a_pair():
    a = _data((3, 4))
    compare(lambda t: t.max(axis=1), lambda u: u.max(axis=1), a)
    compare(lambda t: t.min(axis=0), lambda u: u.min(axis=0), a)


def test_like_functions_with_requires_grad():
    base = gj.tensor([1.0, 2.0])
    for ours, theirs in [(gj.zeros_like, torch.zeros_like), (gj.ones_like, torch.ones_like)]:
        t = ours(base, requires_grad=True)
        u = theirs(torch.tensor([1.0, 2.0]), requires_grad=True)
        assert t.requires_grad and u.requires_grad and t.is_leaf
        np.testing.assert_array_equal(t.numpy(), u.detach().numpy())
    f = gj.full_like(base, 3.0, requires_grad=True)
    (f * f).sum().backward()
    assert f.grad.tolist() == [6.0, 6.0]


_TORCH_VERSION = tuple(int(p) for p in torch.__version__.split("+")[0].split(".")[:2])


@pytest.mark.skipif(
    _TORCH_VERSION >= (2, 14),
    reason=f"PyTorch {torch.__version__} sizes integer arange as numpy does; graphjit keeps the "
    "truncating rule of PyTorch up to 2.13 (pinned in tests/tensor/test_torch_rules.py)",
)
@pytest.mark.parametrize(
    "args", [(0, 4.5), (0.9, 3), (0, 5, 1.5), (0, 5, 2.5), (-2.5, 3.7, 1.2), (0, -3.5, -1.5)]
)
def test_integer_arange_truncates_as_pytorch(args):
    # PyTorch's int64 rule (its default integer dtype; its smaller int dtypes size the result
    # from the float arguments instead)
    got = gj.arange(*args, dtype="int64")
    assert got.dtype == "int64"
    assert got.tolist() == torch.arange(*args, dtype=torch.int64).tolist()


@pytest.mark.parametrize("args", [(-10, 0, 4), (0, 10, 4), (0.5, 3.5, 4), (-3.7, 2.2, 7)])
def test_integer_linspace_truncates_as_pytorch(args):
    got = gj.linspace(*args, dtype="int64")
    assert got.tolist() == torch.linspace(*args, dtype=torch.int64).tolist()


def test_default_dtype_as_pytorch():
    old = gj.get_default_dtype()
    torch_old = torch.get_default_dtype()
    try:
        gj.set_default_dtype("float32")
        torch.set_default_dtype(torch.float32)
        cases = [
            (gj.zeros(2, 3), torch.zeros(2, 3)),
            (gj.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0])),
            (gj.arange(0.0, 2.0, 0.5), torch.arange(0.0, 2.0, 0.5)),
            (gj.tensor([1, 2]) * 0.5, torch.tensor([1, 2]) * 0.5),
            (gj.tensor([1, 2]) / gj.tensor([2, 2]), torch.tensor([1, 2]) / torch.tensor([2, 2])),
            (gj.full((2,), 1.5), torch.full((2,), 1.5)),
            (gj.linspace(0, 1, 3), torch.linspace(0, 1, 3)),
            (gj.rand(2), torch.rand(2)),
        ]
        for ours, theirs in cases:
            assert ours.dtype == str(theirs.dtype).removeprefix("torch."), (ours, theirs)
        # a float64 array keeps its dtype, as in PyTorch
        assert gj.tensor(np.zeros(2)).dtype == "float64"
    finally:
        gj.set_default_dtype(old)
        torch.set_default_dtype(torch_old)


@pytest.mark.parametrize("a", ["uint8", "int8", "int16", "int32", "int64", "bool"])
@pytest.mark.parametrize("b", ["uint8", "int8", "int16", "int32", "int64", "bool"])
def test_integer_promotion_agrees_with_pytorch(a, b):
    x = gj.tensor(np.ones(2, dtype=a)) + gj.tensor(np.ones(2, dtype=b))
    y = torch.ones(2, dtype=getattr(torch, a)) + torch.ones(2, dtype=getattr(torch, b))
    assert x.dtype == str(y.dtype).removeprefix("torch.")
