"""The eager Tensor: every op's value and gradients against the static graph and finite
differences, then autograd semantics (accumulation, create_graph, no_grad, detach, in-place rules),
memory sharing, creation, PyTorch-named methods, graph interop and error messages."""

from __future__ import annotations

import copy
import pickle
from typing import Any

import numpy as np
import pytest

import graphjit as gj
from graphjit import ir
from graphjit.errors import TensorUsageError
from graphjit.ops import OPS
from graphjit.ops import dispatch as ops_base
from graphjit.ops.dispatch import apply
from graphjit.ops.leaves import CONSTANT, VARIABLE, constant_value
from graphjit.tensor.device import gpu_problem
from tests.codegen.cases import CASES

LEAVES = {"placeholder", "constant", "variable"}
BUILDS = sorted({fn for fns in CASES.values() for fn in fns}, key=lambda fn: fn.__name__)


# --------------------------------------------------------------------------------------------------
# every op: replay each registry case eagerly and compare with the graph


def replay(outputs: list[ir.Node], feeds: dict[ir.Node, gj.Tensor]) -> list[gj.Tensor]:
    """Run a graph op by op on eager tensors (through gj's own dispatch)."""
    values: dict[int, object] = {}
    for n in ir.toposort(outputs):
        if n in feeds:
            values[id(n)] = feeds[n]
        elif n.op is CONSTANT:
            values[id(n)] = gj.tensor(constant_value(n))
        elif n.op is VARIABLE:
            values[id(n)] = gj.from_numpy(n.storage.array)
        else:
            values[id(n)] = apply(n.op, *[values[id(x)] for x in n.inputs], **n.attrs)
    return [values[id(o)] for o in outputs]  # type: ignore[misc]


def eager_case(build, record: set[str] | None = None):
    """The case's output, first and second derivatives, computed eagerly, and the same from the
    graph (mirroring tests/codegen/test_registry_cpu.py)."""
    inputs, out, feeds = build("float64", np.random.default_rng(0))
    floats = [x for x in inputs if x.dtype == "float64"]
    # the graph
    loss = gj.sum(out * gj.cos(out))
    grads = gj.grad(loss, floats)
    second = gj.grad(
        gj.sum(gj.concatenate([gj.reshape(g * gj.sin(g), (-1,)) for g in grads])), floats
    )
    want = gj.compile(inputs, [out, *grads, *second], backend="numpy")(*feeds)
    # eagerly, on the same ops
    ts = {x: gj.tensor(f, requires_grad=x.dtype == "float64") for x, f in zip(inputs, feeds)}
    (e_out,) = replay([out], ts)
    e_loss = gj.sum(e_out * gj.cos(e_out))
    e_grads = gj.grad(e_loss, [ts[x] for x in floats], create_graph=True)
    flat = gj.concatenate([gj.reshape(g * gj.sin(g), (-1,)) for g in e_grads])
    e_second = gj.grad(gj.sum(flat), [ts[x] for x in floats])
    return [e_out, *e_grads, *e_second], want


@pytest.mark.parametrize("build", BUILDS, ids=[fn.__name__ for fn in BUILDS])
def test_eager_values_and_gradients_match_the_graph(build) -> None:
    got, want = eager_case(build)
    for i, (g, w) in enumerate(zip(got, want)):
        assert isinstance(g, gj.Tensor)
        assert g.dtype == w.dtype and g.shape == w.shape, f"result {i}"
        np.testing.assert_allclose(g.numpy(), w, rtol=1e-9, atol=1e-10, err_msg=f"result {i}")


@pytest.mark.parametrize("build", BUILDS, ids=[fn.__name__ for fn in BUILDS])
def test_eager_gradients_match_finite_differences(build) -> None:
    inputs, out, feeds = build("float64", np.random.default_rng(1))
    floats = [i for i, x in enumerate(inputs) if x.dtype == "float64"]
    c = np.random.default_rng(2).standard_normal(
        tuple(int(d) for d in np.shape(gj.compile(inputs, [out], backend="numpy")(*feeds)[0]))
    )

    def f(arrays: list[np.ndarray], grad: bool = False):
        ts = {x: gj.tensor(a, requires_grad=grad and i in floats)
              for i, (x, a) in enumerate(zip(inputs, arrays))}  # fmt: skip
        (y,) = replay([out], ts)
        return gj.sum(y * c), [ts[inputs[i]] for i in floats]

    loss, ts = f(feeds, grad=True)
    loss.backward()
    eps = 1e-6
    for i, t in zip(floats, ts):
        fd = np.zeros_like(feeds[i])
        for j in range(feeds[i].size):
            plus = [a.copy() for a in feeds]
            minus = [a.copy() for a in feeds]
            plus[i].reshape(-1)[j] += eps
            minus[i].reshape(-1)[j] -= eps
            fd.reshape(-1)[j] = (f(plus)[0].item() - f(minus)[0].item()) / (2 * eps)
        np.testing.assert_allclose(t.grad.numpy(), fd, rtol=1e-5, atol=1e-6)


