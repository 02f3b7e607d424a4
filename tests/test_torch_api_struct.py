"""PyTorch's shape, joining, indexing and gather/scatter spellings against torch itself: eager
results and gradients (``backward``) of every PyTorch-spelled function and method, on the same
inputs. Skipped, with the reason shown, when torch is not installed."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit as gj

torch = pytest.importorskip("torch", reason="torch is not installed: the comparisons need it")

RNG = np.random.default_rng(13)
A = RNG.standard_normal((3, 4))
B = RNG.standard_normal((2, 3, 4))
IDX = np.array([[0, 1, 2, 0], [2, 2, 1, 0]])
IDX_SMALL = np.array([[0, 1], [2, 3]])
SRC = RNG.standard_normal((2, 4))


def _np(v):
    return v.detach().numpy() if isinstance(v, torch.Tensor) else np.asarray(v.numpy())


def _same(got, want):
    if isinstance(want, (list, tuple)):
        assert isinstance(got, (list, tuple)) and len(got) == len(want)
        for g, w in zip(got, want):
            _same(g, w)
        return
    assert tuple(got.shape) == tuple(want.shape)
    np.testing.assert_allclose(_np(got), _np(want), rtol=1e-12, atol=1e-12)


def _sum(v):
    return sum((x * x).sum() for x in v) if isinstance(v, (list, tuple)) else (v * v).sum()


# (name, fn(lib, x, ...) with lib = gj or torch, the float inputs)
CASES = [
    ("tril", lambda m, x: m.tril(x, diagonal=1), [A]),
    ("triu", lambda m, x: m.triu(x, -1), [A]),
    ("Tensor.tril", lambda m, x: x.tril(-1), [B]),
    ("flip", lambda m, x: m.flip(x, dims=(0, 2)), [B]),
    ("Tensor.flip", lambda m, x: x.flip(1), [A]),
    ("roll", lambda m, x: m.roll(x, shifts=(1, -2), dims=(0, 1)), [A]),
    ("roll flat", lambda m, x: m.roll(x, 5), [A]),
    ("Tensor.roll", lambda m, x: x.roll(2, 1), [B]),
    ("diagonal", lambda m, x: m.diagonal(x, offset=1, dim1=2, dim2=1), [B]),
    ("Tensor.diagonal", lambda m, x: x.diagonal(-1), [A]),
    ("diag matrix", lambda m, x: m.diag(x, diagonal=1), [A]),
    ("diag vector", lambda m, x: m.diag(x[0], -2), [A]),
    ("Tensor.repeat", lambda m, x: x.repeat(2, 1, 3), [A]),
    ("repeat_interleave", lambda m, x: m.repeat_interleave(x, 2, dim=1), [A]),
    ("repeat_interleave flat", lambda m, x: m.repeat_interleave(x, 3), [A]),
    ("Tensor.repeat_interleave", lambda m, x: x.repeat_interleave(2, dim=0), [B]),
    ("Tensor.unfold", lambda m, x: x.unfold(2, 2, 1), [B]),
    ("Tensor.unfold step", lambda m, x: x.unfold(1, 2, 2), [A]),
    ("unflatten", lambda m, x: m.unflatten(x, 2, (2, 2)), [B]),
    ("Tensor.unflatten", lambda m, x: x.unflatten(1, (-1, 2)), [A]),
    ("narrow", lambda m, x: m.narrow(x, 1, 1, 2), [A]),
    ("Tensor.narrow", lambda m, x: x.narrow(2, -3, 2), [B]),
    ("chunk", lambda m, x: m.chunk(x, 3, 1), [A]),
    ("Tensor.chunk", lambda m, x: x.chunk(2, dim=0), [A]),
    ("split size", lambda m, x: m.split(x, 3, dim=1), [A]),
    ("split sizes", lambda m, x: m.split(x, [1, 3], dim=1), [A]),
    ("Tensor.split", lambda m, x: x.split(2, 1), [B]),
    ("Tensor.split sizes", lambda m, x: x.split([2, 1], 1), [B]),
    ("tensor_split", lambda m, x: m.tensor_split(x, 3, dim=1), [A]),
    ("tensor_split indices", lambda m, x: m.tensor_split(x, [1, 3], dim=2), [B]),
    ("Tensor.tensor_split", lambda m, x: x.tensor_split(2), [A]),
    ("movedim", lambda m, x: m.movedim(x, (0, 2), (2, 0)), [B]),
    ("Tensor.movedim", lambda m, x: x.movedim(0, -1), [B]),
    ("swapdims", lambda m, x: m.swapdims(x, 0, 2), [B]),
    ("Tensor.swapdims", lambda m, x: x.swapdims(1, 0), [A]),
    ("Tensor.swapaxes", lambda m, x: x.swapaxes(1, 0), [A]),
    ("Tensor.expand_as", lambda m, x: x[:1].expand_as(x), [A]),
    ("Tensor.squeeze not 1", lambda m, x: x.squeeze(1), [A]),
    ("Tensor.squeeze 1", lambda m, x: x[:, :1].squeeze(1), [A]),
    ("gather", lambda m, x: m.gather(x, 0, _ix(m, IDX)), [A]),
    ("gather smaller", lambda m, x: m.gather(x, 1, _ix(m, IDX_SMALL)), [A]),
    ("Tensor.gather", lambda m, x: x.gather(1, _ix(m, IDX[:, :3])), [A]),
    ("take_along_dim", lambda m, x: m.take_along_dim(x, _ix(m, IDX), dim=0), [A]),
    ("scatter", lambda m, x, s: m.scatter(x, 0, _ix(m, np.array([[0, 1, 2, 0]])), s[:1]), [A, SRC]),
    ("scatter smaller", lambda m, x, s: m.scatter(x, 1, _ix(m, IDX_SMALL), s[:, :2]), [A, SRC]),
    ("scatter value", lambda m, x: m.scatter(x, 1, _ix(m, IDX_SMALL), value=2.5), [A]),
    ("Tensor.scatter", lambda m, x, s: x.scatter(1, _ix(m, IDX_SMALL), s[:, :2]), [A, SRC]),
    ("scatter_add", lambda m, x, s: m.scatter_add(x, 0, _ix(m, IDX), s), [A, SRC]),
    ("scatter_add smaller",
     lambda m, x, s: m.scatter_add(x, 1, _ix(m, IDX_SMALL), s[:, :2]), [A, SRC]),
    ("Tensor.scatter_add", lambda m, x, s: x.scatter_add(0, _ix(m, IDX), s), [A, SRC]),
    ("index_select", lambda m, x: m.index_select(x, 1, _ix(m, np.array([3, 0, 3]))), [A]),
    ("Tensor.index_select", lambda m, x: x.index_select(0, _ix(m, np.array([1, 1]))), [B]),
    (
        "index_add",
        lambda m, x, s: m.index_add(x, 0, _ix(m, np.array([2, 2])), s[:, :4], alpha=2),
        [A, SRC],
    ),
    (
        "Tensor.index_add",
        lambda m, x, s: x.index_add(1, _ix(m, np.array([0, 3, 0, 1])), s),
        [A, RNG.standard_normal((3, 4))],
    ),
    ("masked_fill", lambda m, x: m.masked_fill(x, x > 0, -1.0), [A]),
    ("Tensor.masked_fill", lambda m, x: x.masked_fill(x < 0, 0.5), [B]),
    ("masked_select", lambda m, x: m.masked_select(x, x > 0), [A]),
    ("Tensor.masked_select", lambda m, x: x.masked_select(x[0] > 0), [A]),
    ("Tensor.select", lambda m, x: x.select(1, -1), [B]),
]  # fmt: skip


def _ix(lib, idx):
    return lib.tensor(idx) if lib is torch else gj.tensor(idx)


@pytest.mark.parametrize(("name", "fn", "inputs"), CASES, ids=[c[0] for c in CASES])
def test_values_and_gradients_match_torch(name, fn, inputs):
    ts = [torch.tensor(x, requires_grad=True) for x in inputs]
    gs = [gj.tensor(x, requires_grad=True) for x in inputs]
    want = fn(torch, *ts)
    got = fn(gj, *gs)
    _same(got, want)
    _sum(want).backward()
    _sum(got).backward()
    for g, t in zip(gs, ts):
        want_grad = np.zeros(t.shape) if t.grad is None else t.grad.numpy()
        got_grad = np.zeros(t.shape) if g.grad is None else g.grad.numpy()
        np.testing.assert_allclose(got_grad, want_grad, rtol=1e-12, atol=1e-12, err_msg=name)


def test_eager_only_functions_match_torch():
    a = A * (RNG.standard_normal(A.shape) > 0)
    _same(gj.nonzero(gj.tensor(a)), torch.nonzero(torch.tensor(a)))
    _same(gj.tensor(a).nonzero(), torch.tensor(a).nonzero())
    _same(gj.nonzero(gj.tensor(a), as_tuple=True), torch.nonzero(torch.tensor(a), as_tuple=True))
    _same(gj.where(gj.tensor(a > 0)), torch.where(torch.tensor(a > 0)))
    for fn in (gj.nonzero, lambda x: gj.where(x > 0), lambda x: gj.masked_select(x, x > 0)):
        with pytest.raises(TypeError, match=r"depends on the data|eager tensors|must be known"):
            fn(gj.placeholder("x", (3,)))


def test_bad_arguments_raise_clear_errors():
    t = gj.tensor(A)
    with pytest.raises(IndexError):
        gj.gather(t, 0, gj.tensor(np.array([[3, 0, 0, 0]])))
    with pytest.raises(IndexError):
        gj.index_select(t, 1, gj.tensor(np.array([4])))
    with pytest.raises(IndexError):
        gj.scatter(t, 0, gj.tensor(np.array([[5]])), 1.0 * gj.ones(1, 1, dtype="float64"))
    with pytest.raises(IndexError):
        gj.narrow(t, 1, 3, 2)
    with pytest.raises(ValueError, match="as many dims"):
        gj.gather(t, 0, gj.tensor(np.array([0, 1])))
    with pytest.raises(TypeError, match="int tensor"):
        gj.index_select(t, 0, gj.tensor(np.array([0.5])))
    with pytest.raises(TypeError, match="give src or value"):
        gj.scatter(t, 0, gj.tensor(IDX))
    with pytest.raises(ValueError, match="reduce must be 'add' or 'multiply', got 'max'"):
        gj.scatter(t, 0, gj.tensor(IDX), value=1.0, reduce="max")
    with pytest.raises(ValueError, match="exceeds dim"):
        t.unfold(1, 5, 1)
    with pytest.raises(ValueError, match="sum to 3"):
        t.split([1, 2], 1)
    with pytest.raises(TypeError, match="mask must be bool"):
        gj.masked_fill(t, t, 0.0)


def test_numpy_and_pytorch_meanings_where_they_clash():
    x = gj.tensor(A)
    # repeat: gj.repeat is numpy's (each element), Tensor.repeat PyTorch's (numpy's tile)
    np.testing.assert_array_equal(gj.repeat(x, 2, axis=0).numpy(), np.repeat(A, 2, axis=0))
    np.testing.assert_array_equal(x.repeat(2, 1).numpy(), np.tile(A, (2, 1)))
    # split: sections/indices (numpy) unless dim= is given (PyTorch's part sizes)
    assert [p.shape for p in gj.split(x, 2, 1)] == [(3, 2), (3, 2)]
    assert [p.shape for p in gj.split(x, 3, dim=1)] == [(3, 3), (3, 1)]
    # squeeze: numpy raises on a dim that is not 1; a tensor's squeeze leaves it
    with pytest.raises(ValueError, match="not 1"):
        gj.squeeze(x, 0)
    assert x.squeeze(0).shape == (3, 4)
    # graph nodes keep numpy's meaning, except traced with PyTorch's flavour (gj.jit on tensors)
    node = gj.placeholder("x", (3, 4))
    assert node.repeat(2, axis=0).shape == (6, 4)
    with pytest.raises(ValueError):
        node.squeeze(0)

    @gj.jit
    def f(t):
        return t.repeat(2, 1).squeeze(0) * 1.0

    _same(f(x), torch.tensor(A).repeat(2, 1).squeeze(0))
    with gj.methods.torch_flavour():
        assert node.squeeze(0).shape == (3, 4)
        assert node[:1].squeeze(0).shape == (4,)
        with pytest.raises(ValueError, match="not known when the graph is built"):
            gj.placeholder("y", (None, 4)).squeeze(0)
