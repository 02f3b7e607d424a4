"""Bad input to the numpy-named functions of graphjit/numpy_api/, with numpy as the oracle: where
numpy raises, graphjit raises the same class with a message naming the function called; where
numpy returns, graphjit returns the same value and dtype. Inputs go in as numpy arrays, as eager
tensors and, for the functions that build graphs, as placeholders (a problem known from the
shapes raises when the graph is built)."""

from __future__ import annotations

import itertools
import re
import warnings
from typing import Any

import numpy as np
import pytest

import graphjit as gj
from graphjit.errors import IntegerOutOfRangeError

A = np.arange(12.0).reshape(3, 4)
I = np.arange(12).reshape(3, 4)  # noqa: E741
B = np.arange(12).reshape(3, 4) % 3 == 0
V = np.array([1.0, 2.0, 3.0])
E = np.zeros((0,))
E2 = np.zeros((0, 3))
S = np.array(2.5)
NAN = np.array([1.0, np.nan, np.inf, -np.inf, 3.0])
COUNTS = np.array([0, 1, 1, 3, 2])
EXTREME = np.array([-(2**63), 2**62, -7, 7, -7, 0, 5, -(2**63), 2**63 - 1])
DIVISORS = np.array([-1, 3, 3, -3, -3, 5, 0, 5, -(2**63)])


def _tensors(value: Any) -> Any:
    """``value`` with its numpy arrays (also inside a top-level tuple of args) as tensors."""
    if isinstance(value, np.ndarray):
        return gj.tensor(value)
    if isinstance(value, tuple):
        return tuple(_tensors(v) for v in value)
    if isinstance(value, dict):
        return {k: _tensors(v) for k, v in value.items()}
    return value


def _as_numpy(value: Any) -> Any:
    if isinstance(value, tuple):
        return tuple(_as_numpy(v) for v in value)
    return value.numpy() if hasattr(value, "numpy") and not isinstance(value, np.ndarray) else value


def _same(got: Any, want: Any, rtol: float = 1e-12) -> None:
    if isinstance(want, tuple):
        assert isinstance(got, tuple) and len(got) == len(want)
        for g, w in zip(got, want):
            _same(g, w, rtol)
        return
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape and got.dtype == want.dtype, (got, want)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=0, equal_nan=True)


_NUMBER = itertools.count()


class NumpyAccepts:
    """A marker for ``np_exc``: numpy returns a value (graphjit refuses the input, a limit of
    its dtypes)."""


def _param(name: str, *values: Any) -> Any:
    return pytest.param(name, *values, id=f"{name}-{next(_NUMBER)}")


def raises(name: str, *args: Any, exc: type = TypeError, np_exc: type | None = None, **kw: Any):
    return _param(name, args, kw, exc, np_exc or exc)


