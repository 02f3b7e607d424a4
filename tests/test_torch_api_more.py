"""More of PyTorch's functions and Tensor methods (products, elementwise, norms, shapes, new
tensors, introspection and gradient hooks) against PyTorch itself: eager values and gradients,
and compiled ``cpu`` graphs against the eager results. The torch comparisons are skipped when
torch is not installed; the graph and error tests run without it."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit as gj
from graphjit.testing import gradcheck

RNG = np.random.default_rng(17)
M34 = RNG.standard_normal((3, 4))
M45 = RNG.standard_normal((4, 5))
M35 = RNG.standard_normal((3, 5))
V3 = RNG.standard_normal(3)
V4 = RNG.standard_normal(4)
V5 = RNG.standard_normal(5)
B234 = RNG.standard_normal((2, 3, 4))
B245 = RNG.standard_normal((2, 4, 5))
B235 = RNG.standard_normal((2, 3, 5))
C3 = RNG.standard_normal((4, 3))
POS = RNG.uniform(0.05, 0.95, (3, 4))
AWAY = RNG.uniform(0.5, 2.0, (3, 4)) * RNG.choice([-1.0, 1.0], (3, 4))


def _ix(lib, a):
    return lib.tensor(np.asarray(a))


# (name, fn(lib, *inputs) with lib = gj or torch, float64 inputs); every name is checked as
# gj.<name>/torch.<name> or as a method of both
CASES = [
    ("bmm", lambda m, a, b: m.bmm(a, b), [B234, B245]),
    ("Tensor.bmm", lambda m, a, b: a.bmm(b), [B234, B245]),
    ("mv", lambda m, a, v: m.mv(a, v), [M34, V4]),
    ("Tensor.mv", lambda m, a, v: a.mv(v), [M34, V4]),
    ("ger", lambda m, u, v: m.ger(u, v), [V3, V4]),
    ("Tensor.outer", lambda m, u, v: u.outer(v), [V3, V4]),
    ("Tensor.ger", lambda m, u, v: u.ger(v), [V3, V4]),
    ("Tensor.inner", lambda m, a, b: a.inner(b), [M34, M34]),
    ("Tensor.kron", lambda m, a, b: a.kron(b), [M34[:2, :2], M34[1:, 2:]]),
    ("addmm", lambda m, c, a, b: m.addmm(c, a, b), [M35, M34, M45]),
    ("addmm beta alpha", lambda m, c, a, b: m.addmm(c, a, b, beta=0.5, alpha=-2), [V5, M34, M45]),
    ("Tensor.addmm", lambda m, c, a, b: c.addmm(a, b, alpha=3), [M35, M34, M45]),
    ("addmv", lambda m, c, a, v: m.addmv(c, a, v, beta=2, alpha=0.5), [V3, M34, V4]),
    ("Tensor.addmv", lambda m, c, a, v: c.addmv(a, v), [V3, M34, V4]),
    ("addr", lambda m, c, u, v: m.addr(c, u, v, beta=-1, alpha=2), [M34, V3, V4]),
    ("Tensor.addr", lambda m, c, u, v: c.addr(u, v), [M34, V3, V4]),
    ("baddbmm", lambda m, c, a, b: m.baddbmm(c, a, b, beta=0.5, alpha=2), [B235, B234, B245]),
    ("Tensor.baddbmm", lambda m, c, a, b: c.baddbmm(a, b), [M35, B234, B245]),
    ("addbmm", lambda m, c, a, b: m.addbmm(c, a, b, beta=2, alpha=0.5), [M35, B234, B245]),
    ("Tensor.addbmm", lambda m, c, a, b: c.addbmm(a, b), [V5, B234, B245]),
    ("chain_matmul", lambda m, a, b, c: m.chain_matmul(a, b, c), [M34, M45, M35.T]),
    ("Tensor.cross dim", lambda m, a, b: a.cross(b, dim=1), [C3, C3[::-1]]),
    ("Tensor.cross default", lambda m, a, b: a.cross(b), [M34[:, :3].T, C3[1:].T]),
    ("dist", lambda m, a, b: m.dist(a, b), [M34, M34[::-1]]),
    ("Tensor.dist p", lambda m, a, b: a.dist(b, 3), [M34, V4]),
    ("Tensor.dist inf", lambda m, a, b: a.dist(b, float("inf")), [M34, M34[::-1]]),
    ("addcmul", lambda m, x, a, b: m.addcmul(x, a, b, value=-0.5), [M34, M34[::-1], V4]),
    ("Tensor.addcmul", lambda m, x, a, b: x.addcmul(a, b), [V4, M34, M34[::-1]]),
    ("addcdiv", lambda m, x, a, b: m.addcdiv(x, a, b, value=2), [M34, V4, AWAY]),
    ("Tensor.addcdiv", lambda m, x, a, b: x.addcdiv(a, b), [M34, M34[::-1], AWAY]),
    ("clamp_min", lambda m, x: m.clamp_min(x, 0.1), [M34]),
    ("Tensor.clamp_min", lambda m, x, lo: x.clamp_min(lo), [M34, V4]),
    ("clamp_max", lambda m, x: m.clamp_max(x, -0.2), [M34]),
    ("Tensor.clamp_max", lambda m, x, hi: x.clamp_max(hi), [M34, V4]),
    ("xlogy", lambda m, x, y: m.xlogy(x, y), [M34, POS]),
    ("Tensor.xlogy", lambda m, x, y: x.xlogy(y), [M34, POS[0]]),
    ("logit", lambda m, p: m.logit(p), [POS]),
    ("logit eps", lambda m, p: m.logit(p, eps=0.2), [POS]),
    ("Tensor.logit", lambda m, p: p.logit(0.1), [POS]),
    ("sgn", lambda m, x: m.sgn(x) * x, [M34]),
    ("Tensor.sgn", lambda m, x: x.sgn() * x, [M34]),
    ("Tensor.negative", lambda m, x: x.negative(), [M34]),
    ("Tensor.subtract", lambda m, x, y: x.subtract(y, alpha=3), [M34, V4]),
    ("true_divide", lambda m, x, y: m.true_divide(x, y), [M34, AWAY]),
    ("Tensor.true_divide", lambda m, x, y: x.true_divide(y), [M34, AWAY]),
    ("Tensor.where", lambda m, x, y: x.where(x > 0, y), [M34, V4]),
    ("norm", lambda m, x: m.norm(x), [M34]),
    ("norm p dim", lambda m, x: m.norm(x, 3, 1), [M34]),
    ("norm fro dims", lambda m, x: m.norm(x, "fro", (0, 2), keepdim=True), [B234]),
    ("norm 1", lambda m, x: m.norm(x, 1, dim=0), [M34]),
    ("norm inf", lambda m, x: m.norm(x, float("inf"), dim=1), [M34]),
    ("norm -inf", lambda m, x: m.norm(x, -float("inf")), [M34]),
    ("norm 0", lambda m, x: m.norm(x, 0, dim=1), [M34 * (M34 > 0)]),
    ("Tensor.norm", lambda m, x: x.norm(dim=-1, keepdim=True), [B234]),
    ("Tensor.norm p", lambda m, x: x.norm(p=1.5), [M34]),
    ("Tensor.renorm", lambda m, x: x.renorm(2, 0, 1.5), [M34]),
    ("renorm", lambda m, x: m.renorm(x, 1, 1, 2.0), [M34]),
    ("msort", lambda m, x: m.msort(x), [M34]),
    ("Tensor.msort", lambda m, x: x.msort(), [B234]),
    ("Tensor.logsumexp", lambda m, x: x.logsumexp(1), [M34]),
    ("Tensor.logsumexp keepdim", lambda m, x: x.logsumexp((0, 2), keepdim=True), [B234]),
    ("Tensor.diff", lambda m, x: x.diff(), [M34]),
    ("Tensor.diff n dim", lambda m, x, p: x.diff(2, 0, prepend=p), [M34, M34[:1]]),
    ("Tensor.tile", lambda m, x: x.tile(2, 1, 2), [M34]),
    ("Tensor.tile tuple", lambda m, x: x.tile((2,)), [B234]),
    ("Tensor.take", lambda m, x: x.take(_ix(m, [[0, 5], [11, 5]])), [M34]),
    ("Tensor.take_along_dim", lambda m, x: x.take_along_dim(_ix(m, [[2], [0], [3]]), 1), [M34]),
    ("Tensor.broadcast_to", lambda m, x: x.broadcast_to((2, 3, 4)), [V4]),
    ("unbind", lambda m, x: m.unbind(x, 1), [M34]),
    ("Tensor.unbind", lambda m, x: x.unbind(), [B234]),
    ("split_with_sizes", lambda m, x: m.split_with_sizes(x, [1, 3], 1), [M34]),
    ("Tensor.split_with_sizes", lambda m, x: x.split_with_sizes([2, 1], dim=1), [B234]),
    ("Tensor.hsplit", lambda m, x: x.hsplit(2), [M34]),
    ("Tensor.hsplit indices", lambda m, x: x.hsplit([1, 3]), [M34]),
    ("Tensor.vsplit", lambda m, x: x.vsplit([1]), [M34]),
    ("Tensor.dsplit", lambda m, x: x.dsplit(2), [B234]),
    ("Tensor.sum_to_size", lambda m, x: x.sum_to_size(3, 1), [M34]),
    ("Tensor.sum_to_size lead", lambda m, x: x.sum_to_size((1, 4)), [B234]),
    ("narrow_copy", lambda m, x: m.narrow_copy(x, 1, 1, 2), [M34]),
    ("Tensor.narrow_copy", lambda m, x: x.narrow_copy(0, 1, 1), [B234]),
    ("Tensor.type_as", lambda m, x, y: x.type_as(y.float()) * 2, [M34, V4]),
    ("index_fill", lambda m, x: m.index_fill(x, 1, _ix(m, [0, 2]), -1.5), [M34]),
    ("Tensor.index_fill tensor value",
     lambda m, x, v: x.index_fill(0, _ix(m, [2, 2]), v), [M34, np.array(0.7)]),
    ("index_copy", lambda m, x, s: m.index_copy(x, 0, _ix(m, [2, 0]), s), [M34, M34[:2] + 1]),
    ("Tensor.index_copy", lambda m, x, s: x.index_copy(1, _ix(m, [3, 1]), s), [M34, C3[:3, :2]]),
    ("index_put", lambda m, x, v: m.index_put(x, (_ix(m, [0, 2, -1]), _ix(m, [1, 3, 0])), v),
     [M34, V3]),
    ("index_put accumulate",
     lambda m, x, v: m.index_put(x, (_ix(m, [0, 2, 0]), _ix(m, [1, 3, 1])), v, accumulate=True),
     [M34, V3]),
    ("Tensor.index_put rows", lambda m, x, v: x.index_put((_ix(m, [1]),), v), [M34, V4]),
    ("masked_scatter", lambda m, x, s: m.masked_scatter(x, x > 0, s), [M34, M34.ravel() * 2]),
    ("Tensor.masked_scatter broadcast",
     lambda m, x, s: x.masked_scatter(_ix(m, [True, False, True, False]), s), [M34, M45]),
]  # fmt: skip
CASES += [
    (f"scatter_reduce {reduce} {include}",
     lambda m, x, s, reduce=reduce, include=include: m.scatter_reduce(
         x, 0, _ix(m, [[0, 1, 0, 2], [2, 2, 1, 0]]), s, reduce, include_self=include),
     [M34, M34[:2] * 3])
    for reduce in ("sum", "prod", "mean", "amax", "amin") for include in (True, False)
]  # fmt: skip
CASES += [
    (f"Tensor.scatter_reduce {reduce} smaller index",
     lambda m, x, s, reduce=reduce: x.scatter_reduce(
         1, _ix(m, [[0, 0], [3, 3]]), s, reduce=reduce, include_self=False),
     [M34, M34[:2, :2] + 1])
    for reduce in ("sum", "prod", "mean", "amax", "amin")
]  # fmt: skip
CASES += [
    ("scatter_reduce amax ties",
     lambda m, x, s: m.scatter_reduce(x, 1, _ix(m, [[0, 0], [1, 1]]), s, "amax"),
     [np.array([[1.0, 1.0, 0.0], [2.0, 1.0, 1.0]]), np.array([[1.0, 1.0], [1.0, 0.0]])]),
    ("scatter_reduce prod zeros",
     lambda m, x, s: m.scatter_reduce(x, 0, _ix(m, [[0, 1, 1]]), s, "prod"),
     [np.array([[1.0, 0.0, 3.0], [2.0, 1.0, 0.0]]), np.array([[0.0, 2.0, 0.0]])]),
]  # fmt: skip


def _parts(v):
    return list(v) if isinstance(v, (list, tuple)) else [v]


def _loss(v, weights):
    return sum((p * w).sum() for p, w in zip(_parts(v), weights))


def _weights(v):
    return [RNG.standard_normal(tuple(p.shape)) for p in _parts(v)]


def _values(v):
    return [np.asarray(p.detach().numpy()) for p in _parts(v)]


@pytest.mark.parametrize(("name", "fn", "inputs"), CASES, ids=[c[0] for c in CASES])
def test_values_and_gradients_match_torch(name, fn, inputs):
    torch = pytest.importorskip("torch", reason="the comparisons with PyTorch need torch")
    ts = [torch.tensor(np.array(x, order="C"), requires_grad=True) for x in inputs]
    gs = [gj.tensor(x, requires_grad=True) for x in inputs]
    want, got = fn(torch, *ts), fn(gj, *gs)
    assert len(_parts(got)) == len(_parts(want))
    for g, w in zip(_values(got), _values(want)):
        assert g.shape == w.shape and g.dtype == w.dtype, name
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12, err_msg=name)
    weights = _weights(want)
    if not any(p.requires_grad for p in _parts(got)):  # piecewise constant (norm with p=0)
        _loss(want, [torch.tensor(w) for w in weights]).backward()
        assert all(t.grad is None or not t.grad.any() for t in ts)
        return
    _loss(want, [torch.tensor(w, dtype=p.dtype) for w, p in zip(weights, _parts(want))]).backward()
    _loss(got, [gj.tensor(w.astype(p.dtype)) for w, p in zip(weights, _parts(got))]).backward()
    for g, t in zip(gs, ts):
        want_grad = np.zeros(t.shape) if t.grad is None else t.grad.numpy()
        got_grad = np.zeros(t.shape) if g.grad is None else g.grad.numpy()
        np.testing.assert_allclose(got_grad, want_grad, rtol=1e-10, atol=1e-12, err_msg=name)


# graphs: the same functions over placeholders, compiled for the cpu, against the eager tensors
GRAPH_CASES = [
    ("products", lambda a, b, c, v: gj.addmm(c, a, b, beta=0.5) + gj.addr(c, a[:, 0], v, alpha=2)
     + gj.baddbmm(c, gj.stack([a, a]), gj.stack([b, b])).sum(0) + gj.mv(a, b[:, 0])[:, None]
     + c[:, :3].addbmm(gj.stack([a, a]), gj.stack([a.T, a.T]))[:, :1]
     + gj.bmm(a[None], b[None])[0]),
    ("elementwise", lambda a, b, c, v: gj.addcdiv(c, a @ b, 2 + c.sigmoid()) * gj.xlogy(
        c.sigmoid(), c.sigmoid()) + gj.logit(c.sigmoid(), eps=0.3) + gj.clamp_min(c, 0.0)),
    ("norms", lambda a, b, c, v: gj.norm(a, 3, dim=1) + a.renorm(2, 0, 1.0).sum(1)
     + a.dist(a[::-1]) + gj.norm(a, float("inf"), 1) + a[:, :3].cross(a[::-1, 1:], 1).sum(1)),
    ("shapes", lambda a, b, c, v: sum(a.unbind(1)) + gj.split_with_sizes(c, [2, 3], 1)[1].sum(1)
     + c.sum_to_size(3, 1)[:, 0] + a.tile(1, 2).sum(1) + a.where(a > 0, v[:4]).sum(1)
     + gj.msort(a)[:, 0]),
    ("indexing", lambda a, b, c, v: gj.index_copy(c, 1, np.array([4, 0]), a[:, :2]).sum(1)
     + gj.index_fill(a, 0, np.array([1]), 2.0).sum(1) + gj.masked_scatter(a, a > 0, b).sum(1)
     + gj.index_put(c, (np.array([0, 2]), np.array([1, 1])), v[:2], accumulate=True).sum(1)
     + gj.scatter_reduce(a, 1, np.array([[0, 0], [3, 3], [1, 2]]), b[:3, :2], "amax").sum(1)
     + gj.scatter_reduce(c, 0, np.array([[0, 2, 0, 1, 1]]), v[None], "prod").sum(1)
     + gj.scatter_reduce(a, 0, np.array([[2, 2, 0, 0]]), b[:1], "mean", include_self=False)
     .sum(1)),
]  # fmt: skip
GRAPH_INPUTS = [M34, M45, M35, RNG.standard_normal(5)]


@pytest.mark.parametrize(("name", "fn"), GRAPH_CASES, ids=[c[0] for c in GRAPH_CASES])
def test_compiled_cpu_graphs_match_eager(name, fn):
    names = "abcv"
    phs = [gj.placeholder(n, x.shape) for n, x in zip(names, GRAPH_INPUTS)]
    out = fn(*phs)
    weights = RNG.standard_normal(tuple(out.shape))
    grads = gj.grad(gj.sum(out * weights), phs)
    f = gj.compile(phs, [out, *grads], backend="cpu")
    got = f(*GRAPH_INPUTS)
    ts = [gj.tensor(x, requires_grad=True) for x in GRAPH_INPUTS]
    eager = fn(*ts)
    (eager * gj.tensor(weights)).sum().backward()
    np.testing.assert_allclose(got[0], eager.detach().numpy(), rtol=1e-10, atol=1e-12)
    for g, t in zip(got[1:], ts):
        want = np.zeros(t.shape) if t.grad is None else t.grad.numpy()
        np.testing.assert_allclose(g, want, rtol=1e-10, atol=1e-12, err_msg=name)


def test_gradients_at_edges_are_finite_and_follow_pytorch():
    # the 2-norm of the zero vector: gradient 0, as PyTorch's (not 0 * inf)
    z = gj.zeros(3, requires_grad=True)
    gj.norm(z).backward()
    assert z.grad.tolist() == [0.0, 0.0, 0.0]
    # xlogy(0, y) is 0, even at y = 0; a NaN in y wins; derivatives where x is 0 are 0
    x = gj.tensor([0.0, 0.0, 1.0, 0.0], requires_grad=True)
    y = gj.tensor([0.0, 2.0, 0.0, np.nan], requires_grad=True)
    out = gj.xlogy(x, y)
    np.testing.assert_array_equal(out.detach().numpy(), [0.0, 0.0, -np.inf, np.nan])
    out[:2].sum().backward()
    assert x.grad.tolist()[:2] == [0.0, 0.0] and y.grad.tolist()[:2] == [0.0, 0.0]
    # the inf-norm splits its gradient evenly between tied maxima (by magnitude)
    t = gj.tensor([3.0, -3.0, 1.0], requires_grad=True)
    gj.norm(t, float("inf")).backward()
    assert t.grad.tolist() == [0.5, -0.5, 0.0]
    # beta=0: input is not read, so its NaN does not reach the result (PyTorch's rule)
    nan = gj.tensor(np.full((2, 2), np.nan))
    assert gj.addmm(nan, gj.ones(2, 3), gj.ones(3, 2), beta=0).tolist() == [[3.0] * 2] * 2


def test_dtypes_follow_pytorch():
    i = gj.tensor([1, 2])
    assert gj.xlogy(i, i).dtype == gj.get_default_dtype()
    assert gj.logit(gj.tensor([0.5], dtype="float32")).dtype == "float32"
    assert gj.addcmul(i, i, i, value=2).tolist() == [3, 10]
    assert gj.bmm(gj.ones(1, 2, 2, dtype="int64"), gj.ones(1, 2, 2, dtype="int64")).dtype == "int64"


def test_bad_arguments_raise_clear_errors():
    m, v, b = gj.tensor(M34), gj.tensor(V4), gj.tensor(B234)
    with pytest.raises(ValueError, match="mm: mat1 must be a matrix"):
        gj.addmm(gj.tensor(M35), b, gj.tensor(M45))
    with pytest.raises(ValueError, match="bmm: the batch sizes differ"):
        gj.bmm(b, gj.tensor(RNG.standard_normal((3, 4, 5))))
    with pytest.raises(ValueError, match="mv: vec must be a vector"):
        gj.mv(m, m.T)
    with pytest.raises(ValueError, match="addr: vec1 must be a vector"):
        gj.addr(m, m, v)
    with pytest.raises(ValueError, match="does not broadcast"):
        gj.addmm(gj.ones(4, 5), m, gj.tensor(M45))
    with pytest.raises(ValueError, match="chain_matmul: expects at least one"):
        gj.chain_matmul()
    with pytest.raises(TypeError, match="addcdiv: integer division"):
        gj.addcdiv(gj.tensor([1]), gj.tensor([1]), gj.tensor([2]))
    with pytest.raises(TypeError, match="norm: expects a floating point"):
        gj.norm(gj.tensor([1, 2]))
    with pytest.raises(ValueError, match="norm: p='nuc' is not supported"):
        gj.norm(m, "nuc")
    with pytest.raises(TypeError, match="renorm: expects a floating point"):
        gj.renorm(gj.tensor([[1, 2]]), 2, 0, 1.0)
    with pytest.raises(ValueError, match="split_with_sizes: split_sizes"):
        gj.split_with_sizes(m, [1, 2], 1)
    with pytest.raises(ValueError, match="sum_to_size: size"):
        m.sum_to_size(2)
    with pytest.raises(ValueError, match="cross: no dim of size 3"):
        v.cross(v)
    with pytest.raises(ValueError, match="unbind: dim 0 needs a size fixed"):
        gj.unbind(gj.placeholder("x", (None, 2)))


def test_index_functions_reject_bad_input():
    m = gj.tensor(M34)
    with pytest.raises(ValueError, match="scatter_reduce: reduce must be one of"):
        gj.scatter_reduce(m, 0, gj.tensor(np.array([[0]])), m, "max")
    with pytest.raises(TypeError, match="masked_scatter: mask must be bool"):
        gj.masked_scatter(m, m, m)
    with pytest.raises(IndexError):
        gj.masked_scatter(m, m > -100, gj.ones(3))  # 12 places, 3 values
    with pytest.raises(ValueError, match="index_fill: value must be a number or a 0-d"):
        gj.index_fill(m, 0, gj.tensor(np.array([0])), gj.ones(2))
    with pytest.raises(TypeError, match="index_put: indices must be a non-empty tuple"):
        gj.index_put(m, gj.tensor(np.array([0])), 1.0)
    with pytest.raises(IndexError):
        gj.index_put(m, (gj.tensor(np.array([3])),), 1.0)
    with pytest.raises(TypeError, match="index_copy: index must be an int tensor"):
        gj.index_copy(m, 0, gj.tensor(np.array([0.0])), m[:1])


def test_torch_errors_agree_on_what_is_bad():
    torch = pytest.importorskip("torch", reason="the comparisons with PyTorch need torch")
    bad = [
        lambda m: m.addmm(m.ones(3), m.ones(2, 3, 3), m.ones(3, 2)),
        lambda m: m.bmm(m.ones(2, 2, 2), m.ones(3, 2, 2)),
        lambda m: m.ones(2, 3).sum_to_size(2),
        lambda m: m.split_with_sizes(m.ones(4), [1, 2]),
        lambda m: m.ones(2).register_hook(lambda g: g),
        lambda m: m.norm(m.tensor([1, 2])),
    ]
    for fn in bad:
        with pytest.raises((RuntimeError, ValueError, TypeError)):
            fn(torch)
        with pytest.raises((RuntimeError, ValueError, TypeError)):
            fn(gj)


def test_new_tensors_take_dtype_and_device_of_self():
    torch = pytest.importorskip("torch", reason="the comparisons with PyTorch need torch")
    for dtype in ("float32", "int64"):
        ours = gj.tensor(np.arange(6).reshape(2, 3).astype(dtype))
        theirs = torch.tensor(np.arange(6).reshape(2, 3).astype(dtype))
        for make in (
            lambda t: t.new_zeros(2, 3),
            lambda t: t.new_ones((4,)),
            lambda t: t.new_full((2, 2), 7),
            lambda t: t.new_empty(3, 1),
            lambda t: t.new_tensor([[1, 2]]),
            lambda t: t.new_zeros(
                2, dtype=gj.float64 if isinstance(t, gj.Tensor) else torch.float64
            ),
        ):
            got, want = make(ours), make(theirs)
            assert got.dtype == str(want.dtype).removeprefix("torch.")
            assert got.shape == tuple(want.shape) and got.device == ours.device
        np.testing.assert_array_equal(ours.new_full((2,), 7).numpy(), [7, 7])
    leaf = gj.ones(2).new_zeros(2, requires_grad=True)
    assert leaf.requires_grad and leaf.is_leaf
    # a node makes a constant of its dtype: it enters graphs as any tensor does
    x = gj.placeholder("x", (3,), dtype="float32")
    f = gj.compile([x], [x + x.new_ones(3)], backend="numpy")
    assert f(np.zeros(3, dtype="float32"))[0].tolist() == [1.0, 1.0, 1.0]


def test_introspection_matches_torch():
    torch = pytest.importorskip("torch", reason="the comparisons with PyTorch need torch")
    for dtype in ("float32", "float64", "int32", "int64", "int16", "int8", "uint8", "bool"):
        a = np.arange(12).reshape(3, 4).astype(dtype)
        ours, theirs = gj.tensor(a), torch.tensor(a)
        for probe in ("is_floating_point", "is_complex", "is_signed", "element_size",
                      "ndimension", "dim", "is_contiguous", "get_device", "stride",
                      "storage_offset"):  # fmt: skip
            assert getattr(ours, probe)() == getattr(theirs, probe)(), (dtype, probe)
        assert (ours.itemsize, ours.nbytes, ours.is_cpu) == (
            theirs.itemsize,
            theirs.nbytes,
            theirs.is_cpu,
        )
        got = ours.type_as(gj.ones(1, dtype="float32"))
        assert got.dtype == str(theirs.type_as(torch.ones(1, dtype=torch.float32)).dtype)[6:]
    m = gj.tensor(np.arange(12.0).reshape(3, 4))
    t = torch.tensor(np.arange(12.0).reshape(3, 4))
    assert m.t().stride() == t.t().stride() and m.t().is_contiguous() == t.t().is_contiguous()
    assert m.t().stride(-1) == t.t().stride(-1)
    view = gj.from_numpy(m.numpy()[1:, 2:])
    assert view.storage_offset() == t[1:, 2:].storage_offset() == 6
    with pytest.raises(IndexError, match="stride: dim 2"):
        m.stride(2)
    # contiguous() gives a C-ordered copy of a transposed tensor, on the tape
    w = gj.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    c = w.t().contiguous()
    assert c.is_contiguous() and c.stride() == (2, 1) and w.contiguous() is w
    (c * gj.tensor(np.arange(6.0).reshape(3, 2))).sum().backward()
    assert w.grad.tolist() == [[0.0, 2.0, 4.0], [1.0, 3.0, 5.0]]


def test_graph_nodes_have_the_static_introspection_and_refuse_the_eager_only():
    x = gj.placeholder("x", (2, 3), dtype="float32")
    assert x.is_floating_point() and x.is_signed() and not x.is_complex()
    assert (x.element_size(), x.itemsize, x.nbytes, x.ndimension()) == (4, 4, 24, 2)
    assert x.type_as(gj.placeholder("i", (1,), dtype="int64")).dtype == "int64"
    for probe in ("stride", "storage_offset", "is_contiguous", "get_device", "register_hook",
                  "retain_grad", "new_tensor"):  # fmt: skip
        with pytest.raises(TypeError, match=f"{probe}: a graph node has no memory"):
            getattr(x, probe)(lambda g: g) if probe == "register_hook" else getattr(x, probe)()
    for prop in ("is_cpu", "retains_grad"):
        with pytest.raises(TypeError, match=f"{prop}: a graph node"):
            getattr(x, prop)
    with pytest.raises(ValueError, match="numel"):
        _ = gj.placeholder("y", (None, 3)).nbytes


def test_retains_grad_follows_pytorch():
    leaf = gj.tensor([1.0, 2.0], requires_grad=True)
    leaf.retain_grad()
    mid = leaf * 2
    assert not leaf.retains_grad and not mid.retains_grad
    mid.retain_grad()
    assert mid.retains_grad
    (mid * mid).sum().backward()
    assert mid.grad.tolist() == [4.0, 8.0]


def _hook_story(lib):
    """Hooks on a leaf, on an intermediate (replacing its gradient) and on the root, one
    removed; backward and autograd.grad."""
    seen = []
    leaf = lib.tensor([1.0, 2.0], requires_grad=True)
    leaf.register_hook(lambda g: seen.append(g.tolist()))
    mid = leaf * 3
    mid.register_hook(lambda g: g * 10)
    gone = mid.register_hook(lambda g: g * 1000)
    gone.remove()
    root = (mid * mid).sum()
    root.register_hook(lambda g: g + 1)
    root.backward()
    first = leaf.grad.tolist()
    leaf.register_hook(lambda g: g * 2)
    grad = lib.autograd.grad if lib is not gj else gj.grad
    (g_leaf,) = grad([(leaf * leaf).sum()], [leaf])
    y = leaf * 1
    y.register_hook(lambda g: -g)
    (g_y,) = grad([(y * y).sum()], [y])
    return first, seen, g_leaf.tolist(), g_y.tolist()


def test_register_hook_matches_torch():
    torch = pytest.importorskip("torch", reason="the comparisons with PyTorch need torch")
    assert _hook_story(gj) == _hook_story(torch)


def test_register_hook_rules():
    t = gj.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="must be callable"):
        t.register_hook(3)
    with pytest.raises(gj.TensorUsageError, match="does not require grad"):
        gj.tensor([1.0]).register_hook(lambda g: g)
    t.register_hook(lambda g: gj.ones(3))
    with pytest.raises(ValueError, match="register_hook: a hook returned a gradient of shape"):
        (t * t).sum().backward()
    # the hook sees the whole gradient once, summed over every use
    u = gj.tensor([1.0], requires_grad=True)
    calls = []
    u.register_hook(lambda g: calls.append(g.item()))
    (u * 2 + u * 3).sum().backward()
    assert calls == [5.0]


UNIT = RNG.uniform(0.1, 0.9, (3, 4))
# in-place method -> its arguments (built from lib); applied to a copy of UNIT
IN_PLACE = {
    **{name: lambda m: () for name in (
        "abs_", "neg_", "negative_", "exp_", "expm1_", "log_", "log1p_", "log2_", "log10_",
        "sqrt_", "rsqrt_", "sigmoid_", "tanh_", "relu_", "sin_", "cos_", "tan_", "floor_",
        "ceil_", "round_", "trunc_", "frac_", "sign_", "sgn_", "reciprocal_", "square_", "erf_",
        "logit_")},
    "xlogy_": lambda m: (m.tensor(UNIT[::-1].copy()),),
    "true_divide_": lambda m: (m.tensor(V4 + 3),),
    "subtract_": lambda m: (m.tensor(V4),),
    "remainder_": lambda m: (0.3,),
    "floor_divide_": lambda m: (0.3,),
    "atan2_": lambda m: (m.tensor(M34),),
    "hypot_": lambda m: (m.tensor(M34),),
    "copysign_": lambda m: (m.tensor(M34),),
    "lerp_": lambda m: (m.tensor(M34), 0.3),
    "clamp_min_": lambda m: (0.5,),
    "clamp_max_": lambda m: (0.5,),
    "addcmul_": lambda m: (m.tensor(M34), m.tensor(V4)),
    "addcdiv_": lambda m: (m.tensor(M34), m.tensor(AWAY)),
    "addmm_": lambda m: (m.tensor(M34[:, :3]), m.tensor(M34)),
    "addr_": lambda m: (m.tensor(V3), m.tensor(V4)),
    "addbmm_": lambda m: (m.tensor(B234[:, :, :1]), m.tensor(M34[None, :1].repeat(2, 0))),
    "renorm_": lambda m: (2, 0, 0.5),
    "masked_fill_": lambda m: (m.tensor(M34 > 0), 2.0),
    "masked_scatter_": lambda m: (m.tensor(M34 > 0), m.tensor(M45)),
    "index_fill_": lambda m: (1, m.tensor(np.array([0, 3])), -1.0),
    "index_copy_": lambda m: (0, m.tensor(np.array([2])), m.tensor(M34[:1])),
    "index_put_": lambda m: ((m.tensor(np.array([0, 1])), m.tensor(np.array([3, 3]))),
                             m.tensor(V4[:2]), True),
    "index_add_": lambda m: (1, m.tensor(np.array([0, 0])), m.tensor(M34[:, :2])),
    "scatter_": lambda m: (0, m.tensor(np.array([[2, 0, 1, 1]])), m.tensor(M34[:1])),
    "scatter_add_": lambda m: (0, m.tensor(np.array([[2, 0, 1, 1]])), m.tensor(M34[:1])),
    "scatter_reduce_": lambda m: (1, m.tensor(np.array([[0, 0]] * 3)), m.tensor(M34[:, :2]),
                                  "amax"),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(IN_PLACE))
def test_in_place_methods_match_torch(name):
    torch = pytest.importorskip("torch", reason="the comparisons with PyTorch need torch")
    weights = RNG.standard_normal(UNIT.shape)
    results = []
    for lib in (gj, torch):
        plain = lib.tensor(UNIT.copy())
        assert getattr(plain, name)(*IN_PLACE[name](lib)) is plain
        results.append([plain.numpy()])
        if name == "floor_divide_":  # PyTorch has no derivative for it
            continue
        x = lib.tensor(UNIT.copy(), requires_grad=True)
        y = x * 1
        getattr(y, name)(*IN_PLACE[name](lib))
        (y * lib.tensor(weights)).sum().backward()
        # piecewise constant: no gradient here, a zero one (or none) in PyTorch
        grad = np.zeros(UNIT.shape) if x.grad is None else np.array((x.grad + 0).tolist())
        results[-1] += [y.detach().numpy(), grad]
    for got, want in zip(*results):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12, err_msg=name)


def test_in_place_methods_write_into_shared_memory_and_refuse_graphs():
    a = np.ones(3)
    t = gj.from_numpy(a)
    t.addcmul_(gj.tensor([1.0, 2.0, 3.0]), gj.tensor([2.0, 2.0, 2.0]), value=0.5)
    assert a.tolist() == [2.0, 3.0, 4.0]  # the numpy array sharing the tensor's memory sees it
    leaf = gj.tensor([1.0], requires_grad=True)
    with pytest.raises(gj.TensorUsageError, match="addcdiv_: a leaf tensor that requires grad"):
        leaf.addcdiv_(leaf, leaf)
    with gj.no_grad():  # an optimiser step
        leaf.addcdiv_(gj.tensor([1.0]), gj.tensor([4.0]), value=-2)
    assert leaf.tolist() == [0.5]
    with pytest.raises(TypeError, match="exp_: a graph value never changes"):
        gj.placeholder("x", (2,)).exp_()
    with pytest.raises(ValueError, match="addr_: a value of shape"):
        gj.ones(2).addr_(gj.ones(2), gj.ones(2))


def test_jit_traces_the_new_methods_as_they_run_eagerly():
    def fn(a, b, c):
        rows = a.addmm(b, c, beta=0.5).norm(dim=1, keepdim=True)
        picked = a.index_fill(1, gj.tensor(np.array([0])), 0.0).scatter_reduce(
            1, gj.tensor(np.array([[1, 1, 2, 2, 0]] * 3)), a, "amax"
        )
        return (rows * picked.addcmul(a, a, value=0.1).logsumexp(1, keepdim=True)).sum()

    compiled = gj.jit(fn)
    inputs = [M35, M34, M45]
    for call in (fn, compiled):
        ts = [gj.tensor(x, requires_grad=True) for x in inputs]
        out = call(*ts)
        out.backward()
        if call is fn:
            want = (out.item(), [t.grad.numpy().copy() for t in ts])
        else:
            np.testing.assert_allclose(out.item(), want[0], rtol=1e-12)
            for t, g in zip(ts, want[1]):
                np.testing.assert_allclose(t.grad.numpy(), g, rtol=1e-10, atol=1e-12)


def test_hooks_see_gradients_through_a_jit_call():
    @gj.jit
    def energy(a):
        return (a * a).sum()

    x = gj.tensor([1.0, 2.0], requires_grad=True)
    x.register_hook(lambda g: g * 10)
    energy(x).backward()
    assert x.grad.tolist() == [20.0, 40.0]
    y = x * 1
    y.register_hook(lambda g: g + 1)
    energy(y).backward()
    assert x.grad.tolist() == [20.0 + 30.0, 40.0 + 50.0]  # (2y + 1) * 10 more


GRADCHECK = {
    "addbmm": lambda c, a: gj.addbmm(c[:3, :3], gj.stack([a, a * 2]), gj.stack([a.T, a.T]),
                                     beta=0.5, alpha=2),
    "addcdiv": lambda c, a: gj.addcdiv(c, a, c * c + 1, value=0.3),
    "xlogy": lambda c, a: gj.xlogy(a, c * c + 0.5),
    "logit": lambda c, a: gj.logit(gj.sigmoid(a), eps=0.01),
    "norm": lambda c, a: gj.norm(a, 3, dim=1) + gj.norm(a, dim=0).sum(),
    "renorm": lambda c, a: gj.renorm(a, 2, 0, 1.0),
    "dist": lambda c, a: gj.dist(a, c, 1.5),
    "scatter_reduce prod": lambda c, a: gj.scatter_reduce(
        a, 1, np.array([[0, 0, 1, 1]] * 3), c, "prod", include_self=False),
    "scatter_reduce mean": lambda c, a: gj.scatter_reduce(
        a, 0, np.array([[0, 0, 1, 1]]), c[:1], "mean"),
    "index_put": lambda c, a: gj.index_put(a, (np.array([0, 0]), np.array([1, 2])), c[0, :2],
                                           accumulate=True),
    "masked_scatter": lambda c, a: gj.masked_scatter(a, np.eye(3, 4, dtype=bool), c),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(GRADCHECK))
def test_second_order_gradients_match_finite_differences(name):
    assert gradcheck(lambda c, a: gj.sum(GRADCHECK[name](c, a) ** 2), [M34 + 0.1, POS])
