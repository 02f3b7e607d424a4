"""gj.nn.functional against torch.nn.functional: values and gradients in float64, eagerly and on
graphs (the reference interpreter), plus dropout's and batch_norm's modes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import graphjit as gj
import graphjit.nn.functional as gjF  # noqa: N812 - PyTorch's spelling

torch = pytest.importorskip("torch", reason="torch is not installed: no reference to compare with")
tF = torch.nn.functional  # noqa: N816

# torch warns that kl_div's "mean" will change meaning; the cases pin today's meaning
pytestmark = pytest.mark.filterwarnings("ignore:reduction. 'mean' divides:UserWarning")

TOL = {"rtol": 1e-10, "atol": 1e-10}
R = np.random.default_rng(1234)


def _normal(*shape: int) -> np.ndarray:
    return R.normal(size=shape) * 2.0


def _uniform(*shape: int) -> np.ndarray:
    return R.uniform(0.05, 0.95, size=shape)


def _labels(n: int, c: int) -> np.ndarray:
    return R.integers(0, c, size=n).astype(np.int64)


class Case:
    """``fn(nnf, *args)`` with the same meaning for both libraries; ``diff`` are the indices of the
    arrays differentiated."""

    def __init__(
        self,
        name: str,
        fn: Callable[..., Any],
        arrays: list[np.ndarray],
        diff: tuple[int, ...],
        grad_rtol: float = TOL["rtol"],
    ) -> None:
        self.name, self.fn, self.arrays, self.diff = name, fn, arrays, diff
        self.grad_rtol = grad_rtol

    def __repr__(self) -> str:
        return self.name


def _act(name: str, grad_rtol: float = TOL["rtol"], **kw: Any) -> Case:
    return Case(
        f"{name}{kw or ''}",
        lambda nnf, x: getattr(nnf, name)(x, **kw),
        [_normal(4, 6)],
        (0,),
        grad_rtol,
    )


ACTIVATIONS = [
    _act("relu"),
    _act("relu6"),
    _act("leaky_relu"),
    _act("leaky_relu", negative_slope=0.2),
    _act("elu"),
    _act("elu", alpha=0.5),
    _act("selu"),
    _act("celu", alpha=1.5),
    _act("gelu"),
    _act("gelu", approximate="tanh"),
    _act("silu"),
    _act("mish"),
    _act("softplus"),
    _act("softplus", beta=2.0, threshold=3.0),
    _act("softsign"),
    _act("hardtanh", min_val=-0.5, max_val=2.0),
    # torch's hardsigmoid backward multiplies by the float32 constant 1.0f / 6.0f
    _act("hardsigmoid", grad_rtol=1e-7),
    _act("hardswish"),
    _act("logsigmoid"),
    _act("sigmoid"),
    _act("tanh"),
    _act("softmax", dim=1),
    _act("softmax", dim=0),
    _act("log_softmax", dim=-1),
    _act("glu"),
    _act("glu", dim=1),
]

W = _normal(5)
OTHERS = [
    Case(
        "linear",
        lambda nnf, x, w, b: nnf.linear(x, w, b),
        [_normal(3, 4), _normal(5, 4), W],
        (0, 1, 2),
    ),
    Case(
        "linear_nobias", lambda nnf, x, w: nnf.linear(x, w), [_normal(3, 4), _normal(5, 4)], (0, 1)
    ),
    Case("embedding", lambda nnf, w, i: nnf.embedding(i, w), [_normal(6, 3), _labels(7, 6)], (0,)),
    Case(
        "embedding_padding",
        lambda nnf, w, i: nnf.embedding(i, w, padding_idx=2),
        [_normal(6, 3), np.array([0, 2, 1, 2, 5])],
        (0,),
    ),
    Case("normalize", lambda nnf, x: nnf.normalize(x), [_normal(3, 4)], (0,)),
    Case("normalize_p1", lambda nnf, x: nnf.normalize(x, p=1.0, dim=0), [_normal(3, 4)], (0,)),
    Case("normalize_p3", lambda nnf, x: nnf.normalize(x, p=3.0, dim=-1), [_normal(3, 4)], (0,)),
    Case(
        "pad_constant", lambda nnf, x: nnf.pad(x, (1, 2, 0, 1), value=0.5), [_normal(2, 3, 4)], (0,)
    ),
    Case(
        "pad_reflect", lambda nnf, x: nnf.pad(x, (2, 3), mode="reflect"), [_normal(2, 3, 4)], (0,)
    ),
    Case(
        "pad_replicate",
        lambda nnf, x: nnf.pad(x, (1, 2, 2, 1), mode="replicate"),
        [_normal(2, 3, 4)],
        (0,),
    ),
    Case(
        "pad_circular",
        lambda nnf, x: nnf.pad(x, (1, 3, 2, 0), mode="circular"),
        [_normal(2, 3, 4)],
        (0,),
    ),
    Case(
        "layer_norm",
        lambda nnf, x, w, b: nnf.layer_norm(x, (3, 4), w, b),
        [_normal(2, 3, 4), _normal(3, 4), _normal(3, 4)],
        (0, 1, 2),
    ),
    Case("layer_norm_plain", lambda nnf, x: nnf.layer_norm(x, (4,)), [_normal(2, 3, 4)], (0,)),
    Case(
        "group_norm",
        lambda nnf, x, w, b: nnf.group_norm(x, 2, w, b),
        [_normal(3, 4, 5), _normal(4), _normal(4)],
        (0, 1, 2),
    ),
    Case("instance_norm", lambda nnf, x: nnf.instance_norm(x), [_normal(2, 3, 5)], (0,)),
    Case(
        "batch_norm_train",
        lambda nnf, x, w, b: nnf.batch_norm(x, None, None, w, b, training=True),
        [_normal(6, 3, 2), _normal(3), _normal(3)],
        (0, 1, 2),
    ),
    Case(
        "batch_norm_eval",
        lambda nnf, x, m, v: nnf.batch_norm(x, m, v, training=False),
        [_normal(6, 3), _normal(3), _uniform(3)],
        (0,),
    ),
    Case(
        "sdpa",
        lambda nnf, q, k, v: nnf.scaled_dot_product_attention(q, k, v),
        [_normal(2, 3, 4), _normal(2, 5, 4), _normal(2, 5, 6)],
        (0, 1, 2),
    ),
    Case(
        "sdpa_causal",
        lambda nnf, q, k, v: nnf.scaled_dot_product_attention(q, k, v, is_causal=True, scale=0.3),
        [_normal(2, 4, 4), _normal(2, 4, 4), _normal(2, 4, 3)],
        (0, 1, 2),
    ),
    Case(
        "sdpa_bool_mask",
        lambda nnf, q, k, v, m: nnf.scaled_dot_product_attention(q, k, v, attn_mask=m),
        [_normal(3, 4), _normal(5, 4), _normal(5, 2), R.random((3, 5)) < 0.7],
        (0, 1, 2),
    ),
    Case(
        "sdpa_float_mask",
        lambda nnf, q, k, v, m: nnf.scaled_dot_product_attention(q, k, v, attn_mask=m),
        [_normal(3, 4), _normal(5, 4), _normal(5, 2), _normal(3, 5)],
        (0, 1, 2, 3),
    ),
]
OTHERS[-2].arrays[3][:, 0] = True  # every query attends somewhere (a fully masked row is nan)
# the padding row holds zeros, as nn.Embedding leaves it (graphs read it as zeros)
next(c for c in OTHERS if c.name == "embedding_padding").arrays[0][2] = 0.0


def _loss(
    name: str, fn: Callable[..., Any], arrays: list[np.ndarray], diff: tuple[int, ...]
) -> list[Case]:
    return [
        Case(f"{name}-{red}", lambda nnf, *a, red=red: fn(nnf, *a, reduction=red), arrays, diff)
        for red in ("none", "mean", "sum")
    ]


CW = _uniform(4) + 0.5
LOSSES = [
    *_loss(
        "mse",
        lambda nnf, x, t, **k: nnf.mse_loss(x, t, **k),
        [_normal(3, 4), _normal(3, 4)],
        (0, 1),
    ),
    *_loss(
        "l1", lambda nnf, x, t, **k: nnf.l1_loss(x, t, **k), [_normal(3, 4), _normal(3, 4)], (0, 1)
    ),
    *_loss(
        "smooth_l1",
        lambda nnf, x, t, **k: nnf.smooth_l1_loss(x, t, beta=0.7, **k),
        [_normal(3, 4), _normal(3, 4)],
        (0, 1),
    ),
    *_loss(
        "huber",
        lambda nnf, x, t, **k: nnf.huber_loss(x, t, delta=1.3, **k),
        [_normal(3, 4), _normal(3, 4)],
        (0, 1),
    ),
    *_loss(
        "ce",
        lambda nnf, x, t, **k: nnf.cross_entropy(x, t, **k),
        [_normal(5, 4), _labels(5, 4)],
        (0,),
    ),
    *_loss(
        "ce_all_options",
        lambda nnf, x, t, w, **k: nnf.cross_entropy(
            x, t, weight=w, ignore_index=1, label_smoothing=0.2, **k
        ),
        [_normal(6, 4), np.array([0, 1, 2, 3, 1, 2]), CW],
        (0,),
    ),
    *_loss(
        "ce_spatial",
        lambda nnf, x, t, **k: nnf.cross_entropy(x, t, label_smoothing=0.1, **k),
        [_normal(2, 4, 3), R.integers(0, 4, size=(2, 3))],
        (0,),
    ),
    *_loss(
        "ce_probs",
        lambda nnf, x, t, w, **k: nnf.cross_entropy(x, t, weight=w, label_smoothing=0.3, **k),
        [_normal(5, 4), _uniform(5, 4), CW],
        (0, 1),
    ),
    *_loss(
        "nll",
        lambda nnf, x, t, w, **k: nnf.nll_loss(x, t, weight=w, ignore_index=3, **k),
        [_normal(6, 4), np.array([0, 3, 2, 1, 1, 2]), CW],
        (0,),
    ),
    *_loss(
        "bce",
        lambda nnf, x, t, w, **k: nnf.binary_cross_entropy(x, t, weight=w, **k),
        [_uniform(3, 4), _uniform(3, 4), _uniform(4)],
        (0, 1),
    ),
    *_loss(
        "bce_logits",
        lambda nnf, x, t, w, pw, **k: nnf.binary_cross_entropy_with_logits(
            x, t, weight=w, pos_weight=pw, **k
        ),
        [_normal(3, 4), _uniform(3, 4), _uniform(4), _uniform(4) + 0.5],
        (0, 1),
    ),
    *_loss(
        "kl_div",
        lambda nnf, x, t, **k: nnf.kl_div(x, t, **k),
        [_normal(3, 4), np.where(R.random((3, 4)) < 0.3, 0.0, _uniform(3, 4))],
        (0,),
    ),
    *_loss(
        "kl_div_log_target",
        lambda nnf, x, t, **k: nnf.kl_div(x, t, log_target=True, **k),
        [_normal(3, 4), _normal(3, 4)],
        (0, 1),
    ),
    Case(
        "kl_div-batchmean",
        lambda nnf, x, t: nnf.kl_div(x, t, reduction="batchmean"),
        [_normal(3, 4), _uniform(3, 4)],
        (0, 1),
    ),
    *_loss(
        "cosine_embedding",
        lambda nnf, a, b, t, **k: nnf.cosine_embedding_loss(a, b, t, margin=0.1, **k),
        [_normal(5, 3), _normal(5, 3), np.array([1, -1, 1, -1, -1])],
        (0, 1),
    ),
    *_loss(
        "margin_ranking",
        lambda nnf, a, b, t, **k: nnf.margin_ranking_loss(a, b, t, margin=0.5, **k),
        [_normal(6), _normal(6), np.array([1.0, -1.0, 1.0, -1.0, 1.0, 1.0])],
        (0, 1),
    ),
]

CASES = ACTIVATIONS + OTHERS + LOSSES


def _cotangent(shape: tuple[int, ...]) -> np.ndarray:
    return np.random.default_rng(len(shape) + 7).normal(size=shape)


def _torch_run(case: Case) -> tuple[np.ndarray, list[np.ndarray]]:
    ts = [torch.tensor(a, requires_grad=i in case.diff) for i, a in enumerate(case.arrays)]
    out = case.fn(tF, *ts)
    (out * torch.tensor(_cotangent(tuple(out.shape)))).sum().backward()
    return out.detach().numpy(), [ts[i].grad.numpy() for i in case.diff]


def _gj_eager(case: Case) -> tuple[np.ndarray, list[np.ndarray]]:
    ts = [gj.tensor(a, requires_grad=i in case.diff) for i, a in enumerate(case.arrays)]
    out = case.fn(gjF, *ts)
    (out * _cotangent(tuple(out.shape))).sum().backward()
    return out.numpy(), [ts[i].grad.numpy() for i in case.diff]


def _gj_graph(case: Case, backend: str = "numpy") -> tuple[np.ndarray, list[np.ndarray]]:
    phs = [
        gj.placeholder(f"a{i}", shape=a.shape, dtype=a.dtype.name)
        for i, a in enumerate(case.arrays)
    ]
    out = case.fn(gjF, *phs)
    loss = gj.sum(out * _cotangent(tuple(out.shape)))
    grads = gj.grad(loss, [phs[i] for i in case.diff])
    f = gj.compile(phs, [out, *grads], backend=backend)
    value, *gs = f(*case.arrays)
    return np.asarray(value), [np.asarray(g) for g in gs]


Result = tuple[np.ndarray, list[np.ndarray]]


def _assert_same(got: Result, want: Result, grad_rtol: float = TOL["rtol"]) -> None:
    np.testing.assert_allclose(got[0], want[0], **TOL)
    assert len(got[1]) == len(want[1])
    for g, w in zip(got[1], want[1]):
        np.testing.assert_allclose(g, w, rtol=grad_rtol, atol=TOL["atol"])


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_eager_values_and_gradients_match_torch(case: Case) -> None:
    _assert_same(_gj_eager(case), _torch_run(case), case.grad_rtol)


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_graph_values_and_gradients_match_torch(case: Case) -> None:
    _assert_same(_gj_graph(case), _torch_run(case), case.grad_rtol)


@pytest.mark.parametrize("name", ["gelu", "ce_all_options-mean", "layer_norm", "sdpa_causal"])
def test_compiled_cpu_matches_torch(name: str) -> None:
    (case,) = [c for c in CASES if repr(c) == name]
    _assert_same(_gj_graph(case, backend="cpu"), _torch_run(case))


@pytest.mark.parametrize("fn", ["batch_norm", "instance_norm"])
def test_running_statistics_update_as_torch(fn: str) -> None:
    x = np.random.default_rng(2).normal(size=(4, 3, 5))
    ours = [np.zeros(3), np.ones(3)]
    theirs = [torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)]
    if fn == "batch_norm":
        got = gjF.batch_norm(gj.tensor(x), *ours, training=True, momentum=0.3)
        want = tF.batch_norm(torch.tensor(x), *theirs, training=True, momentum=0.3)
    else:
        got = gjF.instance_norm(gj.tensor(x), *ours, momentum=0.3)
        want = tF.instance_norm(torch.tensor(x), *theirs, momentum=0.3)
    np.testing.assert_allclose(got.numpy(), want.numpy(), **TOL)
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o, t.numpy(), **TOL)
