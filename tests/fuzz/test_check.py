"""graphjit.fuzz.check: the comparisons, and a short differential run of every mode.

The run is the fuzzer's CI share: a few dozen random programs (small shapes), each compiled once
for the cpu backend with its gradients in the same program. Longer runs: ``graphjit fuzz``."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graphjit.fuzz.check import MODES, InvalidProgramError, check, compare, fd_tolerance
from graphjit.fuzz.generate import generate
from graphjit.fuzz.program import Leaf, Program, Ref, Step
from graphjit.fuzz.shrink import reproducer


def test_compare_floats_with_nan_and_inf_positions() -> None:
    want = np.array([1.0, np.nan, np.inf, -np.inf])
    assert compare(want.copy(), want) is None
    assert compare(want * (1 + 1e-9), want) is None
    assert "NaN positions" in str(compare(np.array([1.0, 0.0, np.inf, -np.inf]), want))
    assert "+inf positions" in str(compare(np.array([1.0, np.nan, 5.0, -np.inf]), want))
    assert compare(np.array([1.0, 0.0, 5.0, 3.0]), want, finite_only=True) is None
    assert "values differ" in str(compare(np.array([1.001, np.nan, np.inf, -np.inf]), want))


def test_compare_dtypes_shapes_and_integers_exactly() -> None:
    want = np.array([1, 2, 3])
    assert "dtype" in str(compare(want.astype(np.int32), want))
    assert "shape" in str(compare(want[:2], want))
    assert "1 of 3 differ" in str(compare(np.array([1, 2, 4]), want))
    f32 = np.array([1.0, 2.0], np.float32)
    assert compare(f32 * np.float32(1 + 1e-5), f32) is None  # float32: rtol 1e-4
    assert compare(f32 * np.float32(1 + 1e-3), f32) is not None


def test_a_program_the_reference_rejects_is_invalid() -> None:
    x = Leaf("x0", np.array([2, 3]), (False,))
    program = Program((x, Step("power", (Ref(0), -1), op="power")), (1,))
    with pytest.raises(InvalidProgramError, match="reference raised"):
        check(program, ("eager",))


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_random_programs_agree_without_compiling(seed: int) -> None:
    """eager, the numpy backend and gradients against finite differences (no numba: cheap)."""
    program = generate(seed)
    try:
        found = check(program, ("eager", "numpy", "grad"))
    except InvalidProgramError:
        return
    assert found == [], reproducer(program, found[0])


@pytest.mark.parametrize("chunk", range(4))
def test_random_programs_agree_in_every_mode(chunk: int) -> None:
    """10 programs per chunk (the chunks run in parallel under xdist), all modes."""
    for seed in range(chunk * 10, chunk * 10 + 10):
        program = generate(seed, max_steps=8)
        found = check(program, MODES)
        assert found == [], reproducer(program, found[0])


def test_a_large_loss_gets_the_central_differences_rounding_error() -> None:
    """Seed 4812: a loss of -2.8e5 (cosh of a tan near its pole) has a central difference that
    rounding alone moves by ~1e-5 at h = 1e-6; the gradient was right."""
    assert fd_tolerance(0.62, 0.62, 2.8e5, 1e-6) > 3e-5 > fd_tolerance(0.62, 0.62, 1.0, 1e-6)
    assert fd_tolerance(0.0, 0.0, 0.0, 1e-6) == 1e-5  # a small loss: the relative bound alone
    assert check(generate(4812)) == []
