"""kernels/libm.py: the scalar twins' pow, whose exponent LLVM may turn into a call of the
compiler runtime's powi (``__powidf2``), which the module binds so that no call jumps to 0."""

from __future__ import annotations

import ctypes

import llvmlite.binding as ll
import numpy as np
import pytest
from graphjit.kernels import libm
from numba import cfunc, njit

import graphjit as gj


def test_the_powi_symbols_are_bound() -> None:
    assert ll.address_of_symbol("__powidf2") and ll.address_of_symbol("__powisf2")


def _cast_exponents(x: np.ndarray, n: np.ndarray) -> tuple[float, float]:
    return libm.power(x[()], np.float64(bool(n[()]))), libm.power(
        np.float32(x[()]), np.float32(np.int64(n[()]))
    )


def test_without_libgcc_the_compiled_equivalents_are_bound() -> None:
    try:
        libm._bind_powi("libgraphjit-no-such-library.so", rebind=True)
        gcc = ctypes.cast(ctypes.CDLL("libgcc_s.so.1").__powidf2, ctypes.c_void_p).value
        assert ll.address_of_symbol("__powidf2") not in (None, 0, gcc)
        got = njit(_cast_exponents)(np.array(2.5), np.array(-3.0))
        assert got[0] == 2.5
        np.testing.assert_allclose(got[1], 2.5**-3, rtol=1e-6)
    finally:
        libm._bind_powi(rebind=True)


def test_a_power_of_a_cast_bool_or_int_exponent_runs() -> None:
    """Found by the fuzzer (seed 828): ``power(abs(x) + 0.5, logical_and(y, x))`` on 0-d
    inputs crashed the process (a 0-d nest calls libm's pow; LLVM made it a powi call)."""

    got = njit(_cast_exponents)(np.array(2.5), np.array(-3.0))
    assert got[0] == 2.5
    np.testing.assert_allclose(got[1], 2.5**-3, rtol=1e-6)
    x = gj.placeholder("x", (), "float64")
    y = gj.placeholder("y", (), "float64")
    k = gj.placeholder("k", (), "int64")
    outs = [gj.power(gj.abs(x) + 0.5, gj.logical_and(y, x)), gj.power(x, gj.astype(k, "float64"))]
    f = gj.compile([x, y, k], outs)
    want = gj.compile([x, y, k], outs, backend="numpy")
    for args in ((-1.99, -1.45, 3), (0.5, 0.0, -2), (3.0, 2.0, 0), (-2.0, 1.0, 7)):
        feeds = [np.array(a, dtype) for a, dtype in zip(args, ("float64", "float64", "int64"))]
        for g, w in zip(f(*feeds), want(*feeds)):
            np.testing.assert_allclose(g, w, rtol=1e-15)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 7, 8, 31, -1, -2, -5, 2**31 - 1, -(2**31)])
@pytest.mark.parametrize("a", [1.5, -0.75, 0.0, -0.0, 1e-3, np.inf, -np.inf, np.nan])
def test_the_fallback_powi_is_compiler_rts(a: float, n: int) -> None:
    """The equivalent bound where libgcc_s is absent gives libgcc's bits (where it is present)."""
    fallback = cfunc("float64(float64, int32)", error_model="numpy")(libm._powi)
    ours = ctypes.CFUNCTYPE(ctypes.c_double, ctypes.c_double, ctypes.c_int32)(fallback.address)
    with np.errstate(all="ignore"):  # 1 / 0: inf, as in C
        python = libm._powi(np.float64(a), n)
    assert np.array_equal(ours(a, n), python, equal_nan=True)
    try:
        gcc = ctypes.CDLL("libgcc_s.so.1").__powidf2
    except (OSError, AttributeError):
        pytest.skip("no libgcc_s here to compare with")
    gcc.restype, gcc.argtypes = ctypes.c_double, [ctypes.c_double, ctypes.c_int32]
    assert np.array_equal(ours(a, n), gcc(a, n), equal_nan=True)
