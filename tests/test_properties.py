"""Property tests: random graphs of elementwise, broadcasting and reduction ops.

Each example is a random expression over a few inputs of random shapes and dtypes. It is evaluated
twice: directly with numpy on the arrays, and as a graphjit graph (built from placeholders, some of
whose dims are declared ``None``) by the reference interpreter. They must agree in value, shape and
dtype, and when numpy rejects the expression (shapes that do not broadcast, a bad axis) graphjit
must reject it too. Further properties: forward and reverse mode are the same linear map, and a
compiled (optimised) function agrees with the interpreter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import graphjit as gj
from graphjit.interp import evaluate

SHAPES = [(), (1,), (2,), (3,), (2, 1), (1, 3), (2, 3), (4, 2, 3)]
DTYPES = ["float64", "float64", "float64", "float32", "int64"]
UNARY = [
    "negative", "abs", "exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "relu", "softplus",
    "square", "arctan", "floor", "sign",
]  # fmt: skip
BINARY = ["add", "subtract", "multiply", "divide", "maximum", "minimum", "power"]
REDUCE = ["sum", "mean", "max", "min", "prod"]
NUMPY: dict[str, Callable[..., Any]] = {
    **{name: getattr(np, name) for name in UNARY + BINARY + REDUCE if hasattr(np, name)},
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "relu": lambda x: np.maximum(x, np.zeros((), np.asarray(x).dtype)),
    "softplus": lambda x: np.logaddexp(np.zeros((), np.result_type(x, 1.0)), x),
}
ERRORS = (ValueError, TypeError, IndexError)

# an expression: ("leaf", i) | ("unary", op, e) | ("binary", op, e, e)
#               | ("scalar", op, e, python number) | ("reduce", op, e, axis, keepdims)
Expr = tuple[Any, ...]


def expressions(n_leaves: int) -> st.SearchStrategy[Expr]:
    leaf = st.builds(lambda i: ("leaf", i), st.integers(0, n_leaves - 1))

    def extend(children: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
        return st.one_of(
            st.tuples(st.just("unary"), st.sampled_from(UNARY), children),
            st.tuples(st.just("binary"), st.sampled_from(BINARY), children, children),
            st.tuples(
                st.just("scalar"),
                st.sampled_from(["add", "multiply", "subtract", "power", "maximum"]),
                children,
                st.sampled_from([2, -1, 0.5, 1.5]),
            ),
            st.tuples(
                st.just("reduce"),
                st.sampled_from(REDUCE),
                children,
                st.sampled_from([None, 0, 1, -1, 2, (0, 1)]),
                st.booleans(),
            ),
        )

    return st.recursive(leaf, extend, max_leaves=6)


@dataclass
class Case:
    arrays: list[np.ndarray]
    dynamic: list[tuple[bool, ...]]  # which dims are declared None
    expr: Expr


@st.composite
def cases(draw: st.DrawFn) -> Case:
    n = draw(st.integers(1, 3))
    arrays, dynamic = [], []
    for _ in range(n):
        shape = draw(st.sampled_from(SHAPES))
        dtype = draw(st.sampled_from(DTYPES))
        if dtype == "int64":
            elements = st.integers(-3, 3)
        else:
            elements = st.floats(-3, 3, width=32 if dtype == "float32" else 64)
        arrays.append(draw(hnp.arrays(dtype, shape, elements=elements)))
        # only a dim that is statically 1 broadcasts, so only dims > 1 may be declared None
        dynamic.append(tuple(d > 1 and draw(st.booleans()) for d in shape))
    return Case(arrays, dynamic, draw(expressions(n)))


def run(expr: Expr, leaves: list[Any], fns: Callable[[str], Callable[..., Any]]) -> Any:
    """Evaluate ``expr`` with ``fns(name)`` as the ops: numpy functions or gj functions."""
    kind = expr[0]
    if kind == "leaf":
        return leaves[expr[1]]
    if kind == "unary":
        return fns(expr[1])(run(expr[2], leaves, fns))
    if kind == "binary":
        return fns(expr[1])(run(expr[2], leaves, fns), run(expr[3], leaves, fns))
    if kind == "scalar":
        return fns(expr[1])(run(expr[2], leaves, fns), expr[3])
    _, name, child, axis, keepdims = expr
    x = run(child, leaves, fns)
    if axis is not None and np.ndim(x) == 0:
        # numpy quietly accepts axis 0 (not 1) on a 0-d array; graphjit rejects any axis there
        raise ValueError(f"{name}: axis {axis} given for a 0-d array")
    return fns(name)(x, axis=axis, keepdims=keepdims)


def numpy_value(case: Case) -> np.ndarray:
    return np.asarray(run(case.expr, case.arrays, NUMPY.__getitem__))


def placeholders(case: Case) -> list[gj.Node]:
    return [
        gj.placeholder(
            f"x{i}",
            shape=tuple(None if dyn else d for d, dyn in zip(a.shape, flags)),
            dtype=a.dtype,
        )
        for i, (a, flags) in enumerate(zip(case.arrays, case.dynamic))
    ]


def build(case: Case) -> tuple[list[gj.Node], gj.Node]:
    phs = placeholders(case)
    out = gj.ops.dispatch.lift(run(case.expr, phs, lambda name: getattr(gj, name)))
    return phs, out


def assert_same(got: np.ndarray, want: np.ndarray) -> None:
    assert got.shape == want.shape
    assert got.dtype == want.dtype
    rtol = 1e-5 if want.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * 1e-3)


@settings(max_examples=150, deadline=None)
@given(cases())
def test_random_graphs_match_numpy(case: Case) -> None:
    with np.errstate(all="ignore"):
        try:
            want = numpy_value(case)
        except ERRORS:
            with pytest.raises(ERRORS):
                phs, out = build(case)
                evaluate([out], dict(zip(phs, case.arrays)))
            return
        phs, out = build(case)
        assert (
            out.shape == tuple(None if d is None else d for d in out.shape)
            and len(out.shape) == want.ndim
        )
        (got,) = evaluate([out], dict(zip(phs, case.arrays)))
    assert_same(got, want)


def _float_case(case: Case) -> Case:
    return Case([a.astype(np.float64) for a in case.arrays], case.dynamic, case.expr)


@settings(max_examples=60, deadline=None)
@given(cases(), st.randoms(use_true_random=False))
def test_forward_and_reverse_mode_are_one_linear_map(case: Case, random: Any) -> None:
    """<u, J v> by jvp equals <J^T u, v> by vjp, on random float64 graphs."""
    case = _float_case(case)
    with np.errstate(all="ignore"):
        try:
            want = numpy_value(case)
        except ERRORS:
            return
    if not np.all(np.isfinite(want)):
        return
    phs, out = build(case)
    gen = np.random.default_rng(random.randint(0, 2**32 - 1))
    vs = [gen.standard_normal(a.shape) for a in case.arrays]
    u = gen.standard_normal(want.shape)
    jv = gj.jvp([out], phs, vs)[0]
    jtu = gj.vjp([out], phs, [u])
    with np.errstate(all="ignore"):
        jv_v, *jtu_v = evaluate([jv, *jtu], dict(zip(phs, case.arrays)))
    if not (np.all(np.isfinite(jv_v)) and all(np.all(np.isfinite(g)) for g in jtu_v)):
        return  # a derivative at a pole (log or sqrt at 0, say) is not a finite linear map
    with np.errstate(over="ignore"):
        lhs = float(np.sum(u * jv_v))
        rhs = float(sum(np.sum(g * v) for g, v in zip(jtu_v, vs)))
    if not (np.isfinite(lhs) and np.isfinite(rhs)):
        return  # finite derivatives whose products overflow float64 (1/x at x ~ 1e-308)
    scale = (
        1.0
        + float(np.sum(np.abs(u * jv_v)))
        + sum(float(np.sum(np.abs(g * v))) for g, v in zip(jtu_v, vs))
    )
    assert abs(lhs - rhs) <= 1e-9 * scale


# compiled_backend is a plain parameter (no state), so sharing it across examples is safe
@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=cases())
def test_compiled_backends_match_numpy(compiled_backend: str, case: Case) -> None:
    with np.errstate(all="ignore"):
        try:
            want = numpy_value(case)
        except ERRORS:
            return
        phs, out = build(case)
        f = gj.compile(phs, [out], backend=compiled_backend)
        (got,) = f(*case.arrays)
    assert got.shape == want.shape and got.dtype == want.dtype
    finite = np.isfinite(want)
    rtol = 1e-4 if want.dtype == np.float32 else 1e-9
    np.testing.assert_allclose(got[finite], want[finite], rtol=rtol, atol=rtol)


@settings(max_examples=60, deadline=None)
@given(cases())
def test_optimised_graphs_match_numpy_where_numpy_is_finite(case: Case) -> None:
    """gj.compile rewrites the graph (folding, simplification, stability); values must not move
    where numpy's value is finite (a rewrite may turn numpy's overflow into a finite answer)."""
    with np.errstate(all="ignore"):
        try:
            want = numpy_value(case)
        except ERRORS:
            return
        phs, out = build(case)
        (got,) = gj.compile(phs, [out], backend="numpy")(*case.arrays)
    assert got.shape == want.shape and got.dtype == want.dtype
    finite = np.isfinite(want)
    rtol = 1e-4 if want.dtype == np.float32 else 1e-9
    np.testing.assert_allclose(got[finite], want[finite], rtol=rtol, atol=rtol)
