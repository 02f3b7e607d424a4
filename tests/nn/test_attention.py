"""gj.nn.MultiheadAttention: PyTorch's names and outputs, eager and as graph, against numpy."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit as gj

nn = gj.nn


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def reference(
    state: dict,
    q: np.ndarray,
    k: np.ndarray,
    v: np.ndarray,
    heads: int,
    attn_mask: np.ndarray | None = None,
    key_padding_mask: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch's multi-head attention on numpy, batch first (N, L, E): (output, weights (N, H, L,
    S) before averaging)."""
    w, b = state["in_proj_weight"], state["in_proj_bias"]
    e = q.shape[-1]
    d = e // heads

    def split(x: np.ndarray, i: int) -> np.ndarray:
        y = x @ w[i * e : (i + 1) * e].T + b[i * e : (i + 1) * e]
        return y.reshape(*x.shape[:-1], heads, d).transpose(0, 2, 1, 3)

    qh, kh, vh = split(q, 0), split(k, 1), split(v, 2)
    scores = qh @ kh.transpose(0, 1, 3, 2) / np.sqrt(d)
    if attn_mask is not None:
        scores = (
            np.where(attn_mask, -np.inf, scores) if attn_mask.dtype == bool else scores + attn_mask
        )
    if key_padding_mask is not None:
        scores = np.where(key_padding_mask[:, None, None, :], -np.inf, scores)
    weights = _softmax(scores)
    out = (weights @ vh).transpose(0, 2, 1, 3).reshape(q.shape[0], q.shape[1], e)
    return out @ state["out_proj.weight"].T + state["out_proj.bias"], weights


def _randomised(mha: nn.MultiheadAttention, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    state = {k: rng.normal(size=v.shape) * 0.5 for k, v in mha.state_dict().items()}
    mha.load_state_dict(state)
    return state


def test_parameters_and_state_dict_names_follow_pytorch() -> None:
    mha = nn.MultiheadAttention(8, 2)
    assert list(mha.state_dict()) == [
        "in_proj_weight",
        "in_proj_bias",
        "out_proj.weight",
        "out_proj.bias",
    ]
    assert mha.in_proj_weight.shape == (24, 8)
    np.testing.assert_array_equal(mha.in_proj_bias.numpy(), np.zeros(24))
    np.testing.assert_array_equal(mha.out_proj.bias.numpy(), np.zeros(8))
    bound = np.sqrt(6 / 32)
    assert np.abs(mha.in_proj_weight.numpy()).max() <= bound
    with pytest.raises(ValueError, match="divisible"):
        nn.MultiheadAttention(6, 4)


def test_eager_matches_numpy_sequence_first() -> None:
    mha = nn.MultiheadAttention(6, 3)
    state = _randomised(mha, 0)
    rng = np.random.default_rng(1)
    q, k, v = rng.normal(size=(4, 2, 6)), rng.normal(size=(5, 2, 6)), rng.normal(size=(5, 2, 6))
    out, weights = mha(gj.tensor(q), gj.tensor(k), gj.tensor(v))
    want, want_w = reference(state, *(x.transpose(1, 0, 2) for x in (q, k, v)), heads=3)
    np.testing.assert_allclose(out.numpy(), want.transpose(1, 0, 2), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(weights.numpy(), want_w.mean(1), rtol=1e-12, atol=1e-13)
    _, per_head = mha(gj.tensor(q), gj.tensor(k), gj.tensor(v), average_attn_weights=False)
    np.testing.assert_allclose(per_head.numpy(), want_w, rtol=1e-12, atol=1e-13)
    out2, none = mha(gj.tensor(q), gj.tensor(k), gj.tensor(v), need_weights=False)
    assert none is None
    np.testing.assert_allclose(out2.numpy(), out.numpy(), rtol=1e-15)


def test_masks_batch_first_and_graphs_with_unknown_dims() -> None:
    mha = nn.MultiheadAttention(4, 2, batch_first=True)
    state = _randomised(mha, 2)
    rng = np.random.default_rng(3)
    q, kv = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 5, 4))
    causal = np.triu(np.ones((3, 5), dtype=bool), 1)
    padding = np.zeros((2, 5), dtype=bool)
    padding[1, 3:] = True
    want, want_w = reference(state, q, kv, kv, 2, causal, padding)
    out, weights = mha(gj.tensor(q), gj.tensor(kv), gj.tensor(kv), padding, attn_mask=causal)
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-12, atol=1e-13)
    assert np.all(weights.numpy()[1, :, 3:] == 0)
    qs, ks = gj.placeholder("q", (None, None, 4)), gj.placeholder("k", (None, None, 4))
    pad = gj.placeholder("pad", (None, None), "bool")
    mask = gj.placeholder("mask", (None, None))
    g_out, g_w = mha(qs, ks, ks, pad, attn_mask=mask)
    float_mask = np.where(causal, -np.inf, 0.0)
    for backend in ("numpy", "cpu"):
        f = gj.compile([qs, ks, pad, mask], [g_out, g_w], backend=backend)
        got, got_w = f(q, kv, padding, float_mask)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(got_w, want_w.mean(1), rtol=1e-12, atol=1e-13)


