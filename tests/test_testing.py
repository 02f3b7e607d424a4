"""graphjit.testing.gradcheck: passes on right derivatives; names the input and element if wrong."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import graphjit as gj
from graphjit.ops.registry import OPS, defop
from graphjit.ops.shape_rules import elementwise_type
from graphjit.testing import assert_allclose, gradcheck


@pytest.fixture
def temporary_ops() -> Iterator[list[str]]:
    """Names of ops a test registers; they are removed from the registry afterwards."""
    names: list[str] = []
    yield names
    for name in names:
        OPS.pop(name, None)


def _elementwise(names: list[str], name: str, impl: Any, **rules: Any) -> Any:
    names.append(name)
    op = defop(
        name,
        infer=lambda *ts: elementwise_type(name, *ts),
        impl=impl,
        kind="elementwise",
        **rules,
    )
    return lambda *xs: gj.apply(op, *xs)


# --------------------------------------------------------------------------------------------------
# right derivatives pass


def test_gradcheck_passes_on_composite_functions(rng: np.random.Generator) -> None:
    x = rng.standard_normal((3, 2))
    w = rng.standard_normal(2)
    loss = lambda a, b: gj.sum(gj.tanh(a @ b) ** 2) + gj.sum(gj.exp(a * b))  # noqa: E731
    assert gradcheck(loss, [x, w]) is True
    assert gradcheck(lambda a: gj.sigmoid(a) * gj.softplus(a), [x]) is True  # non-scalar output
    assert gradcheck(lambda a: gj.sum(gj.sin(a)), [x], order=1, modes=("rev",))


def test_gradcheck_accepts_int_inputs_as_float() -> None:
    assert gradcheck(lambda a: gj.sum(a * a * a), [[1, 2, 3]])


def test_gradcheck_argument_checks() -> None:
    with pytest.raises(ValueError, match="order"):
        gradcheck(lambda a: gj.sum(a), [np.ones(2)], order=3)
    with pytest.raises(ValueError, match="modes"):
        gradcheck(lambda a: gj.sum(a), [np.ones(2)], modes=("sideways",))
    with pytest.raises(TypeError, match="graph node"):
        gradcheck(lambda a: 1.0, [np.ones(2)])
    with pytest.raises(TypeError, match="floats"):
        gradcheck(lambda a: gj.sum(a) > 0, [np.ones(2)])


# --------------------------------------------------------------------------------------------------
# wrong derivatives are caught, and the message says where


def test_wrong_vjp_is_caught_naming_input_and_element(temporary_ops: list[str]) -> None:
    def wrong_vjp(g: Any, out: Any, x: Any) -> tuple[Any]:
        return (g * 3 * x,)  # d(x^2)/dx is 2x, not 3x

    bad_square = _elementwise(
        temporary_ops,
        "test_bad_square_vjp",
        np.square,
        vjp=wrong_vjp,
        jvp=lambda ts, out, x: ts[0] * 2 * x,
    )
    x = np.array([[0.0, 1.0], [2.0, 3.0]])  # element (0, 0) is right by luck: 3*0 == 2*0
    with pytest.raises(AssertionError) as info:
        gradcheck(lambda a: gj.sum(bad_square(a)), [x], modes=("rev",), order=1)
    msg = str(info.value)
    assert "reverse-mode gradient of input 0" in msg
    assert "index (0, 1)" in msg
    assert "symbolic 3.0" in msg and "3 of 4 elements off" in msg
    # the forward rule is right: a forward-only check passes
    assert gradcheck(lambda a: gj.sum(bad_square(a)), [x], modes=("fwd",), order=1)


def test_wrong_jvp_is_caught(temporary_ops: list[str]) -> None:
    bad = _elementwise(
        temporary_ops,
        "test_bad_square_jvp",
        np.square,
        vjps=(lambda g, out, x: g * 2 * x,),
        jvp=lambda ts, out, x: ts[0] * x,  # missing the factor 2
    )
    with pytest.raises(AssertionError, match="forward-mode derivative"):
        gradcheck(lambda a: gj.sum(bad(a)), [np.array([1.0, 2.0])], order=1)


def test_the_wrong_input_of_several_is_named(temporary_ops: list[str]) -> None:
    bad_mul = _elementwise(
        temporary_ops,
        "test_bad_multiply",
        np.multiply,
        vjps=(lambda g, out, x, y: g * y, lambda g, out, x, y: g * x * 2.0),
        jvp=lambda ts, out, x, y: sum(t * v for t, v in zip(ts, (y, x)) if t is not None),
    )
    a, b = np.array([1.0, 2.0]), np.array([3.0, -1.0])
    with pytest.raises(AssertionError, match=r"reverse-mode gradient of input 1 .* index \(0,\)"):
        gradcheck(lambda x, y: gj.sum(bad_mul(x, y)), [a, b], modes=("rev",), order=1)


def test_wrong_second_derivative_is_caught_at_order_2(temporary_ops: list[str]) -> None:
    # my_sin has the right first derivative, but it is built from my_cos, whose own vjp is wrong
    # (sin instead of -sin): only the second-order check can see it.
    my_cos = _elementwise(
        temporary_ops,
        "test_cos_wrong_sign",
        np.cos,
        vjps=(lambda g, out, x: g * gj.sin(x),),
        jvp=lambda ts, out, x: ts[0] * gj.sin(x),
    )
    my_sin = _elementwise(
        temporary_ops,
        "test_sin_ok",
        np.sin,
        vjps=(lambda g, out, x: g * my_cos(x),),
        jvp=lambda ts, out, x: ts[0] * my_cos(x),
    )
    x = np.array([0.3, 1.1])
    assert gradcheck(lambda a: gj.sum(my_sin(a)), [x], order=1)
    with pytest.raises(AssertionError, match=r"second order: .*input 0"):
        gradcheck(lambda a: gj.sum(my_sin(a)), [x], order=2, modes=("rev",))


def test_temporary_ops_are_removed_from_the_registry() -> None:
    assert not any(name.startswith("test_") for name in OPS)


def test_assert_allclose_reports_a_mismatch() -> None:
    assert_allclose(np.array([1.0, 2.0]), [1.0, 2.0 + 1e-12])
    with pytest.raises(AssertionError, match="Mismatched elements: 1 / 2"):
        assert_allclose(np.array([1.0, 2.0]), [1.0, 2.1])
