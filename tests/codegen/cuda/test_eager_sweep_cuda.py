"""A sweep of the common eager Tensor methods and ``gj`` functions on cuda tensors, each against
the same call on CPU tensors: values, dtypes, shapes and devices (and the gradient where the
result is a differentiable float tensor). An op that is not supported on cuda must raise a clear
error naming it (``UNSUPPORTED``, listed in the README's CUDA section). Tiny shapes: numba's
simulator runs the whole sweep in seconds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import graphjit as gj

pytestmark = pytest.mark.cuda

X = np.array([[0.25, 0.5, 0.75], [0.125, 0.875, 0.375]])  # in (0, 1): every domain holds it
Y = np.array([[0.5, 0.25, 0.625], [0.75, 0.125, 0.5]])
I = np.array([[0, 2, 1], [1, 0, 2]])  # noqa: E741 - an int index tensor
B = np.array([[True, False, True], [False, False, True]])
V = np.array([0.5, -1.5, 2.0])

UNARY = ("exp", "log", "log1p", "expm1", "tanh", "sqrt", "sign", "square", "reciprocal", "sin",
         "cos", "tan", "sigmoid", "relu", "floor", "ceil", "round", "arctan", "arcsin", "arccos",
         "sinh", "cosh", "arcsinh", "arctanh", "exp2", "log2", "log10", "erf", "erfc", "erfinv",
         "rsqrt", "trunc", "frac", "isnan", "isinf", "isfinite", "signbit",
         "nan_to_num")  # fmt: skip

Case = Callable[..., Any]  # (x, y, i, b, v) tensors on one device -> a result

CASES: dict[str, Case] = {
    # operators
    "add": lambda x, y, i, b, v: x + y,
    "radd": lambda x, y, i, b, v: 2.0 + x,
    "sub": lambda x, y, i, b, v: x - y,
    "rsub": lambda x, y, i, b, v: 1 - x,
    "mul": lambda x, y, i, b, v: x * y,
    "truediv": lambda x, y, i, b, v: x / y,
    "rtruediv": lambda x, y, i, b, v: 1 / x,
    "pow": lambda x, y, i, b, v: x**y,
    "rpow": lambda x, y, i, b, v: 2.0**x,
    "matmul": lambda x, y, i, b, v: x @ y.T,
    "floordiv": lambda x, y, i, b, v: (x * 7) // y,
    "mod": lambda x, y, i, b, v: (x * 7) % y,
    "neg": lambda x, y, i, b, v: -x,
    "abs": lambda x, y, i, b, v: abs(v),
    "and_or_invert": lambda x, y, i, b, v: (b & (x > 0.3)) | ~b,
    "comparisons": lambda x, y, i, b, v: [x < y, x <= y, x > y, x >= y, x == y, x != y],
    # reductions
    "sum": lambda x, y, i, b, v: [x.sum(), x.sum(0), x.sum(dim=1, keepdim=True)],
    "mean": lambda x, y, i, b, v: [x.mean(), x.mean(1)],
    "prod": lambda x, y, i, b, v: x.prod(1),
    "max_min": lambda x, y, i, b, v: [x.max(), x.min(), *x.max(1), *x.min(0)],
    "amax_amin": lambda x, y, i, b, v: [x.amax(1), x.amin(0)],
    "argmax_argmin": lambda x, y, i, b, v: [x.argmax(), x.argmin(1)],
    "var_std": lambda x, y, i, b, v: [x.var(), x.std(1), x.var(0, unbiased=False)],
    "any_all": lambda x, y, i, b, v: [b.any(), b.all(1), (x > 0.1).all()],
    "logsumexp": lambda x, y, i, b, v: gj.logsumexp(x, axis=1),
    "norm-like": lambda x, y, i, b, v: (x * x).sum().sqrt(),
    "var_mean": lambda x, y, i, b, v: list(gj.var_mean(x, 1)),
    "aminmax": lambda x, y, i, b, v: list(x.aminmax(dim=1)),
    # elementwise math
    **{name: (lambda n: lambda x, y, i, b, v: getattr(x, n)())(name) for name in UNARY},
    "arccosh": lambda x, y, i, b, v: (x + 1).arccosh(),
    "binary math": lambda x, y, i, b, v: [
        x.maximum(y),
        x.minimum(y),
        x.arctan2(y),
        x.hypot(y),
        x.logaddexp(y),
        x.fmax(y),
        x.fmin(y),
        x.copysign(-y),
        x.remainder(y),
        x.floor_divide(y),
        x.lerp(y, 0.25),
    ],
    "clamp": lambda x, y, i, b, v: [x.clamp(0.3, 0.6), x.clamp(min=0.5), x.clip(0.2, 0.4)],
    "isclose": lambda x, y, i, b, v: x.isclose(x + 1e-12),
    "softmax": lambda x, y, i, b, v: [x.softmax(1), x.log_softmax(0)],
    "add_sub_alpha": lambda x, y, i, b, v: [x.add(y, alpha=2), x.sub(y, alpha=0.5)],
    "where3": lambda x, y, i, b, v: gj.where(b, x, y),
    "masked_fill": lambda x, y, i, b, v: x.masked_fill(b, -1.0),
    # dtypes
    "astype": lambda x, y, i, b, v: [x.float(), x.double(), x.long(), x.int(), b.byte(), i.bool()],
    "type": lambda x, y, i, b, v: x.type("float32"),
    # shapes
    "reshape_view": lambda x, y, i, b, v: [x.reshape(3, 2), x.view(-1), x.view_as(y.T)],
    "transpose": lambda x, y, i, b, v: [x.t(), x.T, x.transpose(0, 1), x.permute(1, 0)],
    "unsqueeze_squeeze": lambda x, y, i, b, v: [x.unsqueeze(0).squeeze(0), x[None].squeeze()],
    "flatten": lambda x, y, i, b, v: [x.flatten(), x[None].flatten(1)],
    "expand": lambda x, y, i, b, v: [v.expand(2, 3), v.expand_as(x), gj.broadcast_to(v, (4, 3))],
    "flip_roll": lambda x, y, i, b, v: [x.flip(0), x.flip(0, 1), x.roll(1, 1), x.roll(2)],
    "repeat_tile": lambda x, y, i, b, v: [x.repeat(2, 1), v.repeat_interleave(2)],
    "tril_triu_diag": lambda x, y, i, b, v: [x.tril(), x.triu(1), x.diagonal(), v.diag()],
    "trace": lambda x, y, i, b, v: (x @ y.T).trace(),
    "swap_move": lambda x, y, i, b, v: [x.swapaxes(0, 1), x[None].movedim(0, 2)],
    "narrow_chunk": lambda x, y, i, b, v: [x.narrow(1, 1, 2), *x.chunk(3, 1), *x.split(2, 1)],
    "unflatten_unfold": lambda x, y, i, b, v: [x.unflatten(1, (3, 1)), v.unfold(0, 2, 1)],
    "tensor_split": lambda x, y, i, b, v: list(x.tensor_split(2, 1)),
    "pad": lambda x, y, i, b, v: gj.pad(x, ((1, 0), (0, 2))),
    # joining
    "cat_stack": lambda x, y, i, b, v: [
        gj.cat([x, y]),
        gj.stack([x, y], 1),
        gj.concatenate([x, y], 1),
    ],
    "hstack_vstack": lambda x, y, i, b, v: [gj.hstack([x, y]), gj.vstack([x, v])],
    # indexing, gathers and scatters
    "basic getitem": lambda x, y, i, b, v: [x[1], x[:, 1:], x[::-1, ::2], x[None, ..., 0]],
    "advanced getitem": lambda x, y, i, b, v: [x[:, i], x[b], x[:, [2, 0]], x[i[:, 0], i[:, 1]]],
    "gather": lambda x, y, i, b, v: x.gather(1, i),
    "scatter": lambda x, y, i, b, v: [x.scatter(1, i, y), x.scatter_add(1, i, y)],
    "index_select_add": lambda x, y, i, b, v: [x.index_select(1, i[0]), x.index_add(1, i[0], y)],
    "take_along_axis": lambda x, y, i, b, v: x.take_along_axis(i, 1),
    "select": lambda x, y, i, b, v: x.select(1, 2),
    "masked_select": lambda x, y, i, b, v: x.masked_select(b),
    "nonzero": lambda x, y, i, b, v: [b.nonzero(), *b.nonzero(as_tuple=True)],
    # linear algebra
    "mm_dot": lambda x, y, i, b, v: [
        x.mm(y.T),
        v.dot(v),
        gj.outer(v, v),
        gj.einsum("ij,kj->ik", x, y),
    ],
    # scans, sorting, order statistics
    "cumsum_cumprod": lambda x, y, i, b, v: [x.cumsum(1), x.cumprod(0), x.logcumsumexp(1)],
    "cummax_cummin": lambda x, y, i, b, v: [*x.cummax(1), *x.cummin(0)],
    "sort": lambda x, y, i, b, v: [*x.sort(1), *x.sort(0, descending=True), x.argsort(1)],
    "topk_kth": lambda x, y, i, b, v: [*x.topk(2, 1), *x.kthvalue(2, 1)],
    "median_mode": lambda x, y, i, b, v: [*x.median(1), x.median(), *i.mode(1)],
    "searchsorted": lambda x, y, i, b, v: gj.searchsorted(gj.sort(v), x),
    "unique": lambda x, y, i, b, v: list(i.unique(return_inverse=True, return_counts=True)),
    "diff": lambda x, y, i, b, v: gj.diff(x, axis=1),
    # creation like
    "like": lambda x, y, i, b, v: [gj.zeros_like(x), gj.ones_like(i), gj.full_like(x, 3.0)],
    # nn.functional
    "activations": lambda x, y, i, b, v: [
        gj.nn.functional.gelu(x),
        gj.nn.functional.silu(x),
        gj.nn.functional.leaky_relu(x - 0.5),
        gj.nn.functional.softplus(x),
        gj.nn.functional.elu(x - 0.5),
    ],
    "losses": lambda x, y, i, b, v: [
        gj.nn.functional.mse_loss(x, y),
        gj.nn.functional.l1_loss(x, y),
        gj.nn.functional.cross_entropy(x, i[:, 0]),
        gj.nn.functional.binary_cross_entropy(x, y),
    ],
    "layer_norm": lambda x, y, i, b, v: gj.nn.functional.layer_norm(x, (3,)),
    "nn layers": lambda x, y, i, b, v: [
        gj.nn.functional.conv2d(x.reshape(1, 1, 2, 3), y[:, :2].reshape(1, 1, 2, 2)),
        gj.nn.functional.max_pool2d(x.reshape(1, 1, 2, 3), 2, 1),
        gj.nn.functional.avg_pool2d(x.reshape(1, 1, 2, 3), 2, 1),
        gj.nn.functional.interpolate(x.reshape(1, 1, 2, 3), scale_factor=2),
        gj.nn.functional.embedding(i, y.T),
        gj.nn.functional.one_hot(i, 3),
        gj.nn.functional.dropout(x, 0.5, training=False),
        gj.nn.functional.normalize(x),
        gj.nn.functional.scaled_dot_product_attention(x[None], y[None], y[None]),
    ],
    "more products": lambda x, y, i, b, v: [
        gj.kron(v, x),
        gj.inner(v, v),
        gj.cross(v, 2 * v - 1),
        gj.tensordot(x, y, 2),
    ],
    "more shapes": lambda x, y, i, b, v: [
        *gj.array_split(v, 2),
        gj.atleast_2d(v),
        gj.dstack([x, y]),
        gj.column_stack([v, v]),
        gj.partition(v, 1),
        gj.put_along_axis(x, i[:, :1], 9.0, 1),
        gj.gradient(v),
        gj.add_along_axis(x, i, y, 1),
    ],
    "creation on the device": lambda x, y, i, b, v: [
        gj.arange(3, device=x.device),
        gj.linspace(0, 1, 3, device=x.device),
        gj.eye(2, device=x.device),
        gj.full((2,), 1.5, device=x.device),
        gj.zeros(2, 1, device=x.device),
        gj.ones(3, dtype="int64", device=x.device),
    ],
    "in place": lambda x, y, i, b, v: [
        x.clone().add_(v),
        x.clone().mul_(2),
        x.clone().clamp_(0.3, 0.6),
        x.clone().sub_(y),
        x.clone().div_(y),
        x.clone().pow_(2),
        x.clone().fill_(2.0),
        x.clone().zero_(),
        x.clone().copy_(v),
        y.clone().add_(x),
        y.clone().__iadd__(1.0),
    ],
    "setitem": lambda x, y, i, b, v: [_assigned(y, dev_of=x)],
    "python values": lambda x, y, i, b, v: [
        x.sum().item(),
        bool((x > 0).all()),
        float(x.max()),
        int(i.sum()),
        len(x),
        x.tolist(),
        gj.allclose(x, x + 1e-12),
        gj.allclose(x, y),
        gj.numel(x),
        x.size(1),
    ],
}


def _assigned(y: gj.Tensor, dev_of: gj.Tensor) -> gj.Tensor:
    """``y``'s copy after assignments of every index kind (no grad: setitem refuses it)."""
    z = y.detach().clone()
    z[0, 1] = 5.0
    z[z > 0.6] = -1.0
    z[:, np.array([2, 0])] = gj.tensor([7.0, 8.0], device=dev_of.device)
    z[gj.tensor([False, True], device=dev_of.device)] = 0.25
    return z