def test_every_registered_op_runs_eagerly(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forward, backward and double backward of all the cases run every op in the registry."""
    seen: set[str] = set()
    eager = ops_base._eager
    run, run_fast = type(eager).run, type(eager).run_fast

    def recording_run(op, args, attrs):  # type: ignore[no-untyped-def]
        seen.add(op.name)
        return run(op, args, attrs)

    def recording_run_fast(op, args, attrs):  # type: ignore[no-untyped-def]
        out = run_fast(op, args, attrs)
        if out is not None:  # else the general path runs it
            seen.add(op.name)
        return out

    monkeypatch.setattr(eager, "run", recording_run)
    monkeypatch.setattr(eager, "run_fast", recording_run_fast)
    for build in BUILDS:
        eager_case(build)
    # concatenate_part is the gradient of concatenate along a None-sized axis; eager tensors always
    # have fixed sizes, so run it directly
    g, a, b = gj.ones(5, 2), gj.zeros(2, 2), gj.zeros(3, 2)
    part = ops_base.apply(OPS["concatenate_part"], g, a, b, axis=0, index=1)
    assert tuple(part.shape) == (3, 2)
    assert sorted(set(OPS) - LEAVES - seen) == []


# --------------------------------------------------------------------------------------------------
# the seeds' autograd examples


def test_polynomial_gradient() -> None:
    x = gj.tensor(2.0, requires_grad=True)
    y = x**2 + 3 * x
    y.backward()
    assert y.item() == 10.0
    assert x.grad.item() == 7.0


def test_linear_gradients_and_a_constant_input() -> None:
    x = gj.tensor(3.0)
    w = gj.tensor(4.0, requires_grad=True)
    b = gj.tensor(5.0, requires_grad=True)
    y = w * x + b
    y.backward()
    assert x.grad is None
    assert w.grad.item() == 3.0 and b.grad.item() == 1.0


def test_mean_of_squares_gives_4_5_everywhere() -> None:
    x = gj.ones(2, 2, requires_grad=True)
    y = x + 2
    z = y * y * 3
    out = z.mean()
    assert type(y.grad_fn).__name__ == "AddBackward0"
    assert type(z.grad_fn).__name__ == "MulBackward0"
    assert out.grad_fn.name() == "MeanBackward0"
    assert x.grad_fn is None and x.is_leaf and not y.is_leaf
    out.backward()
    assert out.item() == 27.0
    np.testing.assert_array_equal(x.grad.numpy(), np.full((2, 2), 4.5))


def test_gradient_descent_on_a_square() -> None:
    x = gj.tensor([2.0], requires_grad=True)
    for _ in range(100):
        y = x**2
        y.backward()  # a one-element output needs no gradient argument
        x.data = x.data - 0.1 * x.grad.data
        x.grad.zero_()
    assert abs(x.item()) < 1e-8
    assert x.requires_grad and x.is_leaf


# --------------------------------------------------------------------------------------------------
# autograd semantics


def test_grad_accumulates_across_backward_calls() -> None:
    x = gj.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    first = x.grad
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [5.0, 7.0])
    assert x.grad is first  # accumulated in place, as PyTorch
    x.grad = None
    (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])


def test_shared_gradients_do_not_alias() -> None:
    a = gj.tensor([1.0], requires_grad=True)
    b = gj.tensor([1.0], requires_grad=True)
    g = gj.tensor([1.0])
    (a + b).backward(g)
    a.grad.add_(10)
    assert b.grad.item() == 1.0 and g.item() == 1.0


def test_backward_frees_the_tape_unless_retained() -> None:
    x = gj.tensor(2.0, requires_grad=True)
    y = gj.exp(x) * x
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.item(), 2 * 3 * np.exp(2.0))
    with pytest.raises(RuntimeError, match=r"second time.*retain_graph=True"):
        y.backward()


def test_create_graph_gives_second_derivatives() -> None:
    x = gj.tensor(2.0, requires_grad=True)
    y = x**3
    (g,) = gj.grad(y, [x], create_graph=True)
    assert g.item() == 12.0 and g.requires_grad
    (h,) = gj.grad(g, [x])
    assert h.item() == 12.0  # 6x
    assert not h.requires_grad
    x2 = gj.tensor([1.0, 2.0], requires_grad=True)
    (gj.sin(x2).sum()).backward(create_graph=True)
    assert x2.grad.requires_grad
    x2.grad.sum().backward()
    np.testing.assert_allclose(x2.grad.numpy(), np.cos([1.0, 2.0]) - np.sin([1.0, 2.0]))


def test_grad_on_tensors_follows_gj_grad() -> None:
    x = gj.tensor([1.0, 2.0], requires_grad=True)
    unused = gj.tensor(5.0, requires_grad=True)
    y = (x * x).sum()
    gx, gu = gj.grad(y, [x, unused])
    np.testing.assert_array_equal(gx.numpy(), [2.0, 4.0])
    assert gu.item() == 0.0 and gu.shape == ()
    assert x.grad is None  # gj.grad leaves .grad alone
    single = gj.grad((x * 3).sum(), x)
    assert isinstance(single, gj.Tensor)
    with pytest.raises(ValueError, match="one-element"):
        gj.grad(x * 2, [x])
    (v,) = gj.vjp(x * 2, [x], gj.tensor([1.0, 10.0]))
    np.testing.assert_array_equal(v.numpy(), [2.0, 20.0])


def test_backward_of_a_non_scalar_needs_a_gradient() -> None:
    x = gj.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match=r"shape \(2,\); pass gradient="):
        y.backward()
    y.backward(gj.tensor([1.0, 0.5]))
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 1.0])
    with pytest.raises(ValueError, match="gradient has shape"):
        (x * 2).backward(gj.ones(3))


def test_backward_without_requires_grad_explains() -> None:
    with pytest.raises(RuntimeError, match="does not require grad"):
        gj.tensor(1.0).backward()


def test_retain_grad_and_inputs() -> None:
    x = gj.tensor([1.0, 2.0], requires_grad=True)
    w = gj.tensor(3.0, requires_grad=True)
    h = x * w
    h.retain_grad()
    h.sum().backward(inputs=[x])
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])
    assert w.grad is None
    assert h.grad is None  # only the inputs asked for
    h = x * w
    h.retain_grad()
    h.sum().backward()
    np.testing.assert_array_equal(h.grad.numpy(), [1.0, 1.0])


def test_no_grad_and_enable_grad() -> None:
    x = gj.tensor(1.0, requires_grad=True)
    with gj.no_grad():
        y = x * 2
        assert not gj.is_grad_enabled()
        with gj.enable_grad():
            z = x * 2
    assert gj.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad

    @gj.no_grad()
    def f(t):  # type: ignore[no-untyped-def]
        return t * 3

    @gj.no_grad
    def g(t):  # type: ignore[no-untyped-def]
        return t * 3

    assert not f(x).requires_grad and not g(x).requires_grad
    with gj.set_grad_enabled(False):
        assert not (x * 1).requires_grad
    assert (x * 1).requires_grad


def test_no_grad_restores_the_mode_after_an_exception() -> None:
    with pytest.raises(ZeroDivisionError), gj.no_grad():
        1 / 0  # noqa: B018
    assert gj.is_grad_enabled()


def test_detach_shares_memory_and_cuts_the_tape() -> None:
    x = gj.tensor([1.0, 2.0], requires_grad=True)
    d = (x * 2).detach()
    assert not d.requires_grad and d.is_leaf
    e = x.detach()
    e.numpy()[0] = 7.0
    assert x[0].item() == 7.0


def test_requires_grad_rules() -> None:
    with pytest.raises(RuntimeError, match="floating point"):
        gj.tensor([1, 2], requires_grad=True)
    t = gj.tensor([1.0]).requires_grad_()
    assert t.requires_grad
    y = t * 2
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad = False
    t.requires_grad = False
    assert not (t * 2).requires_grad
    assert not (gj.tensor([1.0], requires_grad=True) > 0).requires_grad  # bool results


def test_integer_inputs_get_no_gradient() -> None:
    x = gj.tensor([1.0, 2.0], requires_grad=True)
    i = gj.tensor([0, 1])
    y = (x * i).sum()
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 1.0])
    assert i.grad is None


def test_deep_chains_do_not_hit_the_recursion_limit() -> None:
    x = gj.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0001
    y.backward()
    np.testing.assert_allclose(x.grad.item(), 1.0001**5000)


# --------------------------------------------------------------------------------------------------
# in place


def test_in_place_ops_write_into_the_array() -> None:
    t = gj.ones(5)
    n = t.numpy()
    assert t.add_(1) is t
    np.testing.assert_array_equal(n, 2.0)
    t.sub_(0.5).mul_(2)
    np.testing.assert_array_equal(n, 3.0)
    t.add_(gj.ones(5), alpha=2)
    np.testing.assert_array_equal(n, 5.0)
    t.copy_(np.arange(5))
    np.testing.assert_array_equal(n, np.arange(5.0))
    t.zero_()
    np.testing.assert_array_equal(n, 0.0)
    t += 3
    t *= 2
    np.testing.assert_array_equal(n, 6.0)
    t[1:3] = 0
    t[gj.tensor([True, False, False, False, True])] = -1
    np.testing.assert_array_equal(n, [-1, 0, 0, 6, -1])


def test_in_place_casting_rules() -> None:
    i = gj.tensor([1, 2])
    with pytest.raises(TypeError, match="float64 values in a int64"):
        i.add_(0.5)
    i.copy_(gj.tensor([3.7, 4.2]))  # copy_ casts as PyTorch does
    assert i.tolist() == [3, 4]
    with pytest.raises(ValueError, match="does not fit"):
        gj.ones(2).add_(gj.ones(3, 2))
    frozen = np.ones(2)
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match=r"read-only.*clone\(\)"):
        gj.from_numpy(frozen).add_(1)


def test_modifying_a_leaf_that_requires_grad_raises() -> None:
    w = gj.tensor([1.0, 2.0], requires_grad=True)
    for op in (lambda: w.add_(1), lambda: w.zero_(), lambda: w.copy_(np.ones(2)),
               lambda: w.mul_(2)):  # fmt: skip
        with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
            op()
    with pytest.raises(RuntimeError, match="requires grad"):
        w[0] = 5.0
    with gj.no_grad():  # an optimiser step
        w -= 0.5 * gj.ones(2)
        w[1] = 9.0
    np.testing.assert_array_equal(w.numpy(), [0.5, 9.0])
    assert w.is_leaf and w.requires_grad


def test_in_place_after_use_is_detected() -> None:
    x = gj.tensor([1.0, 2.0], requires_grad=True)
    c = gj.tensor([3.0, 4.0])
    y = (x * c).sum()
    c.add_(1)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.backward()


def test_in_place_on_a_non_leaf_is_recorded() -> None:
    x = gj.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    h.mul_(x)  # h = 2 x * x
    h.add_(1)
    assert h.grad_fn is not None
    h.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [4.0, 8.0])
    # a plain tensor taking in a tensor that requires grad joins the tape
    buf = gj.zeros(2)
    buf.add_(x)
    assert buf.requires_grad and not buf.is_leaf
    buf.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [5.0, 9.0])


def test_clone_is_on_the_tape() -> None:
    x = gj.tensor([1.0, 2.0], requires_grad=True)
    c = x.clone()
    assert c.requires_grad and not np.shares_memory(c.numpy(), x.numpy())
    (c * c).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])


# --------------------------------------------------------------------------------------------------
# creation, dtypes, memory sharing


def test_default_dtypes_follow_numpy() -> None:
    assert gj.tensor([1.0]).dtype == "float64"
    assert gj.tensor(2.0).shape == ()
    assert gj.tensor([1, 2]).dtype == "int64"
    assert gj.tensor([True]).dtype == "bool"
    assert gj.tensor(np.ones(2, np.float32)).dtype == "float32"
    assert gj.tensor([1, 2], dtype=gj.float).dtype == "float32"
    assert gj.tensor([1, 2], dtype="float64").dtype == "float64"
    assert gj.Tensor([1, 2, 3]).dtype == "float64"
    assert gj.Tensor(2, 3).shape == (2, 3)
    assert gj.tensor([1.0]).float().dtype == "float32"
    assert gj.tensor([1.5]).double().dtype == "float64"
    assert gj.tensor([1.5]).long().tolist() == [1]
    assert gj.tensor([1.5]).to(gj.float32).dtype == "float32"
    assert gj.tensor([1.5]).to("cpu", gj.double).dtype == "float64"


def test_tensor_copies_and_from_numpy_shares() -> None:
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    copied = gj.tensor(a)
    shared = gj.from_numpy(a)
    a[0, 0] = 10.0
    assert copied[0, 0].item() == 1.0
    assert shared[0, 0].item() == 10.0
    shared.add_(1)
    assert a[1, 1] == 5.0
    assert shared.numpy() is a
    with pytest.raises(TypeError, match="float16"):
        gj.from_numpy(np.ones(2, np.float16))
    assert gj.as_tensor(a).numpy() is a


def test_numpy_sees_in_place_changes_but_not_rebinding() -> None:
    t = gj.ones(5)
    n = t.numpy()
    t = t + 1
    np.testing.assert_array_equal(n, 1.0)


def test_creation_functions() -> None:
    assert gj.zeros(2, 3).shape == (2, 3) and gj.zeros((2, 3)).shape == (2, 3)
    assert gj.ones(3, dtype="int32").dtype == "int32"
    assert gj.full((2,), 7.0).tolist() == [7.0, 7.0]
    assert gj.arange(4).tolist() == [0, 1, 2, 3]
    assert gj.linspace(0, 1, 5, dtype=gj.float).dtype == "float32"
    assert gj.eye(3).numpy().trace() == 3.0
    assert gj.empty(2, 2).shape == (2, 2)
    p = gj.zeros(3, requires_grad=True)
    assert p.requires_grad and p.is_leaf
    assert isinstance(gj.ones(1), gj.Tensor)
    assert gj.ones_like(gj.zeros(2, 2)).tolist() == [[1.0, 1.0], [1.0, 1.0]]
    assert gj.zeros(2, device="cpu").shape == (2,)


def test_manual_seed_refuses_non_ints_and_takes_negative_seeds_modulo_2_64() -> None:
    # numpy's own errors came through: "SeedSequence expects int ...", "expected non-negative"
    with pytest.raises(TypeError, match="manual_seed: expected an int, got str 'a'"):
        gj.manual_seed("a")
    with pytest.raises(TypeError, match="manual_seed: expected an int, got float"):
        gj.manual_seed(1.5)
    gj.manual_seed(-1)
    a = gj.rand(3).tolist()
    gj.manual_seed(2**64 - 1)
    assert gj.rand(3).tolist() == a


def test_random_numbers_are_reproducible() -> None:
    gj.manual_seed(0)
    a = gj.rand(2, 3)
    b = gj.randn((4,))
    gj.manual_seed(0)
    assert np.array_equal(gj.rand(2, 3).numpy(), a.numpy())
    assert np.array_equal(gj.randn(4).numpy(), b.numpy())
    assert gj.randn(()).shape == ()
    assert a.min().item() >= 0 and a.max().item() < 1
    assert gj.rand(2, dtype=gj.float).dtype == "float32"
    r = gj.randint(0, 3, (100,))
    assert r.dtype == "int64" and set(r.tolist()) <= {0, 1, 2}
    assert gj.rand_like(gj.zeros(2, 2, dtype="int64")).dtype == "float64"
    assert gj.randn(3, requires_grad=True).requires_grad


# --------------------------------------------------------------------------------------------------
# methods


def test_python_conversions() -> None:
    t = gj.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert t.sum().item() == 10.0 and isinstance(t.sum().item(), float)
    assert t.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert t.shape == (2, 2) and t.size() == (2, 2) and t.size(1) == 2
    assert t.ndim == 2 and t.dim() == 2 and t.numel() == 4 and len(t) == 2
    assert float(t[0, 1]) == 2.0 and int(t[1, 0]) == 3
    assert [r.tolist() for r in t] == [[1.0, 2.0], [3.0, 4.0]]
    assert f"{t.sum():.1f}" == "10.0"
    assert np.asarray(t).shape == (2, 2)
    with pytest.raises(ValueError, match="4 elements"):
        t.item()
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(t)
    assert bool(t[0, 0] == 1.0)


def test_shape_methods() -> None:
    x = gj.arange(12.0).reshape(3, 4)
    assert x.view(12).shape == (12,) and x.view(2, -1).shape == (2, 6)
    assert x.reshape((4, 3)).shape == (4, 3)
    assert x.t().shape == (4, 3) and x.T.shape == (4, 3)
    y = gj.zeros(2, 3, 4)
    assert y.transpose(0, 2).shape == (4, 3, 2)
    assert y.transpose().shape == (4, 3, 2)
    assert y.permute(2, 0, 1).shape == (4, 2, 3)
    assert y.unsqueeze(1).shape == (2, 1, 3, 4)
    assert y.unsqueeze(1).squeeze(1).shape == (2, 3, 4)
    assert y.flatten().shape == (24,) and y.flatten(1).shape == (2, 12)
    assert gj.zeros(3, 1).expand(3, 4).shape == (3, 4)
    assert gj.zeros(3, 1).expand(-1, 5).shape == (3, 5)
    np.testing.assert_array_equal(x.t().numpy(), np.arange(12.0).reshape(3, 4).T)


def test_reductions_in_pytorch_spelling() -> None:
    x = gj.tensor([[1.0, 5.0, 2.0], [4.0, 0.0, 6.0]])
    assert x.sum().item() == 18.0
    assert x.sum(dim=0).tolist() == [5.0, 5.0, 8.0]
    assert x.sum(1, keepdim=True).shape == (2, 1)
    assert x.sum(axis=1, keepdims=True).shape == (2, 1)
    assert x.mean(0).tolist() == [2.5, 2.5, 4.0]
    values, indices = x.max(dim=1)
    assert values.tolist() == [5.0, 6.0] and indices.tolist() == [1, 2]
    assert x.max(1).indices.tolist() == [1, 2]
    assert x.min(dim=0).values.tolist() == [1.0, 0.0, 2.0]
    assert x.max().item() == 6.0 and x.max(axis=0).values.tolist() == [4.0, 5.0, 6.0]
    assert x.max(gj.full((2, 3), 3.0)).tolist() == [[3.0, 5.0, 3.0], [4.0, 3.0, 6.0]]
    assert x.argmax().item() == 5 and x.argmax(dim=1).tolist() == [1, 2]
    np.testing.assert_allclose(x.var().item(), np.var(x.numpy(), ddof=1))
    np.testing.assert_allclose(x.std(unbiased=False).item(), np.std(x.numpy()))


def test_elementwise_methods_and_operators() -> None:
    a = gj.tensor([1.0, 2.0, 3.0])
    b = gj.tensor([2.0, 2.0, 2.0])
    assert (a + b).tolist() == [3.0, 4.0, 5.0]
    assert (a - b).tolist() == [-1.0, 0.0, 1.0]
    assert (a * b).tolist() == a.mul(b).tolist() == [2.0, 4.0, 6.0]
    assert (a / b).tolist() == [0.5, 1.0, 1.5]
    assert (2**a).tolist() == [2.0, 4.0, 8.0] and a.pow(2).tolist() == [1.0, 4.0, 9.0]
    assert (a @ b).item() == 12.0
    assert (-a).abs().tolist() == [1.0, 2.0, 3.0]
    np.testing.assert_allclose(a.exp().log().numpy(), a.numpy())
    assert a.clamp(min=1.5, max=2.5).tolist() == [1.5, 2.0, 2.5]
    assert (a == b).tolist() == [False, True, False]
    assert (a != b).tolist() == [True, False, True]
    assert (a > b).tolist() == [False, False, True] and a.le(b).tolist() == [True, True, False]
    assert (np.ones(3) + a).tolist() == [2.0, 3.0, 4.0]  # numpy defers to the tensor
    assert isinstance(np.ones(3) + a, gj.Tensor)
    m = gj.ones(3, 3)
    assert (m @ m.t()).tolist() == [[3.0] * 3] * 3 and m.matmul(m).shape == (3, 3)
    assert {a: 1}[a] == 1  # hashable by identity


def test_indexing_follows_numpy() -> None:
    x = gj.arange(16.0).reshape(4, 4)
    assert x[0].tolist() == [0.0, 1.0, 2.0, 3.0]
    assert x[:, 0].tolist() == [0.0, 4.0, 8.0, 12.0]
    assert x[..., -1].tolist() == [3.0, 7.0, 11.0, 15.0]
    assert x[0, 1].item() == 1.0 and x[0, 1].shape == ()
    assert x[x > 13].tolist() == [14.0, 15.0]
    assert x[gj.tensor([0, 2])].shape == (2, 4)


def test_cat_and_stack() -> None:
    t = gj.ones(2, 3)
    assert gj.cat([t, t, t], dim=1).shape == (2, 9)
    assert gj.cat([t, t, t], dim=0).shape == (6, 3)
    t1 = gj.tensor([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    t2 = t1 * 10
    assert gj.stack((t1, t2), dim=0).shape == (2, 3, 3)
    assert gj.stack((t1, t2), dim=1).shape == (3, 2, 3)
    assert gj.stack((t1, t2), dim=2)[0, 0].tolist() == [1, 10]
    x = gj.tensor([1.0, 2.0], requires_grad=True)
    gj.cat([x, x * 2]).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


def test_repr_reads_like_pytorch() -> None:
    assert repr(gj.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(gj.tensor(3.0, requires_grad=True)) == "tensor(3., requires_grad=True)"
    assert repr(gj.tensor([1, 2])) == "tensor([1, 2])"
    assert repr(gj.tensor([1.0], dtype="float32")) == "tensor([1.], dtype=float32)"
    x = gj.tensor(1.0, requires_grad=True)
    assert repr(x + 2) == "tensor(3., grad_fn=<AddBackward0>)"
    assert "\n        [" in repr(gj.ones(2, 2))  # rows line up under "tensor("


def test_copy_and_pickle() -> None:
    w = gj.tensor([1.0, 2.0], requires_grad=True)
    c = copy.deepcopy(w)
    assert c.requires_grad and not np.shares_memory(c.numpy(), w.numpy())
    p = pickle.loads(pickle.dumps(w))
    assert p.tolist() == [1.0, 2.0] and p.requires_grad
    with pytest.raises(RuntimeError, match="leaf"):
        copy.deepcopy(w * 2)


def test_to_cuda_moves_or_says_why_it_cannot() -> None:
    t = gj.ones(2)
    problem = gpu_problem()
    if problem is not None:  # no GPU (nor the simulator) here: every way there says why
        with pytest.raises(RuntimeError, match=r"cannot place a tensor on cuda"):
            t.to("cuda")
        with pytest.raises(RuntimeError, match="cuda"):
            t.cuda()
        with pytest.raises(RuntimeError, match="cuda"):
            gj.zeros(2, device="cuda")
        # graph variables too: the reason, never the driver's own exception
        with pytest.raises(RuntimeError, match=r"cannot copy an array to the GPU: .*"):
            gj.variable(np.ones(2), device="cuda")
        v = gj.variable(np.ones(2))
        with pytest.raises(RuntimeError, match=r"cannot copy an array to the GPU"):
            v.to("cuda")
        assert v.device == "cpu" and v.get_value().tolist() == [1.0, 1.0]
    else:
        assert t.to("cuda").is_cuda and gj.zeros(2, device="cuda").is_cuda
    with pytest.raises(RuntimeError, match="one GPU"):
        t.to("cuda:1")
    assert t.to("cpu") is t and t.cpu() is t
    assert t.device == "cpu" and t.device == gj.device("cpu") and not t.is_cuda
    assert gj.cuda.is_available() is (problem is None)
    with pytest.raises(ValueError, match="unknown device"):
        gj.device("tpu")


def test_to_tells_an_unknown_device_from_an_unknown_dtype() -> None:
    t = gj.tensor([1.0, 2.0])
    with pytest.raises(ValueError, match=r"to\(\): unknown device 'tpu'; expected 'cpu', 'cuda'"):
        t.to("tpu")
    with pytest.raises(ValueError, match=r"to\(\): unknown device 'cuda:x'"):
        t.to("cuda:x")
    with pytest.raises(TypeError, match="unsupported dtype 'float16'"):
        t.to("float16")  # a dtype numpy knows and graphjit does not
    assert t.to("float32").dtype == "float32" and t.to("cpu", "int64").dtype == "int64"
    with pytest.raises(ValueError, match=r"Module\.to\(\): unknown device 'tpu'"):
        gj.nn.Linear(2, 2).to("tpu")
    # an int names a GPU by its index, as in PyTorch (not a dtype)
    with pytest.raises(ValueError, match=r"to\(\): unknown device 'cuda:-1'"):
        t.to(-1)
    if gj.cuda.is_available():
        assert t.to(0).is_cuda
    else:
        with pytest.raises(RuntimeError, match="cannot place a tensor on cuda:0"):
            t.to(0)


def test_a_variable_names_its_device_as_a_tensor_does() -> None:
    with pytest.raises(RuntimeError, match="one GPU, cuda:0; got 'cuda:1'"):
        gj.variable(np.ones(2), device="cuda:1")
    for bad in ("cuda:-1", "cpu:1", "gpu"):
        with pytest.raises(ValueError, match=f"unknown device '{bad}'"):
            gj.variable(np.ones(2), device=bad)
    w = gj.variable(np.ones(2))
    with pytest.raises(RuntimeError, match="one GPU"):
        w.to("cuda:2")
    assert w.to("cpu") is w and w.device == "cpu"


def test_shape_errors_raise_at_the_line() -> None:
    with pytest.raises(ValueError, match="broadcast"):
        gj.ones(2) + gj.ones(3)
    with pytest.raises(ValueError):
        gj.ones(2, 3) @ gj.ones(2, 3)


# --------------------------------------------------------------------------------------------------
# tensors in graphs


def test_a_plain_tensor_becomes_a_constant() -> None:
    x = gj.placeholder("x", (None,))
    c = gj.tensor([1.0, 2.0])
    y = x * c
    assert isinstance(y, gj.Node)
    (leaf,) = [n for n in ir.toposort([y]) if n.op.name == "constant"]
    np.testing.assert_array_equal(constant_value(leaf), [1.0, 2.0])
    f = gj.compile([x], [y], backend="numpy")
    c.add_(1)  # a constant is a copy taken when the graph was built
    np.testing.assert_array_equal(f(np.ones(2))[0], [1.0, 2.0])


def test_a_tensor_that_requires_grad_becomes_a_shared_variable() -> None:
    w = gj.tensor([1.0, 2.0], requires_grad=True)
    x = gj.placeholder("x", (2,))
    y = gj.sum(x * w)
    (var,) = ir.leaves([y], "variable")
    assert var is ops_base.as_node(w)  # one variable per tensor
    assert var.get_value(copy=False) is w.numpy()
    (gw,) = gj.grad(y, [var])
    step = gj.compile([x], [y], updates={var: var - 0.5 * gw}, backend="numpy")
    step(np.array([1.0, 1.0]))
    np.testing.assert_array_equal(w.numpy(), [0.5, 1.5])  # the eager tensor sees the update
    with gj.no_grad():
        w.mul_(2)  # and the graph sees eager changes
    assert step(np.array([1.0, 0.0]))[0] == 1.0


def test_gj_grad_on_nodes_is_unchanged() -> None:
    x = gj.placeholder("x", ())
    (g,) = gj.grad(x * x, [x])
    assert isinstance(g, gj.Node)


def test_attributes_given_as_numpy_scalars_or_lists_work_and_memoise_apart() -> None:
    """The eager path memoises each op's shape rule on its attributes as given: numpy ints and
    floats are hashable and used as they are; lists are frozen to tuples first."""
    m = gj.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    for _ in range(2):  # the second round hits the memo
        np.testing.assert_array_equal(m.sum(np.int64(0)).detach().numpy(), [3.0, 5.0, 7.0])
        np.testing.assert_array_equal(m.sum([0, 1]).detach().numpy(), 15.0)
        assert m.transpose([1, 0]).shape == (3, 2)
        filled = gj.full_like(m, np.float64(2.5)).numpy()
        np.testing.assert_array_equal(filled, np.full((2, 3), 2.5))
    m.sum([0, 1]).backward()
    np.testing.assert_array_equal(m.grad.numpy(), np.ones((2, 3)))
    with pytest.raises(TypeError, match="array attributes"):
        gj.ops.apply(gj.ops.OPS["sum"], m, axes=np.array([0]), keepdims=False)


def test_misuse_errors_are_runtime_errors_as_in_pytorch_and_value_errors_too() -> None:
    for misuse in (
        lambda: gj.tensor([1, 2], requires_grad=True),
        lambda: gj.tensor(1.0).backward(),
        lambda: (gj.tensor([1.0, 2.0], requires_grad=True) * 2).backward(),
        lambda: bool(gj.tensor([1.0, 2.0])),
    ):
        with pytest.raises(gj.TensorUsageError) as info:
            misuse()
        assert isinstance(info.value, RuntimeError) and isinstance(info.value, ValueError)


# --------------------------------------------------------------------------------------------------
# indexing, reshape and transpose give copies: an in-place change to one raises rather than
# silently missing the tensor it came from (PyTorch and numpy give views, which it would reach)


@pytest.mark.parametrize(
    "view",
    [
        lambda t: t[0],
        lambda t: t[:, 1],
        lambda t: t[0:1],
        lambda t: t.reshape(4),
        lambda t: t.T,
        lambda t: t.unsqueeze(0),
    ],
)
@pytest.mark.parametrize(
    "change",
    [
        lambda v: v.zero_(),
        lambda v: v.fill_(9.0),
        lambda v: v.mul_(2),
        lambda v: v.add_(1.0),
        lambda v: v.copy_(v * 0),
        lambda v: v.__setitem__(0, 5.0),
    ],
)
def test_an_in_place_change_to_a_view_ops_result_raises(view: Any, change: Any) -> None:
    t = gj.tensor([[1.0, 2.0], [3.0, 4.0]])
    v = view(t)
    with pytest.raises(TensorUsageError, match="graphjit computes as a copy"):
        change(v)
    assert t.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    c = view(t).clone()  # a copy on purpose
    change(c)
    assert t.tolist() == [[1.0, 2.0], [3.0, 4.0]]


def test_a_view_ops_result_that_requires_grad_refuses_in_place_changes_too() -> None:
    x = gj.tensor([1.0, 2.0], requires_grad=True)
    z = x * 1
    with pytest.raises(TensorUsageError, match="graphjit computes as a copy"):
        z[0:1].mul_(2)  # PyTorch would double x's gradient through the view
    z.sum().backward()
    assert x.grad is not None and x.grad.tolist() == [1.0, 1.0]


def test_results_of_other_ops_and_advanced_indexing_change_in_place() -> None:
    t = gj.tensor([[1.0, 2.0], [3.0, 4.0]])
    picked = t[[0]]  # advanced indexing copies in numpy and PyTorch too
    picked.zero_()
    s = t + 1
    s[0] = 0.0
    s.mul_(2)
    assert picked.tolist() == [[0.0, 0.0]] and s.tolist() == [[0.0, 0.0], [8.0, 10.0]]
    t[0] = 7.0  # writing through the tensor itself
    assert t.tolist() == [[7.0, 7.0], [3.0, 4.0]]
