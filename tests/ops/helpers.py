"""Helpers shared by the op-family tests: building an op on placeholders and evaluating it with
the reference interpreter, and derivative checks on symbolic shapes. (Each test module keeps its
own seeded random generator, so its inputs do not depend on which other modules ran first.)"""

from __future__ import annotations

import numpy as np

import graphjit as gj
from graphjit.interp import evaluate


def run(fn, *arrays: np.ndarray) -> np.ndarray:
    """``fn`` built on placeholders shaped like ``arrays``, evaluated at them."""
    phs = [gj.placeholder(f"a{i}", a.shape, a.dtype.name) for i, a in enumerate(arrays)]
    out = fn(*phs)
    (value,) = evaluate([out], dict(zip(phs, arrays)))
    assert tuple(out.shape) == value.shape
    assert out.dtype == value.dtype.name
    return value


def check_symbolic_derivatives(fn, x: np.ndarray, shape, eps: float = 1e-6) -> None:
    """Derivatives of ``sum(fn(x)**2)`` built on a placeholder with None dims: the gradient, a
    jvp, and a Hessian-vector product both reverse-over-reverse and forward-over-reverse, against
    central differences of the evaluated graph."""
    ph = gj.placeholder("x", shape)
    v = gj.placeholder("v", shape)
    y = gj.sum(fn(ph) ** 2)
    (g,) = gj.grad(y, [ph])
    t = gj.jvp(y, [ph], [v])
    (hv,) = gj.grad(gj.sum(g * v), [ph])
    hv_fwd = gj.jvp(g, [ph], [v])
    d = np.random.default_rng(1).standard_normal(x.shape)

    def f(a):
        return evaluate([y], {ph: a})[0]

    def grad_at(a):
        return evaluate([g], {ph: a})[0]

    g_val, t_val, hv_val, hv_fwd_val = evaluate([g, t, hv, hv_fwd], {ph: x, v: d})
    num = np.zeros_like(x)
    for j in range(x.size):
        e = np.zeros(x.size)
        e[j] = eps
        e = e.reshape(x.shape)
        num.reshape(-1)[j] = (f(x + e) - f(x - e)) / (2 * eps)
    np.testing.assert_allclose(g_val, num, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(t_val, (f(x + eps * d) - f(x - eps * d)) / (2 * eps), rtol=1e-5)
    want_hv = (grad_at(x + eps * d) - grad_at(x - eps * d)) / (2 * eps)
    np.testing.assert_allclose(hv_val, want_hv, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(hv_fwd_val, want_hv, rtol=1e-4, atol=1e-5)