# the cases whose gradient is compared too: those composed of several ops, with gathers, scatters
# or a data-dependent size (each op's own derivative is tested on the device op by op in
# test_registry_cuda.py; compiling every backward here would make the sweep slow)
BACKWARD = {"advanced getitem", "basic getitem", "cat_stack", "gather", "index_select_add",
            "losses", "layer_norm", "masked_select", "max_min", "median_mode", "narrow_chunk",
            "scatter", "sort", "topk_kth", "var_std", "cummax_cummin", "flip_roll",
            "tril_triu_diag", "repeat_tile", "unflatten_unfold"}  # fmt: skip


def _device_tensors(dev: str) -> tuple[gj.Tensor, ...]:
    x = gj.tensor(X, device=dev, requires_grad=True)
    y = gj.tensor(Y, device=dev)
    return x, y, gj.tensor(I, device=dev), gj.tensor(B, device=dev), gj.tensor(V, device=dev)


def _leaves(result: Any) -> list[Any]:
    if isinstance(result, (list, tuple)):
        return [leaf for r in result for leaf in _leaves(r)]
    return [result]


def _run(case: Case, dev: str, backward: bool) -> tuple[list[Any], np.ndarray | None]:
    args = _device_tensors(dev)
    outs = _leaves(case(*args))
    tensors = [o for o in outs if isinstance(o, gj.Tensor)]
    for o in tensors:
        assert o.is_cuda == (dev == "cuda"), f"a result on {o.device}, not {dev}"
    grad = None
    tracked = [o for o in tensors if o.requires_grad]
    if tracked and backward:
        total = sum((o * (k + 1.0)).sum() for k, o in enumerate(tracked))
        total.backward()
        if args[0].grad is not None:  # None where only zero derivatives (floor) reached it
            assert args[0].grad.is_cuda == (dev == "cuda")
            grad = args[0].grad.cpu().numpy()
    return outs, grad


def _assert_same(got: Any, want: Any) -> None:
    if not isinstance(want, gj.Tensor):  # a python value (item, len, allclose, ...)
        assert type(got) is type(want) and got == want
        return
    assert (got.shape, got.dtype, got.requires_grad) == (want.shape, want.dtype, want.requires_grad)
    g, w = got.detach().cpu().numpy(), want.detach().numpy()
    np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-15)


def test_the_backward_cases_are_cases() -> None:
    assert set(CASES) >= BACKWARD


@pytest.mark.parametrize("name", sorted(CASES))
def test_an_eager_op_on_cuda_equals_the_cpu(name: str) -> None:
    backward = name in BACKWARD
    want, want_grad = _run(CASES[name], "cpu", backward)
    got, got_grad = _run(CASES[name], "cuda", backward)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        _assert_same(g, w)
    assert (got_grad is None) == (want_grad is None)
    if want_grad is not None:
        np.testing.assert_allclose(got_grad, want_grad, rtol=1e-12, atol=1e-15)
