"""The hand-written row kernels (kernels/ops.py: softmax, log_softmax, logsumexp) against numpy,
over row lengths on both sides of their 8-lane max and NaN / inf at every position."""

from __future__ import annotations

import numpy as np
import pytest
from graphjit.kernels import ops as kops

import graphjit as gj


def _reference(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    with np.errstate(all="ignore"):
        m = x.max(axis=1, keepdims=True)
        m = np.where(np.isfinite(m), m, 0.0)  # the shift the kernels (and jax) use
        e = np.exp(x - m)
        s = e.sum(axis=1, keepdims=True)
        # a row holding +inf sums to inf: softmax and log_softmax are NaN throughout (PyTorch's)
        soft = np.where(s < np.inf, e / s, np.nan)
        logsoft = np.where(s < np.inf, (x - m) - np.log(s), np.nan)
        return soft, logsoft, (np.log(s) + m)[:, 0]


def _kernels(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    soft, logsoft, lse = np.empty_like(x), np.empty_like(x), np.empty(x.shape[0])
    kops.softmax_rows(x, soft)
    kops.log_softmax_rows(x, logsoft)
    kops.logsumexp_rows(x, lse)
    return soft, logsoft, lse


@pytest.mark.parametrize("n", [1, 3, 7, 8, 9, 15, 16, 17, 40])
def test_rows_match_numpy_with_specials_anywhere(n: int) -> None:
    rng = np.random.default_rng(n)
    rows = [rng.standard_normal(n) * 5.0]
    for special in (np.nan, np.inf, -np.inf):
        for j in range(n):
            row = rng.standard_normal(n) * 5.0
            row[j] = special
            rows.append(row)
    rows.append(np.full(n, -np.inf))
    rows.append(np.full(n, 1e300))
    x = np.array(rows)
    soft, logsoft, lse = _kernels(x)
    want_soft, want_logsoft, want_lse = _reference(x)
    np.testing.assert_allclose(soft, want_soft, rtol=1e-14, atol=0)
    # log(s) is exact to the sum's rounding, which depends on the order of its terms: an
    # absolute error of a few ulp of s (s >= 1: the row's max contributes exp(0))
    np.testing.assert_allclose(logsoft, want_logsoft, rtol=1e-14, atol=1e-14 * n)
    np.testing.assert_allclose(lse, want_lse, rtol=1e-14, atol=1e-14 * n)


def test_the_row_max_is_the_shift() -> None:
    # exp(x - max) is 1 at the max: a wrong shift shows as a softmax that overflows or underflows
    x = np.array([np.arange(20.0) * 100.0, -np.arange(20.0) * 100.0])
    soft, _, lse = _kernels(x)
    np.testing.assert_allclose(soft.sum(axis=1), 1.0, rtol=1e-15)
    np.testing.assert_allclose(lse, [1900.0, 0.0], rtol=1e-15, atol=1e-15)


def test_compiled_log_softmax_of_large_equal_values() -> None:
    # the kernels compiled with reassoc computed (x - m) - log(s) as x - (m + log(s)): 0 here
    x = gj.placeholder("x", (None, 3))
    outs = [gj.log_softmax(x, axis=-1), gj.logsumexp(x, axis=-1), gj.softmax(x, axis=-1)]
    a = np.array([[1e300, 1e300, 1e300], [-1e300, -1e300, -1e300], [1e17, 1e17 + 64, 1e17]])
    want = gj.compile([x], outs, backend="numpy")(a)
    for got, expected in zip(gj.compile([x], outs)(a), want):
        np.testing.assert_allclose(got, expected, rtol=1e-15, atol=0)
    np.testing.assert_allclose(want[0][0], -np.log(3.0), rtol=1e-15)
