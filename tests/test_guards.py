"""The direct call of compiled functions without variables (graphjit.guards): the same results
and the same errors as the checked path, for every kind of argument."""

from __future__ import annotations

import numpy as np
import pytest

import graphjit as gj
from graphjit.guards import MISS, direct_call


@pytest.fixture(scope="module")
def f() -> gj.CompiledFunction:
    x = gj.placeholder("x", shape=(None, 3))
    y = gj.placeholder("y", shape=(3,))
    fn = gj.compile([x, y], [x * y + 1.0, gj.sum(x)], backend="cpu")
    fn(np.ones((2, 3)), np.ones(3))  # the first call compiles and installs the direct call
    assert fn._direct is not None
    return fn


def test_direct_call_matches_numpy(f: gj.CompiledFunction) -> None:
    a = np.arange(12.0).reshape(4, 3)
    b = np.array([1.0, -2.0, 0.5])
    out, total = f(a, b)
    np.testing.assert_array_equal(out, a * b + 1.0)
    assert total == a.sum()


def test_non_contiguous_and_fortran_arrays_are_correct(f: gj.CompiledFunction) -> None:
    a = np.arange(24.0).reshape(8, 3)[::2]
    b = np.arange(6.0)[::2]
    np.testing.assert_array_equal(f(a, b)[0], a * b + 1.0)
    fa = np.asfortranarray(np.arange(12.0).reshape(4, 3))
    np.testing.assert_array_equal(f(fa, np.ones(3))[0], fa + 1.0)


def test_other_arguments_take_the_checked_path(f: gj.CompiledFunction) -> None:
    np.testing.assert_array_equal(f([[1.0, 2.0, 3.0]], [1, 1, 1])[0], [[2.0, 3.0, 4.0]])
    with pytest.raises(ValueError, match="'y'"):
        f(np.ones((2, 3)), np.ones(4))
    with pytest.raises(TypeError, match="expected 2 argument"):
        f(np.ones((2, 3)))
    with pytest.raises(TypeError, match="'x'"):
        f(np.ones((2, 3), dtype=np.complex128), np.ones(3))


def test_float32_arguments_are_converted_as_before(f: gj.CompiledFunction) -> None:
    a = np.ones((2, 3), dtype=np.float32)
    out, _ = f(a, np.ones(3))
    assert out.dtype == np.float64


def test_functions_with_variables_keep_the_locked_path() -> None:
    w = gj.variable(np.zeros(3), name="w")
    x = gj.placeholder("x", shape=(3,))
    step = gj.compile([x], [gj.sum(w)], updates={w: w + x}, backend="cpu")
    for _ in range(3):
        step(np.ones(3))
    assert step._direct is None
    np.testing.assert_array_equal(w.get_value(), [3.0, 3.0, 3.0])


def test_generated_guard_holds_no_user_names() -> None:
    program_calls = []

    def program(*args: np.ndarray) -> tuple[np.ndarray]:
        program_calls.append(len(args))
        return (args[0] + args[-1],)

    specs = [(np.dtype("float64"), 1, ((0, 2),))]
    const = np.array(10.0)
    direct = direct_call(specs, program, [const], 1, True, retry=(TypeError,))
    np.testing.assert_array_equal(direct(np.array([1.0, 2.0])), [11.0, 12.0])
    assert direct(np.array([1.0, 2.0, 3.0])) is MISS  # fixed dim differs
    assert direct(np.array([1, 2])) is MISS  # dtype differs
    assert direct([1.0, 2.0]) is MISS  # not an array
    assert direct() is MISS
    assert program_calls == [2]
    assert "a0.shape[0] == 2" in (direct.__doc__ or "")


def test_errors_in_retry_give_the_checked_path_its_turn() -> None:
    def program(*args: np.ndarray) -> tuple[np.ndarray]:
        raise MemoryError("too big")

    direct = direct_call([(np.dtype("float64"), 0, ())], program, [], 1, True, (MemoryError,))
    assert direct(np.array(1.0)) is MISS
