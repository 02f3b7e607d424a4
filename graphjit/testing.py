"""Testing helpers for users and for graphjit's own tests: gradient checks by finite differences.

``gradcheck(fn, inputs)`` builds ``fn`` as a graph over placeholders shaped like ``inputs`` and
compares, at those inputs, the symbolic derivatives with central differences:

* ``"rev"``: every element of the reverse-mode gradient (``gj.grad``);
* ``"fwd"``: the forward-mode directional derivative (``gj.jvp``) along a random direction;
* ``order=2``: the same two checks applied to the gradient itself, projected on a random vector
  (so second derivatives and the derivative rules of the gradient graph's own ops are checked).

A non-scalar output is reduced with a fixed random cotangent first. Use float64 inputs: finite
differences in float32 are too coarse to check anything.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from graphjit import autodiff
from graphjit.dtypes import is_float
from graphjit.ir import Node
from graphjit.ops import placeholder, reductions
from graphjit.runtime import compile as gj_compile

__all__ = ["gradcheck", "assert_allclose"]


def assert_allclose(
    actual: Any, expected: Any, rtol: float = 1e-7, atol: float = 0.0, err_msg: str = ""
) -> None:
    """np.testing.assert_allclose that also accepts graphjit tensors."""

    def arr(x: Any) -> Any:
        return x.numpy() if hasattr(x, "numpy") and not isinstance(x, np.ndarray) else x

    np.testing.assert_allclose(arr(actual), arr(expected), rtol=rtol, atol=atol, err_msg=err_msg)


class _Scalar:
    """``fn`` as a numeric scalar function of the inputs, with its graph."""

    def __init__(self, phs: list[Node], y: Node, backend: str) -> None:
        self.phs = phs
        self.y = y
        self.f = gj_compile(phs, [y], backend=backend)

    def __call__(self, xs: Sequence[np.ndarray]) -> float:
        return float(self.f(*xs)[0])


def _project(y: Node, rng: np.random.Generator) -> Node:
    """A scalar from ``y``: itself if it is one, else <y, c> with a fixed random c."""
    if y.ndim == 0:
        return y
    if not y.type.is_static:
        raise ValueError("gradcheck: fn returned a non-scalar output whose shape is not fixed")
    c = rng.standard_normal([int(d) for d in y.shape if d is not None]).astype(y.dtype)
    return reductions.sum(y * c)


def _fd_gradient(f: _Scalar, xs: list[np.ndarray], eps: float) -> list[np.ndarray]:
    grads = []
    for i, x in enumerate(xs):
        g = np.zeros_like(x)
        flat = g.reshape(-1)
        for j in range(x.size):
            xp = [a.copy() for a in xs]
            xm = [a.copy() for a in xs]
            xp[i].reshape(-1)[j] += eps
            xm[i].reshape(-1)[j] -= eps
            flat[j] = (f(xp) - f(xm)) / (2 * eps)
        grads.append(g)
    return grads


def _fd_direction(f: _Scalar, xs: list[np.ndarray], vs: list[np.ndarray], eps: float) -> float:
    xp = [x + eps * v for x, v in zip(xs, vs)]
    xm = [x - eps * v for x, v in zip(xs, vs)]
    return (f(xp) - f(xm)) / (2 * eps)


def _check_close(what: str, got: np.ndarray, want: np.ndarray, atol: float, rtol: float) -> None:
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    bad = ~np.isclose(got, want, atol=atol, rtol=rtol, equal_nan=True)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0]) if got.ndim else ()
        err = np.abs(got - want)
        raise AssertionError(
            f"gradcheck: {what} disagrees with finite differences at index {idx}: symbolic "
            f"{float(got[idx])!r}, numeric {float(want[idx])!r} (abs error {err[idx]:.3g}; "
            f"atol={atol}, rtol={rtol}; {int(bad.sum())} of {bad.size} elements off)"
        )


def _check_level(
    label: str,
    f: _Scalar,
    xs: list[np.ndarray],
    eps: float,
    atol: float,
    rtol: float,
    modes: Sequence[str],
    rng: np.random.Generator,
    backend: str,
) -> None:
    if "rev" in modes:
        gs = autodiff.grad(f.y, f.phs)
        got = gj_compile(f.phs, gs, backend=backend)(*xs)
        want = _fd_gradient(f, xs, eps)
        for i, (g, w) in enumerate(zip(got, want)):
            _check_close(f"{label}reverse-mode gradient of input {i}", g, w, atol, rtol)
    if "fwd" in modes:
        vs = [rng.standard_normal(x.shape) for x in xs]
        t = autodiff.jvp(f.y, f.phs, [v.astype(x.dtype) for v, x in zip(vs, xs)])
        got_t = gj_compile(f.phs, [t], backend=backend)(*xs)[0]
        want_t = _fd_direction(f, xs, vs, eps)
        _check_close(f"{label}forward-mode derivative (jvp)", got_t, np.asarray(want_t), atol, rtol)


def gradcheck(
    fn: Callable[..., Any],
    inputs: Sequence[Any],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    order: int = 2,
    modes: Sequence[str] = ("fwd", "rev"),
    seed: int = 0,
    backend: str = "numpy",
) -> bool:
    """Check ``fn``'s symbolic derivatives against central finite differences at ``inputs``.

    ``fn`` takes one graph node per input (write it with ``gj.*`` functions) and returns a node.
    Raises AssertionError naming the input and element that is off; returns True otherwise.
    ``backend`` chooses where the symbolic derivatives are evaluated ("numpy", "cpu", ...)."""
    if order not in (1, 2):
        raise ValueError(f"gradcheck: order must be 1 or 2, got {order}")
    unknown = set(modes) - {"fwd", "rev"}
    if unknown or not modes:
        raise ValueError(
            f"gradcheck: modes must be a non-empty subset of ('fwd', 'rev'), got {modes}"
        )
    xs = [
        np.array(x, dtype=np.float64 if np.asarray(x).dtype.kind != "f" else None, copy=True)
        for x in inputs
    ]
    rng = np.random.default_rng(seed)
    phs = [placeholder(f"x{i}", x.shape, x.dtype.name) for i, x in enumerate(xs)]
    y = fn(*phs)
    if not isinstance(y, Node):
        raise TypeError(f"gradcheck: fn must return a graph node, got {type(y).__name__}")
    if not is_float(y.dtype):
        raise TypeError(f"gradcheck: fn must return floats, got {y.dtype}")
    f = _Scalar(phs, _project(y, rng), backend)
    _check_level("", f, xs, eps, atol, rtol, modes, rng, backend)
    if order == 2:
        # the gradient projected on a random direction u is a scalar function of the inputs
        gs = autodiff.grad(f.y, phs)
        us = [rng.standard_normal(x.shape).astype(x.dtype) for x in xs]
        h = None
        for g, u in zip(gs, us):
            term = reductions.sum(g * u)
            h = term if h is None else h + term
        assert h is not None
        _check_level(
            "second order: ",
            _Scalar(phs, h, backend),
            xs,
            eps * 10,
            atol * 10,
            rtol * 10,
            modes,
            rng,
            backend,
        )
    return True