# numpy raises: graphjit raises ``exc`` (numpy ``np_exc``, the same unless given), named
RAISES = [
    # axes out of range, repeated, not ints
    *[raises(f, A, axis=2, exc=ValueError) for f in ("nansum", "nanmax", "amin", "ptp")],
    *[raises(f, A, axis=(0, 0), exc=ValueError) for f in ("nanmean", "nanvar", "count_nonzero")],
    *[raises(f, A, axis=1.0) for f in ("nanprod", "amax", "nancumsum", "average")],
    raises("nanstd", A, axis=2, exc=ValueError),  # reported as nanstd, not nanvar
    raises("nanstd", A, axis="0"),
    raises("nanargmax", A, axis=(0, 1)),
    raises("quantile", A, 0.5, axis=(0, 0), exc=ValueError),
    raises("percentile", A, 50, axis=5, exc=ValueError),
    raises("rot90", A, axes=(0, 0), exc=ValueError),
    raises("rot90", A, axes=None),
    raises("append", A, A, axis=2, exc=ValueError),
    raises("insert", A, 1, 9, axis=2, exc=ValueError),
    raises("delete", A, 1, axis=1.0),
    raises("trapezoid", A, axis=2, exc=ValueError, np_exc=IndexError),
    raises("vecdot", A, A, axis=2, exc=ValueError),
    raises("size", A, axis=(0, 0), exc=ValueError),
    # wrong argument types
    *[raises(f, "abc") for f in ("nansum", "nanmean", "amax", "cbrt", "rint", "cov")],
    *[raises(f, None) for f in ("nanvar", "average", "sinc", "corrcoef")],
    raises("nancumsum", ["a", "b"]),
    raises("quantile", A, "a"),
    raises("percentile", A, None),
    raises("fmod", A, "b"),
    raises("gcd", A, A),
    raises("lcm", I, 1.5),
    raises("ldexp", A, A),
    raises("ediff1d", V, to_end="a"),
    raises("nanvar", A, ddof="x"),
    raises("cov", A, ddof="a", exc=ValueError),
    raises("cov", A, ddof=1.5, exc=ValueError),
    raises("histogram", A, bins=2.5),
    raises("histogram", A, bins=None),
    raises("bincount", COUNTS, minlength=2.5),
    raises("bincount", COUNTS, minlength=True),
    raises("bincount", COUNTS, minlength=None),
    raises("promote_types", None, "int8"),
    raises("can_cast", "int8", None),
    raises("can_cast", "int8", "int16", casting=None),
    raises("convolve", V, V, mode=None),
    raises("resize", A, (2.0, 3)),
    raises("resize", A, "a"),
    raises("tri", "a"),
    raises("identity", 2.5),
    raises("broadcast_shapes", (2.0, 3)),
    raises("empty_like", A, shape=2.5),
    raises("insert", V, 1.5, 9.0),
    raises("insert", V, [1.5], 9.0),
    raises("delete", V, [1.5], exc=IndexError),
    # dtype mixes numpy refuses
    *[raises(f, B, 0.5) for f in ("quantile", "nanquantile")],
    *[raises(f, B, 50) for f in ("percentile", "nanpercentile")],
    raises("ptp", B),
    raises("ediff1d", B),
    raises("positive", B),
    raises("nanmean", A, dtype="int32"),
    raises("nanstd", A, dtype="int64"),
    raises("cov", A, rowvar=False, dtype=np.int32),
    raises("corrcoef", A, dtype="int32"),
    raises("nansum", A, dtype="bogus"),
    raises("fmod", I.astype(np.int8), 200, exc=IntegerOutOfRangeError, np_exc=OverflowError),
    raises("gcd", I.astype(np.int8), 200, exc=OverflowError),
    raises("lcm", I.astype(np.int8), 200, exc=OverflowError),
    raises("isin", V, V, kind="table", exc=ValueError),
    raises("bincount", E),  # a float array, even an empty one
    raises("bincount", V),
    # mismatched shapes
    raises("average", A, axis=1, weights=np.ones(3), exc=ValueError),
    # graphjit keeps its TypeError (an existing contract) where numpy 2 raises ValueError
    raises("average", A, axis=1, weights=np.ones((2, 2)), np_exc=ValueError),
    raises("average", A, weights=np.ones(4)),
    raises("average", A, axis=1, weights=np.zeros(4), exc=ZeroDivisionError),
    raises("bincount", COUNTS, weights=np.ones(4), exc=ValueError),
    raises("histogram", A, weights=np.ones(5), exc=ValueError),
    raises("trapezoid", A, np.arange(3.0), exc=ValueError),
    raises("trapezoid", A, np.ones((2, 4)), exc=ValueError),
    raises("cov", A, np.ones((2, 3)), exc=ValueError),
    raises("corrcoef", A, V, exc=ValueError),
    raises("vdot", V, np.ones(4), exc=ValueError),
    raises("vecdot", A, np.ones((2, 4)), exc=ValueError),
    raises("matvec", np.ones((2, 3, 4)), np.ones((5, 4)), exc=ValueError),
    raises("vecmat", np.ones(4), A, exc=ValueError),
    raises("fmod", A, V, exc=ValueError),
    raises("logical_xor", A, V, exc=ValueError),
    raises("append", A, V, axis=0, exc=ValueError),
    raises("insert", A, 1, [1, 2], axis=1, exc=ValueError),
    raises("insert", A, [0, 3], [1, 2, 3], axis=1, exc=ValueError),
    raises("insert", V, [[1, 2]], 9.0, exc=ValueError),  # numpy: a 1-D or scalar obj
    raises("delete", V, [True, False], exc=ValueError),
    raises("block", [A, [A]], exc=ValueError),
    raises("block", [[A, np.ones((2, 1))]], exc=ValueError),
    raises("block", (A, A)),
    raises("broadcast_arrays", A, np.ones((2, 4)), exc=ValueError),
    raises("broadcast_shapes", (2, 3), (2,), exc=ValueError),
    raises("convolve", A, V, exc=ValueError),
    raises("correlate", V, E, exc=ValueError),
    # empty and 0-d inputs
    *[raises(f, E, exc=ValueError) for f in ("nanmax", "nanmin", "amax", "amin", "ptp")],
    *[raises(f, E2, axis=0, exc=ValueError) for f in ("nanargmax", "nanargmin", "amax")],
    raises("nanargmin", E, exc=ValueError),
    raises("quantile", E, 0.5, exc=ValueError, np_exc=IndexError),
    raises("percentile", E2, 50, axis=0, exc=ValueError, np_exc=IndexError),
    raises("fliplr", V, exc=ValueError),
    raises("flipud", S, exc=ValueError),
    raises("rot90", V, exc=ValueError),
    raises("nansum", S, axis=1, exc=ValueError),
    # NaN/inf where numpy refuses them
    raises("histogram", NAN, exc=ValueError),
    raises("histogram", A, range=(0, np.inf), exc=ValueError),
    raises("nanargmax", np.full((2, 2), np.nan), exc=ValueError),
    # negative or float counts and sizes, non-monotonic bins
    raises("resize", A, -1, exc=ValueError),
    raises("resize", A, (2, -1), exc=ValueError),
    raises("bincount", COUNTS, minlength=-1, exc=ValueError),
    raises("bincount", -COUNTS, exc=ValueError),
    raises("histogram", A, bins=0, exc=ValueError),
    raises("histogram", A, bins=-1, exc=ValueError),
    raises("histogram", A, bins=[3.0, 2, 1], exc=ValueError),
    raises("histogram", A, range=(5, 1), exc=ValueError),
    raises("digitize", V, [1.0, 3, 2], exc=ValueError),
    raises("digitize", V, A, exc=ValueError),
    raises("identity", -1, exc=ValueError),
    raises("empty_like", A, shape=(2, -1), exc=ValueError),
    # q out of range, unknown methods and modes
    *[raises("quantile", A, q, exc=ValueError) for q in (-0.1, 1.1, [0.1, 2.0], np.nan)],
    *[raises("percentile", A, q, exc=ValueError) for q in (-1, 101, [10, 200], np.inf)],
    raises("nanquantile", A, 1.5, exc=ValueError),
    raises("nanpercentile", A, -5, exc=ValueError),
    *[raises(f, A, 0.5, method="bogus", exc=ValueError) for f in ("quantile", "nanquantile")],
    raises("percentile", A, 50, method=None, exc=ValueError),
    raises("convolve", V, V, mode="bogus", exc=ValueError),
    raises("correlate", V, V, mode="FULL", exc=ValueError),
    raises("meshgrid", V, indexing="xx", exc=ValueError),
    raises("ravel", A, order="X", exc=ValueError),
    raises("can_cast", "int8", "int16", casting="bogus", exc=ValueError),
    # graphjit has no string or object arrays: numpy returns, graphjit refuses by name
    *[raises(f, "abc", np_exc=NumpyAccepts) for f in ("ravel", "nanargmax", "unique_values")],
    *[raises(f, None, np_exc=NumpyAccepts) for f in ("count_nonzero", "ediff1d", "empty_like")],
    raises("isin", V, {"a": 1}, np_exc=NumpyAccepts),
    raises("append", A, ["a"], np_exc=NumpyAccepts),
    # positions out of range for insert/delete
    raises("insert", V, 4, 9.0, exc=IndexError),
    raises("insert", V, -4, 9.0, exc=IndexError),
    raises("insert", A, 5, 9.0, axis=1, exc=IndexError),
    raises("delete", V, 3, exc=IndexError),
    raises("delete", V, [-4], exc=IndexError),
    raises("delete", A, [0, 4], axis=1, exc=IndexError),
]