def test_unbatched_input_and_gradients_reach_every_parameter() -> None:
    mha = nn.MultiheadAttention(4, 2)
    state = _randomised(mha, 4)
    x = np.random.default_rng(5).normal(size=(3, 4))
    out, weights = mha(gj.tensor(x), gj.tensor(x), gj.tensor(x))
    want, _ = reference(state, x[None], x[None], x[None], 2)
    np.testing.assert_allclose(out.numpy(), want[0], rtol=1e-12, atol=1e-13)
    assert weights.shape == (3, 3)
    out.sum().backward()
    assert all(p.grad is not None and np.abs(p.grad.numpy()).sum() > 0 for p in mha.parameters())


def test_compiled_training_step_equals_eager() -> None:
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(3, 2, 4)), rng.normal(size=(3, 2, 4))

    def build() -> tuple:
        gj.manual_seed(0)
        mha = nn.MultiheadAttention(4, 2)
        return mha, gj.optim.SGD(mha.parameters(), lr=0.1, momentum=0.9)

    eager, opt_e = build()
    graph, opt_c = build()
    xs, ys = gj.placeholder("x", (None, None, 4)), gj.placeholder("y", (None, None, 4))
    loss = nn.MSELoss()(graph(xs, xs, xs, need_weights=False)[0], ys)
    step = gj.compile([xs, ys], [loss], updates=opt_c.updates(loss), backend="numpy")
    for _ in range(3):
        step(x, y)
        value = nn.MSELoss()(eager(*(gj.tensor(x),) * 3, need_weights=False)[0], gj.tensor(y))
        opt_e.zero_grad()
        value.backward()
        opt_e.step()
    for (name, a), b in zip(eager.state_dict().items(), graph.state_dict().values()):
        np.testing.assert_allclose(b, a, rtol=1e-11, atol=1e-13, err_msg=name)


def test_matches_torch() -> None:
    torch = pytest.importorskip("torch", reason="torch is not installed")
    torch.manual_seed(0)
    ref = torch.nn.MultiheadAttention(6, 2).double()
    mha = nn.MultiheadAttention(6, 2)
    mha.load_state_dict({k: v.numpy() for k, v in ref.state_dict().items()})
    rng = np.random.default_rng(7)
    q, k = rng.normal(size=(3, 2, 6)), rng.normal(size=(4, 2, 6))
    mask = np.triu(np.ones((3, 4), dtype=bool), 1)
    want, want_w = ref(
        torch.tensor(q), torch.tensor(k), torch.tensor(k), attn_mask=torch.tensor(mask)
    )
    out, weights = mha(gj.tensor(q), gj.tensor(k), gj.tensor(k), attn_mask=mask)
    np.testing.assert_allclose(out.numpy(), want.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(weights.numpy(), want_w.detach().numpy(), rtol=1e-10, atol=1e-12)