def _numpy_raises(name: str, args: tuple, kw: dict, np_exc: type) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if np_exc is NumpyAccepts:
            getattr(np, name)(*args, **kw)
            return
        with pytest.raises(np_exc):
            getattr(np, name)(*args, **kw)


@pytest.mark.parametrize("as_tensors", [False, True], ids=["arrays", "tensors"])
@pytest.mark.parametrize(("name", "args", "kw", "exc", "np_exc"), RAISES)
def test_bad_input_raises_as_numpy_does_naming_the_function(
    name: str, args: tuple, kw: dict, exc: type, np_exc: type, as_tensors: bool
) -> None:
    _numpy_raises(name, args, kw, np_exc)
    if as_tensors:
        args, kw = _tensors(args), _tensors(kw)
    with pytest.raises(exc, match=rf"^{re.escape(name)}: "):
        getattr(gj, name)(*args, **kw)


def same(name: str, *args: Any, rtol: float = 1e-12, **kw: Any):
    return _param(name, args, kw, rtol)


# numpy returns a value for input near the edge: graphjit returns the same value and dtype
SAME = [
    # NaN and inf
    *[same(f, NAN) for f in ("nansum", "nanmean", "nanvar", "nanmax", "nanmin", "nanprod")],
    *[same(f, NAN) for f in ("nanargmax", "nanargmin", "nancumsum", "nancumprod", "amax", "ptp")],
    *[same(f, NAN) for f in ("count_nonzero", "cbrt", "sinc", "rint", "positive")],
    same("nanquantile", NAN, [0.0, 0.5, 1.0]),
    same("quantile", NAN, 0.5),
    same("median", NAN),
    same("average", NAN, weights=np.ones(5)),
    same("fmod", NAN, 2.0),
    same("fmod", NAN, NAN),
    same("float_power", NAN, 2),
    same("isin", NAN, NAN),
    same("digitize", NAN, V),
    # empty and 0-d inputs
    *[same(f, E) for f in ("nansum", "nanprod", "count_nonzero", "nancumsum", "ravel", "cbrt")],
    same("nansum", E2, axis=0),
    same("amax", E2, axis=1),
    same("nanmax", E2, axis=1),
    same("nanargmin", E2, axis=1),
    same("ptp", E2, axis=1),
    *[same(f, S) for f in ("nansum", "nanmean", "amin", "ptp", "count_nonzero", "sinc", "ravel")],
    same("quantile", S, 0.5),
    same("quantile", A, []),
    same("percentile", A, [], axis=1),
    same("nanquantile", E, 0.5),  # no elements: NaN
    same("nanpercentile", E2, 10, axis=0),
    same("quantile", A, 0.5, axis=(1,)),
    same("resize", E, 4),
    same("resize", A, 0),
    same("resize", A, ()),
    same("insert", E, 0, 1.0),
    same("delete", E, []),
    same("delete", V, slice(0, 20, 3)),
    same("insert", V, slice(0, 20, 2), 9.0),
    same("append", E, E),
    same("trapezoid", E),
    same("trapezoid", np.ones(1)),
    same("ediff1d", S),
    same("unique_inverse", S),
    same("unique_all", S),
    same("unique_counts", E),
    same("bincount", np.zeros(0, np.int64), minlength=3),
    same("bincount", []),
    same("bincount", COUNTS, minlength=np.int64(7)),
    same("histogram", E, bins=3),
    same("vdot", E, E),
    same("vecdot", E2, np.zeros(3)),
    same("cov", np.ones((3, 1))),
    same("cov", A, ddof=4),  # N - ddof = 0: inf, as numpy (which warns)
    same("cov", A, ddof=10),
    same("cov", A, ddof=2.0),
    same("corrcoef", np.ones((1, 1))),
    same("tri", 0),
    same("tril_indices", 0),
    same("diag_indices", 0),
    # bool/int/float mixes
    *[same(f, I, dtype="int32") for f in ("nansum", "nanprod", "nancumsum", "nancumprod")],
    *[same(f, A, dtype="int32") for f in ("nansum", "nanprod", "nancumsum", "nancumprod")],
    same("nanmean", I, dtype="float32", rtol=1e-6),
    same("nanmean", B),
    same("nansum", B),
    same("count_nonzero", B, axis=0),
    same("amax", B),
    same("average", I, weights=I),
    same("average", B, axis=1, weights=np.ones(4, bool)),
    same("average", A.astype(np.float32), axis=1, weights=np.ones(4, np.int64)),
    same("quantile", I, [0.25, 0.5]),
    same("nanquantile", I, 0.5),
    same("fmod", I, 0),
    same("fmod", -I, 5),
    same("fmod", I.astype(np.int8), np.int8(-5)),
    same("fmod", EXTREME, DIVISORS),  # |most negative int| does not exist
    same("fmod", I, 2.5),
    same("float_power", I, -1),
    same("ldexp", A, I.astype(np.int8)),
    same("ldexp", I, B),
    same("gcd", EXTREME[2:6], DIVISORS[2:6]),
    same("lcm", -I, 4),
    same("logical_xor", A, I),
    same("logical_xor", B, 0),
    *[same(f, B, B) for f in ("vdot", "vecdot")],
    same("matvec", B, B[0]),
    same("vecmat", B[:, 0], B),
    same("vdot", I, A),
    same("cov", A, dtype=np.float32, rtol=1e-6),
    same("corrcoef", A.T, dtype="float32", rtol=1e-6),
    same("cov", I),
    same("convolve", I[0], A[0]),
    same("convolve", V, np.ones(2), mode=0),  # numpy's numbered modes: valid, same, full
    same("correlate", np.ones(2), V, mode=1),
    same("correlate", V, np.ones(2), mode=2),
    same("isin", I, A),
    same("isin", B, [1]),
    same("isin", I, I, kind="table"),
    same("digitize", I, V),
    same("digitize", V, [3.0, 2, 1]),
    same("digitize", V, [2.0, 2, 2]),
    same("digitize", V, [3.0, 2, 1], right=True),
    same("bincount", B[0]),
    same("bincount", COUNTS.astype(np.int8)),
    same("bincount", COUNTS, weights=np.arange(5)),
    same("histogram", I, bins=3),
    same("histogram", B.astype(np.int64)),
    same("histogram", A, bins=[1.0, 1, 2]),
    same("histogram", A, density=True),
    same("union1d", B, I),
    same("intersect1d", I, V),
    same("setdiff1d", I, V),
    same("insert", I, 1, 2.7),
    same("insert", B, 1, 5),
    same("insert", A, [0, 3], 9, axis=1),
    same("insert", A, -4, [1, 2, 3], axis=1),
    same("delete", A, [0, -1], axis=1),
    same("delete", V, [True, False, True]),
    same("append", I, V),
    same("append", B, I),
    same("block", [I, A]),
    same("block", [B, I]),
    same("block", [S, S]),
    same("meshgrid", S, V),
    same("meshgrid", V, I, sparse=True),
    same("trapezoid", I),
    same("trapezoid", B.astype(np.int64)),
    same("trapezoid", V, [1, 2, 3]),
    same("trapezoid", A, dx=np.ones((3, 1))),
    same("trapezoid", V, np.ones((2, 3))),  # x of more dims than y: numpy's axis is x's
    same("trapezoid", V, np.array([[1.0, 2, 4]])),
    same("ediff1d", I, to_begin=1),
    same("broadcast_arrays", B, I),
    same("resize", B, 5),
    same("resize", I, (5,)),
    same("resize", A, np.int64(4)),
    same("rot90", A, k=-1),
    same("rot90", A, k=np.int64(7), axes=(-1, 0)),
    same("result_type", I.astype(np.int8), 1),
    same("result_type", I.astype(np.int8), 1.5),
    same("result_type", None, "int8"),
    same("promote_types", "int8", "uint8"),
    same("can_cast", "int64", "int8", casting="same_kind"),
]


def _compare(name: str, got: Any, want: Any, rtol: float) -> None:
    if name in ("result_type", "promote_types"):
        assert np.dtype(got) == np.dtype(want)
        return
    if name == "can_cast":
        assert got is want
        return
    _same(_as_numpy(tuple(got) if isinstance(got, tuple) else got), tuple(want) if isinstance(
        want, (tuple, list)) else want, rtol)  # fmt: skip


@pytest.mark.parametrize("as_tensors", [False, True], ids=["arrays", "tensors"])
@pytest.mark.parametrize(("name", "args", "kw", "rtol"), SAME)
def test_edge_input_gives_numpys_value_and_dtype(
    name: str, args: tuple, kw: dict, rtol: float, as_tensors: bool
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = getattr(np, name)(*args, **kw)
    if as_tensors:
        args, kw = _tensors(args), _tensors(kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = getattr(gj, name)(*args, **kw)
    _compare(name, got, want, rtol)


def _placeholders(arrays: tuple) -> tuple[list[Any], tuple]:
    phs: list[Any] = []

    def ph(a: Any) -> Any:
        if not isinstance(a, np.ndarray):
            return a
        phs.append(gj.placeholder(f"x{len(phs)}", shape=a.shape, dtype=str(a.dtype)))
        return phs[-1]

    return phs, tuple(ph(a) for a in arrays)


def build_raises(name: str, *args: Any, exc: type = ValueError, **kw: Any):
    return _param(name, args, kw, exc)


# problems known from the shapes and dtypes raise when the graph is built, named
BUILD_RAISES = [
    *[build_raises(f, E) for f in ("amax", "amin", "nanmax", "nanmin", "ptp", "nanargmax")],
    build_raises("nanargmin", E2, axis=0),
    build_raises("nanstd", A, axis=3),
    build_raises("quantile", E, 0.5),
    build_raises("quantile", B, 0.5, exc=TypeError),
    build_raises("quantile", A, 0.5, method="bogus"),
    build_raises("percentile", A, 150),
    build_raises("average", A, axis=1, weights=np.ones(3)),
    build_raises("trapezoid", A, np.ones((2, 4))),
    build_raises("cov", A, np.ones((2, 3))),
    build_raises("corrcoef", A, dtype="int32", exc=TypeError),
    build_raises("vecdot", A, np.ones((2, 4))),
    build_raises("matvec", A, V),
    build_raises("convolve", A, V),
    build_raises("fmod", A, V),
    build_raises("fmod", I.astype(np.int8), 200, exc=IntegerOutOfRangeError),
    build_raises("gcd", I.astype(np.int8), 200, exc=IntegerOutOfRangeError),
    build_raises("gcd", A, I, exc=TypeError),
    build_raises("insert", V, 4, 9.0, exc=IndexError),
    build_raises("insert", V, [[1, 2]], 9.0),
    build_raises("delete", A, 4, axis=1, exc=IndexError),
    build_raises("append", A, V, axis=0),
    build_raises("ediff1d", B, exc=TypeError),
    build_raises("isin", V, V, kind="table"),
    build_raises("digitize", V, A),
    build_raises("unique_values", V, exc=TypeError),
    build_raises("bincount", COUNTS, exc=TypeError),
]


@pytest.mark.parametrize(("name", "args", "kw", "exc"), BUILD_RAISES)
def test_graph_build_raises_naming_the_function(
    name: str, args: tuple, kw: dict, exc: type
) -> None:
    _, args = _placeholders(args)
    with pytest.raises(exc, match=rf"^{re.escape(name)}: "):
        getattr(gj, name)(*args, **kw)


def compiled(name: str, *args: Any, **kw: Any):
    return _param(name, args, kw)


# edge input in compiled graphs: numpy's values and dtypes
COMPILED = [
    compiled("fmod", EXTREME, DIVISORS),
    compiled("fmod", I.astype(np.int8), np.int8(-5)),
    compiled("nanquantile", E2, 0.5, axis=0),
    compiled("quantile", A, [], axis=1),
    compiled("nansum", A, dtype="int32"),
    compiled("nancumprod", I, dtype="int32"),
    compiled("vecdot", B, B),
    compiled("vdot", B, B),
    compiled("cov", A, dtype=np.float32),
    compiled("amax", E2, axis=1),
]


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
@pytest.mark.parametrize(("name", "args", "kw"), COMPILED)
def test_compiled_edge_input_gives_numpys_value_and_dtype(
    name: str, args: tuple, kw: dict, backend: str
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = getattr(np, name)(*args, **kw)
    phs, nodes = _placeholders(args)
    f = gj.compile(phs, [getattr(gj, name)(*nodes, **kw)], backend=backend)
    (got,) = f(*[a for a in args if isinstance(a, np.ndarray)])
    _same(got, want, rtol=1e-6 if np.asarray(want).dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("bins", [[1.0, 3.0, 2.0], [3.0, 2.0, 1.0]])
def test_digitize_reads_bins_that_require_grad(bins: list[float]) -> None:
    edges = gj.tensor(bins, requires_grad=True)
    try:
        want = np.digitize(V, bins)
    except ValueError:
        with pytest.raises(ValueError, match=r"^digitize: bins must be monotonically"):
            gj.digitize(V, edges)
    else:
        _same(gj.digitize(V, edges).numpy(), want)


def test_a_reraised_error_keeps_its_class_and_gains_the_name_once() -> None:
    with pytest.raises(IntegerOutOfRangeError) as info:
        gj.fmod(I.astype(np.int8), 200)
    assert str(info.value).startswith("fmod: ") and "fmod: fmod:" not in str(info.value)
    with pytest.raises(ValueError, match=r"^corrcoef: m has 4 observations and y 3"):
        gj.corrcoef(A, np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"^nanstd: axis 2 is out of range"):
        gj.nanstd(A, axis=2)
    for bad in (lambda: gj.meshgrid(V, "ab"), lambda: gj.append(A, ["a"])):
        with pytest.raises(TypeError, match=r"^(meshgrid|append): cannot use"):
            bad()


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
def test_nan_quantiles_of_slices_found_empty_when_the_graph_runs_are_nan(backend: str) -> None:
    x = gj.placeholder("x", shape=(None, 3))
    f = gj.compile([x], [gj.nanquantile(x, 0.5, axis=0), gj.nanpercentile(x, 50)], backend=backend)
    with_nans = np.array([[1.0, np.nan, np.nan], [4.0, 2.0, np.nan]])
    for value in (np.zeros((0, 3)), with_nans, np.full((2, 3), np.nan)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = (np.nanquantile(value, 0.5, axis=0), np.nanpercentile(value, 50))
        got = f(value)
        _same(tuple(got), want)


def test_searchsorted_refuses_a_sorter_of_another_length() -> None:
    a, v = gj.tensor([3.0, 1.0, 2.0]), gj.tensor([3.5])
    for sorter in (np.array([1, 2]), np.array([1, 2, 0, 0, 0])):
        with pytest.raises(ValueError, match=r"sorter has \d+ indices, a has 3 values"):
            gj.searchsorted(a, v, sorter=sorter)
    with pytest.raises(ValueError, match="must be 1-D"):
        gj.searchsorted(a, v, sorter=np.array([[1, 2, 0]]))
    assert gj.searchsorted(a, v, sorter=np.array([1, 2, 0])).tolist() == [3]
