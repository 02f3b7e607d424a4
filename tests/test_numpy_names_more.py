"""numpy-named functions composed of graphjit's ops (graphjit/numpy_api/): values and dtypes
against numpy on graphs (the reference interpreter and the CPU backend) and on eager tensors,
gradients against finite differences and between graphs and the tape, numpy's errors, and the
tensor methods with PyTorch's spellings."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import graphjit as gj
from graphjit.testing import gradcheck

RNG = np.random.default_rng(11)


def _with_nans():
    a = RNG.normal(size=(4, 5))
    a[0, 1] = np.nan
    a[2, :] = np.nan  # an all-NaN row
    a[3, 3] = np.nan
    return a


NAN = _with_nans()
NO_ALL_NAN = np.where(np.eye(3, 5) > 0, np.nan, RNG.normal(size=(3, 5)))  # no all-NaN slice
A = RNG.normal(size=(3, 4))
B = RNG.normal(size=(3, 4))
V = RNG.normal(size=(2, 3, 4))
INTS = RNG.integers(-9, 9, (3, 4))
SMALL = RNG.integers(-4, 4, (3, 4))
W5 = RNG.uniform(0.1, 1.0, 5)
SORTED = np.sort(RNG.normal(size=4))


class Case:
    """``ours`` and ``ref`` (numpy's) on ``arrays``; ``exact``: the interpreter and eager tensors
    give numpy's bits (else 1e-12 relative)."""

    def __init__(self, name, ours, ref, *arrays, exact=True):
        self.name, self.ours, self.ref, self.arrays, self.exact = name, ours, ref, arrays, exact

    def __repr__(self):
        return self.name


def case(name, ours, ref, *arrays, exact=True):
    return pytest.param(Case(name, ours, ref, *arrays, exact=exact), id=name)


REDUCTIONS = [
    case("nansum", gj.nansum, np.nansum, NAN),
    case("nansum-axis1", lambda a: gj.nansum(a, 1), lambda a: np.nansum(a, 1), NAN),
    case("nansum-tuple-keep", lambda a: gj.nansum(a, (0, 1), keepdims=True),
         lambda a: np.nansum(a, (0, 1), keepdims=True), NAN),
    case("nansum-int", lambda a: gj.nansum(a, 0), lambda a: np.nansum(a, 0), INTS),
    case("nanprod-axis0", lambda a: gj.nanprod(a, 0), lambda a: np.nanprod(a, 0), NAN),
    case("nanmean", gj.nanmean, np.nanmean, NAN),
    case("nanmean-axis1", lambda a: gj.nanmean(a, 1), lambda a: np.nanmean(a, 1), NAN),
    case("nanmean-keep", lambda a: gj.nanmean(a, 0, keepdims=True),
         lambda a: np.nanmean(a, 0, keepdims=True), NAN),
    case("nanmean-int", lambda a: gj.nanmean(a, 1), lambda a: np.nanmean(a, 1), INTS),
    case("nanvar-axis1", lambda a: gj.nanvar(a, 1), lambda a: np.nanvar(a, 1), NAN),
    case("nanvar-ddof1", lambda a: gj.nanvar(a, 0, ddof=1), lambda a: np.nanvar(a, 0, ddof=1),
         NAN),
    case("nanvar-ddof-past-count", lambda a: gj.nanvar(a, 1, ddof=4),
         lambda a: np.nanvar(a, 1, ddof=4), NAN),
    case("nanstd-axis1", lambda a: gj.nanstd(a, 1), lambda a: np.nanstd(a, 1), NAN),
    case("nanmax-axis1", lambda a: gj.nanmax(a, 1), lambda a: np.nanmax(a, 1), NAN),
    case("nanmin-axis0", lambda a: gj.nanmin(a, 0), lambda a: np.nanmin(a, 0), NAN),
    case("nanmax-all", gj.nanmax, np.nanmax, NAN),
    case("nanmin-int", lambda a: gj.nanmin(a, 1), lambda a: np.nanmin(a, 1), INTS),
    case("nanargmax-axis1", lambda a: gj.nanargmax(a, 1), lambda a: np.nanargmax(a, 1),
         NO_ALL_NAN),
    case("nanargmin-all", gj.nanargmin, np.nanargmin, NO_ALL_NAN),
    case("nanargmin-keep", lambda a: gj.nanargmin(a, 0, keepdims=True),
         lambda a: np.nanargmin(a, 0, keepdims=True), NO_ALL_NAN),
    case("nancumsum", gj.nancumsum, np.nancumsum, NAN),
    case("nancumsum-axis1", lambda a: gj.nancumsum(a, 1), lambda a: np.nancumsum(a, 1), NAN),
    case("nancumprod-axis0", lambda a: gj.nancumprod(a, 0), lambda a: np.nancumprod(a, 0), NAN),
    case("amax-axis1", lambda a: gj.amax(a, 1), lambda a: np.amax(a, 1), A),
    case("amin-keep", lambda a: gj.amin(a, 0, keepdims=True),
         lambda a: np.amin(a, 0, keepdims=True), A),
    case("ptp-axis0", lambda a: gj.ptp(a, 0), lambda a: np.ptp(a, 0), A),
    case("ptp-int", gj.ptp, np.ptp, INTS),
    case("count_nonzero", gj.count_nonzero, np.count_nonzero, SMALL),
    case("count_nonzero-axis1-keep", lambda a: gj.count_nonzero(a, 1, keepdims=True),
         lambda a: np.count_nonzero(a, 1, keepdims=True), SMALL),
    case("average", gj.average, np.average, A),
    case("average-weights-1d", lambda a, w: gj.average(a, 1, w[:4]),
         lambda a, w: np.average(a, 1, w[:4]), A, W5, exact=False),
    case("average-weights-full", lambda a, w: gj.average(a, None, w),
         lambda a, w: np.average(a, None, w), A, B ** 2, exact=False),
    case("average-int", lambda a: gj.average(a, 0, np.arange(1, 4)),
         lambda a: np.average(a, 0, np.arange(1, 4)), INTS, exact=False),
]  # fmt: skip

QUANTILES = [
    case("quantile", lambda a: gj.quantile(a, 0.37), lambda a: np.quantile(a, 0.37), A),
    case("quantile-axis1-list", lambda a: gj.quantile(a, [0.0, 0.25, 0.5, 1.0], axis=1),
         lambda a: np.quantile(a, [0.0, 0.25, 0.5, 1.0], axis=1), A),
    case("quantile-2d-q-keep", lambda a: gj.quantile(a, [[0.1], [0.9]], axis=0, keepdims=True),
         lambda a: np.quantile(a, [[0.1], [0.9]], axis=0, keepdims=True), A),
    case("quantile-nan-slice", lambda a: gj.quantile(a, 0.5, axis=1),
         lambda a: np.quantile(a, 0.5, axis=1), NAN),
    case("quantile-int", lambda a: gj.quantile(a, 0.3, axis=1),
         lambda a: np.quantile(a, 0.3, axis=1), INTS),
    case("percentile", lambda a: gj.percentile(a, [10, 62.5], axis=0),
         lambda a: np.percentile(a, [10, 62.5], axis=0), A),
    case("nanquantile", lambda a: gj.nanquantile(a, [0.3, 0.75], axis=1),
         lambda a: np.nanquantile(a, [0.3, 0.75], axis=1), NAN),
    case("nanquantile-all-keep", lambda a: gj.nanquantile(a, 0.4, keepdims=True),
         lambda a: np.nanquantile(a, 0.4, keepdims=True), NAN),
    case("nanpercentile", lambda a: gj.nanpercentile(a, 50, axis=0),
         lambda a: np.nanpercentile(a, 50, axis=0), NAN),
]  # fmt: skip

ARRAYS = [
    case("ravel", gj.ravel, np.ravel, A),
    case("ravel-F", lambda a: gj.ravel(a, "F"), lambda a: np.ravel(a, "F"), A),
    case("fliplr", gj.fliplr, np.fliplr, A),
    case("flipud", gj.flipud, np.flipud, V),
    *[case(f"rot90-k{k}", lambda a, k=k: gj.rot90(a, k), lambda a, k=k: np.rot90(a, k), A)
      for k in (-1, 0, 1, 2, 3)],
    case("rot90-axes", lambda a: gj.rot90(a, 1, (2, 0)), lambda a: np.rot90(a, 1, (2, 0)), V),
    case("broadcast_arrays", gj.broadcast_arrays, np.broadcast_arrays, A[:, :1], V),
    case("append-flat", gj.append, np.append, A, B[0]),
    case("append-axis0", lambda a, b: gj.append(a, b, axis=0),
         lambda a, b: np.append(a, b, axis=0), A, B[:1]),
    *[case(f"insert-{i}", lambda a, o=o, v=v, ax=ax: gj.insert(a, o, v, axis=ax),
           lambda a, o=o, v=v, ax=ax: np.insert(a, o, v, axis=ax), A)
      for i, (o, v, ax) in enumerate([
          (1, 5.0, None), (1, [1.0, 2.0, 3.0, 4.0], 0), (1, np.arange(3.0)[:, None], 1),
          ([1], np.arange(6.0).reshape(3, 2), 1), ([0, 2, 2], [7.0, 8.0, 9.0], 1),
          (slice(0, 3, 2), 9.0, 1), (-1, [1.0, 2.0, 3.0, 4.0], 0), (4, 1, 1)])],
    case("insert-values-cast", lambda a: gj.insert(a, 1, 2.7, axis=1),
         lambda a: np.insert(a, 1, 2.7, axis=1), INTS),
    *[case(f"delete-{i}", lambda a, o=o, ax=ax: gj.delete(a, o, axis=ax),
           lambda a, o=o, ax=ax: np.delete(a, o, axis=ax), A)
      for i, (o, ax) in enumerate([(1, None), (1, 0), ([0, 2], 1), (slice(None, None, 2), 1),
                                   (np.array([True, False, True, False]), 1), (-1, 1)])],
    case("resize", lambda a: gj.resize(a, (5, 3)), lambda a: np.resize(a, (5, 3)), A),
    case("resize-shrink", lambda a: gj.resize(a, 5), lambda a: np.resize(a, 5), A),
    case("block", lambda a, b: gj.block([[a, b], [b, a]]), lambda a, b: np.block([[a, b], [b, a]]),
         A, B),
    case("block-mixed-ndim", lambda a, b: gj.block([[a], [b]]),
         lambda a, b: np.block([[a], [b]]), A[0], B),
    case("trapezoid", gj.trapezoid, np.trapezoid, A, exact=False),
    case("trapezoid-x", lambda y, x: gj.trapezoid(y, x), lambda y, x: np.trapezoid(y, x), A,
         SORTED, exact=False),
    case("trapezoid-x-2d", lambda y, x: gj.trapezoid(y, x, axis=0),
         lambda y, x: np.trapezoid(y, x, axis=0), A, B, exact=False),
    case("trapezoid-dx", lambda y: gj.trapezoid(y, dx=0.3, axis=0),
         lambda y: np.trapezoid(y, dx=0.3, axis=0), A, exact=False),
    case("ediff1d", lambda a: gj.ediff1d(a, to_end=[1.0, 2.0], to_begin=-1.0),
         lambda a: np.ediff1d(a, to_end=[1.0, 2.0], to_begin=-1.0), A),
    *[case(f"meshgrid-{ix}-{sp}", lambda a, b, c, ix=ix, sp=sp: gj.meshgrid(a, b, c, indexing=ix,
                                                                             sparse=sp),
           lambda a, b, c, ix=ix, sp=sp: np.meshgrid(a, b, c, indexing=ix, sparse=sp),
           A[0], B[0, :3], A[1, :2])
      for ix in ("xy", "ij") for sp in (False, True)],
    case("meshgrid-2", gj.meshgrid, np.meshgrid, A[0], B[0, :3]),
]  # fmt: skip

ELEMENTWISE = [
    case("fmod", gj.fmod, np.fmod,
         np.array([[5.5, -5.5, -0.0, np.inf], [3.0, -7.25, 1e300, 2.0]]),
         np.array([[2.0, 2.0, 3.0, 2.0], [0.0, -1.5, 3.0, np.inf]])),
    case("fmod-random", gj.fmod, np.fmod, A * 5, np.where(np.abs(B) < 0.1, 0.5, B)),
    case("fmod-int", gj.fmod, np.fmod, INTS, SMALL),
    case("cbrt", gj.cbrt, np.cbrt, A * 10, exact=False),
    case("cbrt-int", gj.cbrt, np.cbrt, INTS, exact=False),
    case("sinc", gj.sinc, np.sinc, np.array([0.0, 0.5, -1.0, 2.25, 1e-9])),
    case("float_power", gj.float_power, np.float_power, np.abs(A), B, exact=False),
    case("float_power-int", gj.float_power, np.float_power, INTS, np.abs(SMALL)),
    case("ldexp", gj.ldexp, np.ldexp, A, SMALL),
    case("ldexp-far", gj.ldexp, np.ldexp, np.array([0.25, 3.0, 1e-300]),
         np.array([1025, -1074, 1000])),
    case("rint", gj.rint, np.rint, np.array([0.5, 1.5, 2.5, -0.5, -2.5, 3.7])),
    case("rint-int", gj.rint, np.rint, INTS),
    case("positive", gj.positive, np.positive, A),
    case("logical_xor", gj.logical_xor, np.logical_xor, SMALL, INTS),
    case("gcd", gj.gcd, np.gcd, INTS * 6, np.where(SMALL == 1, 0, SMALL * 4)),
    case("lcm", gj.lcm, np.lcm, INTS, np.where(SMALL == 1, 0, SMALL)),
    case("gcd-int8-broadcast", gj.gcd, np.gcd, INTS.astype(np.int8), np.int8([4, -6, 0, 9])),
]  # fmt: skip

PRODUCTS = [
    case("vdot", gj.vdot, np.vdot, A, B, exact=False),
    case("vecdot", gj.vecdot, np.vecdot, A, V, exact=False),
    case("vecdot-axis0", lambda a, b: gj.vecdot(a, b, axis=0),
         lambda a, b: np.vecdot(a, b, axis=0), A, B[:, :1], exact=False),
    case("matvec", gj.matvec, np.matvec, V, A[:2], exact=False),
    case("vecmat", gj.vecmat, np.vecmat, A[:, :3], RNG.normal(size=(3, 3, 5)), exact=False),
    case("matvec-int", gj.matvec, np.matvec, INTS, SMALL[0]),
    *[case(f"cov-{i}", lambda a, kw=kw: gj.cov(a, **kw), lambda a, kw=kw: np.cov(a, **kw), A,
           exact=False)
      for i, kw in enumerate([{}, {"rowvar": False}, {"bias": True}, {"ddof": 2}])],
    case("cov-y", gj.cov, np.cov, A, B[:2], exact=False),
    case("cov-1d", gj.cov, np.cov, A[0], exact=False),
    case("cov-int", gj.cov, np.cov, INTS, exact=False),
    case("corrcoef", gj.corrcoef, np.corrcoef, A, exact=False),
    case("corrcoef-cols", lambda a: gj.corrcoef(a, rowvar=False),
         lambda a: np.corrcoef(a, rowvar=False), A, exact=False),
    case("corrcoef-y", gj.corrcoef, np.corrcoef, A[0], B[1], exact=False),
    *[case(f"{fn}-{mode}-{n}-{m}", lambda a, b, fn=fn, mode=mode: getattr(gj, fn)(a, b, mode),
           lambda a, b, fn=fn, mode=mode: getattr(np, fn)(a, b, mode),
           RNG.normal(size=n), RNG.normal(size=m), exact=False)
      for fn in ("convolve", "correlate") for mode in ("full", "same", "valid")
      for n, m in [(7, 3), (6, 2), (3, 7), (2, 6), (1, 1)]],
    case("convolve-int", gj.convolve, np.convolve, np.array([1, 2, 3]), np.array([0, 1, 5])),
]  # fmt: skip

SEARCH = [
    case("isin", lambda a: gj.isin(a, [1.0, 3.0, np.nan]), lambda a: np.isin(a, [1, 3, np.nan]),
         np.where(SMALL == 0, np.nan, SMALL.astype(float))),
    case("isin-invert", lambda a, b: gj.isin(a, b, invert=True),
         lambda a, b: np.isin(a, b, invert=True), SMALL, INTS[:2]),
    *[case(f"digitize-{i}-{right}", lambda x, b=b, r=right: gj.digitize(x, b, r),
           lambda x, b=b, r=right: np.digitize(x, b, r), A * 3)
      for i, b in enumerate([np.array([-1.0, 0.0, 1.0]), np.array([2.0, 0.5, 0.0, -3.0]),
                             np.array([0.0, 0.0, 1.0])])
      for right in (False, True)],
    case("digitize-node-bins", lambda x, b: gj.digitize(x, b), lambda x, b: np.digitize(x, b),
         A, SORTED),
]  # fmt: skip

GROUPS = {"reductions": REDUCTIONS, "quantiles": QUANTILES, "arrays": ARRAYS,
          "elementwise": ELEMENTWISE, "products": PRODUCTS, "search": SEARCH}  # fmt: skip


def _parts(x):
    return list(x) if isinstance(x, (tuple, list)) else [x]


def _check(got, want, exact, where, rtol=1e-12):
    want = np.asarray(want)
    got = np.asarray(got)
    assert got.shape == want.shape, f"{where}: shape {got.shape}, numpy {want.shape}"
    assert got.dtype == want.dtype, f"{where}: dtype {got.dtype}, numpy {want.dtype}"
    if exact:
        np.testing.assert_array_equal(got, want, err_msg=where)
    else:
        np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-13, err_msg=where)


def _reference(c):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy warns on all-NaN slices
        return _parts(c.ref(*c.arrays))


ALL = [p for ps in GROUPS.values() for p in ps]


@pytest.mark.parametrize("c", ALL)
def test_graph_on_the_interpreter_matches_numpy(c):
    phs = [gj.placeholder(f"x{i}", a.shape, a.dtype.name) for i, a in enumerate(c.arrays)]
    outs = _parts(c.ours(*phs))
    got = gj.compile(phs, outs, backend="numpy")(*c.arrays)
    for node, g, w in zip(outs, got, _reference(c), strict=True):
        assert tuple(node.shape) == np.shape(w) and node.dtype == np.asarray(w).dtype
        _check(g, w, c.exact, repr(c))


@pytest.mark.parametrize("c", ALL)
def test_eager_tensors_match_numpy(c):
    got = _parts(c.ours(*[gj.tensor(a) for a in c.arrays]))
    for g, w in zip(got, _reference(c), strict=True):
        assert isinstance(g, gj.Tensor)
        _check(g.numpy(), w, c.exact, repr(c))


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_cpu_backend_matches_numpy(group):
    """One compiled program per group (the CPU backend compiles slowly): every case's outputs."""
    cases = [p.values[0] for p in GROUPS[group]]
    phs, outs, wants = [], [], []
    for k, c in enumerate(cases):
        xs = [gj.placeholder(f"c{k}_{i}", a.shape, a.dtype.name) for i, a in enumerate(c.arrays)]
        phs += xs
        produced = _parts(c.ours(*xs))
        outs += produced
        wants += [(c, w) for w in _reference(c)]
    got = gj.compile(phs, outs, backend="cpu")(*[a for c in cases for a in c.arrays])
    for g, (c, w) in zip(got, wants, strict=True):
        _check(g, w, False, f"{c!r} on cpu", rtol=1e-12)


# --------------------------------------------------------------------------------------------------
# gradients


# name -> (function of graph nodes or tensors, float64 inputs); NaNs where the function skips them
GRADIENTS = {
    "nansum": (lambda a: gj.nansum(a, 1), [NO_ALL_NAN]),
    "nanprod": (lambda a: gj.nanprod(a, 0), [NO_ALL_NAN]),
    "nanmean": (lambda a: gj.nanmean(a, 1), [NO_ALL_NAN]),
    "nanvar": (lambda a: gj.nanvar(a, 1, ddof=1), [NO_ALL_NAN]),
    "nanstd": (lambda a: gj.nanstd(a, 0), [NO_ALL_NAN]),
    "nanmax": (lambda a: gj.nanmax(a, 1), [NO_ALL_NAN]),
    "nanmin": (lambda a: gj.nanmin(a, 0), [NO_ALL_NAN]),
    "nancumsum": (lambda a: gj.nancumsum(a, 1), [NO_ALL_NAN]),
    "nancumprod": (lambda a: gj.nancumprod(a, 1), [NO_ALL_NAN]),
    "average": (lambda a, w: gj.average(a, 1, w), [A, np.abs(B[0]) + 0.5]),
    "ptp": (lambda a: gj.ptp(a, 1), [A]),
    "quantile": (lambda a: gj.quantile(a, [0.2, 0.5, 0.9], axis=1), [A]),
    "nanquantile": (lambda a: gj.nanquantile(a, [0.3, 0.8], axis=1), [NO_ALL_NAN]),
    "rot90": (lambda a: gj.rot90(a, 3) * np.arange(12.0).reshape(4, 3), [A]),
    "insert": (lambda a, v: gj.insert(a, [0, 2], v, axis=1) ** 2, [A, B[:, :1]]),
    "delete": (lambda a: gj.delete(a, [0, 2], axis=1) ** 2, [A]),
    "resize": (lambda a: gj.resize(a, (4, 4)) ** 2, [A]),
    "block": (lambda a, b: gj.block([[a], [b ** 2]]), [A, B]),
    "trapezoid": (lambda y, x: gj.trapezoid(y ** 2, x), [A, SORTED]),
    "meshgrid": (lambda a, b: gj.meshgrid(a, b)[0] * gj.meshgrid(a, b)[1] ** 2, [A[0], B[0]]),
    "ediff1d": (lambda a: gj.ediff1d(a, to_begin=[1.0], to_end=a[0]) ** 2, [A]),
    "append": (lambda a, b: gj.append(a, b ** 3, axis=0), [A, B[:1]]),
    "ravel-fliplr": (lambda a: gj.ravel(gj.fliplr(a), "F") * np.arange(12.0), [A]),
    "broadcast_arrays": (lambda a, b: gj.broadcast_arrays(a, b)[0] * gj.broadcast_arrays(a, b)[1],
                         [A[:, :1], B]),
    "amax": (lambda a: gj.amax(a, 0) + gj.amin(a, 1).sum(), [A]),
    "positive": (lambda a: gj.positive(a) ** 2, [A]),
    "percentile": (lambda a: gj.percentile(a, 30, axis=0), [A]),
    "fmod": (lambda a, b: gj.fmod(a, b), [A * 5, np.where(np.abs(B) < 0.2, 0.7, B)]),
    "cbrt": (gj.cbrt, [np.where(np.abs(A) < 0.1, 0.5, A)]),
    "sinc": (gj.sinc, [np.array([0.0, 0.3, -1.7, 2.5])]),
    "float_power": (gj.float_power, [np.abs(A) + 0.1, B]),
    "ldexp": (lambda a: gj.ldexp(a, SMALL), [A]),
    "vdot": (gj.vdot, [A, B]),
    "vecdot": (gj.vecdot, [A, V]),
    "matvec": (gj.matvec, [V, A[:2]]),
    "vecmat": (gj.vecmat, [A[:, :3], RNG.normal(size=(3, 3, 2))]),
    "cov": (lambda a: gj.cov(a) ** 2, [A]),
    "corrcoef": (lambda a: gj.corrcoef(a) ** 2, [A]),
    "convolve": (lambda a, v: gj.convolve(a, v, "same") ** 2, [A[0], B[0, :3]]),
    "correlate": (lambda a, v: gj.correlate(a, v, "full") ** 2, [A[0, :2], B[0]]),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(GRADIENTS))
def test_gradients_match_finite_differences(name):
    fn, inputs = GRADIENTS[name]
    assert gradcheck(fn, inputs)  # reverse and forward mode, first and second order


def _eager_grads(fn, inputs):
    ts = [gj.tensor(a, requires_grad=True) for a in inputs]
    gj.sum(fn(*ts)).backward()
    return [t.grad.numpy() for t in ts]


def _graph_grads(fn, inputs, backend):
    xs = [gj.placeholder(f"x{i}", a.shape) for i, a in enumerate(inputs)]
    return gj.compile(xs, gj.grad(gj.sum(fn(*xs)), xs), backend=backend)(*inputs)


@pytest.mark.parametrize("name", sorted(GRADIENTS))
def test_eager_gradients_equal_the_graph_gradients(name):
    fn, inputs = GRADIENTS[name]
    eager = _eager_grads(fn, inputs)
    graph = _graph_grads(fn, inputs, "numpy")
    for e, g in zip(eager, graph, strict=True):
        assert np.isfinite(g).all()
        np.testing.assert_allclose(e, g, rtol=1e-12, atol=1e-14)


def test_gradients_on_the_cpu_backend_equal_the_interpreter():
    """All the gradients in one compiled program (the CPU backend compiles slowly)."""
    xs, grads, inputs = [], [], []
    for k, name in enumerate(sorted(GRADIENTS)):
        fn, arrays = GRADIENTS[name]
        phs = [gj.placeholder(f"g{k}_{i}", a.shape) for i, a in enumerate(arrays)]
        xs += phs
        grads += gj.grad(gj.sum(fn(*phs)), phs)
        inputs += arrays
    cpu = gj.compile(xs, grads, backend="cpu")(*inputs)
    ref = gj.compile(xs, grads, backend="numpy")(*inputs)
    for c, r in zip(cpu, ref, strict=True):
        np.testing.assert_allclose(c, r, rtol=1e-11, atol=1e-13)


def test_nan_elements_get_no_gradient():
    t = gj.tensor(NO_ALL_NAN, requires_grad=True)
    (gj.nansum(t) + gj.nanmean(t, 0).sum() + gj.nanmax(t, 1).sum() + gj.nanvar(t).sum()).backward()
    g = t.grad.numpy()
    assert np.isfinite(g).all()
    assert (g[np.isnan(NO_ALL_NAN)] == 0).all() and (g[~np.isnan(NO_ALL_NAN)] != 0).all()


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "int64"])
def test_gcd_in_a_graph_takes_euclids_longest_run(dtype):
    fib = [1, 2]  # consecutive Fibonacci numbers take Euclid's algorithm the most steps
    while fib[-1] + fib[-2] <= np.iinfo(dtype).max:
        fib.append(fib[-1] + fib[-2])
    a, b = np.array([fib[-1], fib[-2]], dtype), np.array([fib[-2], fib[-1]], dtype)
    x, y = gj.placeholder("x", (2,), dtype), gj.placeholder("y", (2,), dtype)
    g, m = gj.compile([x, y], [gj.gcd(x, y), gj.lcm(x, y)], backend="numpy")(a, b)
    _check(g, np.gcd(a, b), True, "gcd")
    _check(m, np.lcm(a, b), True, "lcm")


def test_fmod_gradient_is_one_and_minus_trunc():
    a, b = np.array([5.5, -5.5, 7.0, -1.0]), np.array([2.0, 2.0, -3.0, 4.0])
    ta, tb = gj.tensor(a, requires_grad=True), gj.tensor(b, requires_grad=True)
    gj.fmod(ta, tb).sum().backward()
    np.testing.assert_array_equal(ta.grad.numpy(), np.ones(4))
    np.testing.assert_array_equal(tb.grad.numpy(), -np.trunc(a / b))


# --------------------------------------------------------------------------------------------------
# numpy's special values and errors


def test_all_nan_slices_follow_numpy():
    row = np.array([[np.nan, np.nan], [1.0, np.nan]])
    t = gj.tensor(row)
    assert gj.nanmax(t, 1).numpy()[0] != gj.nanmax(t, 1).numpy()[0]  # NaN
    assert gj.nanmin(t, 1).tolist()[1] == 1.0
    assert gj.nansum(t, 1).tolist() == [0.0, 1.0] and gj.nanprod(t, 1).tolist() == [1.0, 1.0]
    assert np.isnan(gj.nanmean(t, 1).numpy()[0]) and np.isnan(gj.nanvar(t, 1).numpy()[0])
    assert np.isnan(gj.nanquantile(t, 0.5, axis=1).numpy()[0])
    with pytest.raises(ValueError, match="nanargmax: All-NaN slice"):
        gj.nanargmax(t, 1)
    with pytest.raises(ValueError, match="nanargmin: All-NaN slice"):
        gj.nanargmin(t, 1)
    assert gj.nanargmin(t).item() == np.nanargmin(row) == 2  # the flattened array has a number
    x = gj.placeholder("x", (2, 2))  # a compiled graph cannot raise: -1 marks the slice
    (idx,) = gj.compile([x], [gj.nanargmax(x, 1)], backend="numpy")(row)
    assert idx.tolist() == [-1, 0]


def test_eager_only_functions_refuse_graph_nodes_as_unique_does():
    x = gj.placeholder("x", (3,), "int64")
    for fn in (gj.unique_values, gj.unique_counts, gj.unique_inverse, gj.unique_all,
               gj.bincount, gj.histogram):  # fmt: skip
        with pytest.raises(TypeError, match=rf"{fn.__name__}: .*not graph nodes"):
            fn(x)
    for fn in (gj.union1d, gj.intersect1d, gj.setdiff1d):
        with pytest.raises(TypeError, match=rf"{fn.__name__}: .*not graph nodes"):
            fn(x, np.arange(3))
    with pytest.raises(TypeError, match=r"unique: .*not graph nodes"):
        gj.unique(x)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: gj.quantile(A, 1.5), ValueError, "quantile: Quantiles must be in the range"),
        (lambda: gj.percentile(A, -1), ValueError, "percentile: Percentiles must be in"),
        (lambda: gj.quantile(A, 0.5, method="nearest"), NotImplementedError,
         "quantile: method='nearest'"),
        (lambda: gj.nanquantile(A, 0.5, axis=(0, 1)), NotImplementedError, "tuple of axes"),
        (lambda: gj.quantile(A, gj.placeholder("q", ())), TypeError, "q must be known"),
        (lambda: gj.nansum(A, 2), ValueError, "nansum: axis 2 is out of range"),
        (lambda: gj.amax(A, 5), ValueError, "amax: axis 5 is out of range"),
        (lambda: gj.amin(A, dim=5), ValueError, "amin: axis 5 is out of range"),
        (lambda: gj.ptp(A, 5), ValueError, "ptp: axis 5 is out of range"),
        (lambda: gj.nancumsum(A, 5), ValueError, "nancumsum: axis 5 is out of range"),
        (lambda: gj.nancumprod(A, -3), ValueError, "nancumprod: axis -3 is out of range"),
        (lambda: gj.average(A, 5), ValueError, "average: axis 5 is out of range"),
        (lambda: gj.nanargmax(A, 5), ValueError, "nanargmax: axis 5 is out of range"),
        (lambda: gj.nanargmin(gj.placeholder("p", (3,)), 1), ValueError, "nanargmin: axis 1 is"),
        (lambda: gj.quantile(A, 0.5, 2), ValueError, "quantile: axis 2 is out of range"),
        (lambda: gj.count_nonzero(A, 2), ValueError, "count_nonzero: axis 2 is out of range"),
        (lambda: gj.append(A, A, axis=5), ValueError, "append: axis 5 is out of range"),
        (lambda: gj.insert(A, 0, 1.0, axis=2), ValueError, "insert: axis 2 is out of range"),
        (lambda: gj.trapezoid(A, np.ones(3)), ValueError, "trapezoid: x has 3 sample points, y 4"),
        (lambda: gj.cov(A, np.ones((2, 3))), ValueError, "cov: m has 4 observations and y 3"),
        (lambda: gj.matvec(A, np.ones(3)), ValueError, "matvec: the matrix and the vector"),
        (lambda: gj.vecmat(np.ones(4), A), ValueError, "vecmat: the matrix and the vector"),
        (lambda: gj.resize(A, 2.5), TypeError, "resize: new_shape must be an int or a tuple"),
        (lambda: gj.rot90(A, 1.5), TypeError, "rot90: k must be an int"),
        (lambda: gj.nanmean(A, out=gj.tensor(A)), TypeError, "nanmean: out="),
        (lambda: gj.ptp(A > 0), TypeError, "ptp: not defined for bool"),
        (lambda: gj.average(A, weights=np.ones(4)), TypeError, "average: axis must be given"),
        (lambda: gj.average(A, 1, np.ones(3)), ValueError, "average: 3 weights for an axis"),
        (lambda: gj.average(A, 1, np.ones((2, 2))), TypeError, "average: 1-D weights"),
        (lambda: gj.average(A, 1, np.zeros(4)), ZeroDivisionError, "average: weights sum to zero"),
        (lambda: gj.fliplr(A[0]), ValueError, "fliplr: the input must be at least 2-D"),
        (lambda: gj.flipud(gj.tensor(1.0)), ValueError, "flipud: the input must be at least"),
        (lambda: gj.rot90(A, 1, (0, 0)), ValueError, "rot90: the axes must be different"),
        (lambda: gj.rot90(A, 1, (0, 2)), ValueError, "rot90: axis 2 is out of range"),
        (lambda: gj.rot90(A, 1, (0,)), ValueError, "rot90: axes must name 2 axes"),
        (lambda: gj.broadcast_shapes((2, 3), (4,)), ValueError, "broadcast_shapes"),
        (lambda: gj.broadcast_arrays(A, V[:, :2]), ValueError, "broadcast_arrays"),
        (lambda: gj.insert(A, 5, 1.0, axis=1), IndexError, "insert: index 5 is out of bounds"),
        (lambda: gj.insert(A, [True], 1.0), TypeError, "insert: a boolean obj"),
        (lambda: gj.delete(A, 4, axis=1), IndexError, "delete: index 4 is out of bounds"),
        (lambda: gj.delete(A, [True, False], axis=1), ValueError, "delete: boolean array"),
        (lambda: gj.delete(gj.placeholder("p", (None,)), 0), ValueError, "delete: the size of"),
        (lambda: gj.resize(A, (2, -1)), ValueError, "resize: all elements of new_shape"),
        (lambda: gj.block([A, (B,)]), TypeError, r"block: arrays\[1\] is a tuple"),
        (lambda: gj.block([[A], B]), ValueError, "block: list depths are mismatched"),
        (lambda: gj.block([]), ValueError, "block: arrays is an empty list"),
        (lambda: gj.ediff1d(INTS, to_end=0.5), TypeError, "ediff1d: dtype of to_end"),
        (lambda: gj.meshgrid(A[0], indexing="yx"), ValueError, "meshgrid: valid values"),
        (lambda: gj.size(gj.placeholder("p", (None, 2))), ValueError, "size: .*gj.size_of"),
        (lambda: gj.fmod(A > 0, A > 0), TypeError, "fmod: not defined for bool"),
        (lambda: gj.ldexp(A, B), TypeError, "ldexp: the exponent x2 must be an integer"),
        (lambda: gj.positive(A > 0), TypeError, "positive: not defined for bool"),
        (lambda: gj.gcd(A, 2), TypeError, "gcd: needs integer inputs, got float64"),
        (lambda: gj.lcm(gj.placeholder("f", (2,)), 2), TypeError, "lcm: needs integer inputs"),
        (lambda: gj.vdot(A, B[:2]), ValueError, "vdot: a has 12 elements and b 8"),
        (lambda: gj.vecdot(A, B[:, :3]), ValueError, "vecdot: the vectors have 4 and 3"),
        (lambda: gj.matvec(A[0], A[0]), ValueError, "matvec: needs a matrix"),
        (lambda: gj.vecmat(A, A[0]), ValueError, "vecmat: needs a vector"),
        (lambda: gj.cov(V), ValueError, "cov: m has more than 2 dimensions"),
        (lambda: gj.cov(A, aweights=np.ones(4)), NotImplementedError, "cov: fweights and"),
        (lambda: gj.convolve(A, A[0]), ValueError, "convolve: a must be 1-D"),
        (lambda: gj.correlate(A[0], A[0], "middle"), ValueError, "correlate: mode must be"),
        (lambda: gj.convolve(A[0], np.ones(0)), ValueError, "convolve: v cannot be empty"),
        (lambda: gj.convolve(A[0] > 0, A[0] > 0), TypeError, "convolve: not defined for bool"),
        (lambda: gj.digitize(A, [1.0, 0.0, 2.0]), ValueError, "digitize: bins must be mono"),
        (lambda: gj.digitize(A, A), ValueError, "digitize: bins must be 1-D"),
        (lambda: gj.isin(A, A, kind="hash"), ValueError, "isin: kind must be"),
        (lambda: gj.bincount(np.array([1, -1])), ValueError, "bincount: x must have no negative"),
        (lambda: gj.bincount(np.array([1.0])), TypeError, "bincount: x must hold ints"),
        (lambda: gj.bincount(np.ones((2, 2), int)), ValueError, "bincount: x must be 1-D"),
        (lambda: gj.bincount([0, 1], [1.0]), ValueError, "bincount: weights have shape"),
        (lambda: gj.histogram(A, weights=gj.tensor(A, requires_grad=True)), TypeError,
         "histogram: weights that require grad"),
        (lambda: gj.result_type(), ValueError, "result_type: at least one"),
        (lambda: gj.result_type("complex128"), TypeError, "result_type: 'complex128' is not"),
        (lambda: gj.can_cast(1, "int8"), TypeError, "can_cast: python scalars"),
        (lambda: gj.can_cast("int8", "int16", "sometimes"), ValueError, "can_cast: casting"),
    ],
)  # fmt: skip
def test_bad_input_raises_naming_the_function(call, error, message):
    with pytest.raises(error, match=message):
        call()


# --------------------------------------------------------------------------------------------------
# eager-only functions, dtype rules, constructors and shapes


def test_unique_family_matches_numpy():
    x = np.array([[3.0, 1.0, 2.0], [1.0, np.nan, np.nan]])
    for ours, ref in [(gj.unique_counts, np.unique_counts), (gj.unique_inverse, np.unique_inverse),
                      (gj.unique_all, np.unique_all)]:  # fmt: skip
        got, want = ours(gj.tensor(x)), ref(x)
        assert got._fields == want._fields
        for g, w in zip(got, want, strict=True):
            _check(g.numpy(), w, True, ours.__name__)
    _check(gj.unique_values(x).numpy(), np.unique_values(x), True, "unique_values")


def test_set_operations_match_numpy():
    a, b = np.array([5, 1, 3, 3, 7]), np.array([3, 9, 1, 1])
    _check(gj.union1d(a, b).numpy(), np.union1d(a, b), True, "union1d")
    _check(gj.intersect1d(gj.tensor(a), b).numpy(), np.intersect1d(a, b), True, "intersect1d")
    got = gj.intersect1d(a, b, return_indices=True)
    for g, w in zip(got, np.intersect1d(a, b, return_indices=True), strict=True):
        _check(g.numpy(), w, True, "intersect1d indices")
    _check(gj.setdiff1d(a, b).numpy(), np.setdiff1d(a, b), True, "setdiff1d")


def test_bincount_and_histogram_match_numpy_and_weights_keep_their_gradient():
    x = np.array([0, 2, 2, 5])
    _check(gj.bincount(x).numpy(), np.bincount(x), True, "bincount")
    _check(gj.bincount(x, minlength=8).numpy(), np.bincount(x, minlength=8), True, "minlength")
    w = gj.tensor([0.5, 1.0, 2.0, 3.0], requires_grad=True)
    counts = gj.bincount(gj.tensor(x), w, 7)
    _check(counts.detach().numpy(), np.bincount(x, [0.5, 1.0, 2.0, 3.0], 7), True, "weights")
    (counts * gj.tensor(np.arange(7.0))).sum().backward()
    assert w.grad.tolist() == [0.0, 2.0, 2.0, 5.0]
    data = RNG.normal(size=50)
    for kwargs in [{}, {"bins": 4, "range": (-1, 1)}, {"bins": [-2, 0, 0.5, 3], "density": True}]:
        for g, want in zip(gj.histogram(gj.tensor(data), **kwargs), np.histogram(data, **kwargs),
                           strict=True):  # fmt: skip
            _check(g.numpy(), want, True, f"histogram {kwargs}")


@pytest.mark.parametrize(
    "args",
    [("int8", 1), ("float32", 1.0), ("int64", "float32"), ("uint8", "int8"), ("int32", "float32"),
     ("bool", 1), ("int16", "uint8", 2.5), (np.float32, np.int8)],
    ids=str,
)  # fmt: skip
def test_result_type_and_promote_types_follow_numpy(args):
    def value(a):  # a dtype name stands for an array of it (strong), a python number for itself
        return np.ones(2, a) if isinstance(a, (str, type)) else a

    want = np.result_type(*[value(a) for a in args])
    assert gj.result_type(*args) == want
    assert gj.result_type(*[value(a) for a in args]) == want
    dtypes = [a for a in args if isinstance(a, (str, type))]
    if len(dtypes) == 2:
        assert gj.promote_types(*dtypes) == np.promote_types(*dtypes)


def test_result_type_takes_graph_nodes_and_tensors_and_widens_into_graphjit_dtypes():
    assert gj.result_type(gj.placeholder("i", (2,), "int32"), 1.5) == "float64"
    assert gj.result_type(gj.tensor([1], dtype="uint8"), "int8") == "int16"
    assert gj.result_type(np.ones(2, np.uint32)) == "int64"  # numpy's uint32 widens, as arrays do
    gj.set_default_dtype("float32")
    try:
        assert gj.result_type("int64", 1.5) == "float32"  # as (int_tensor * 1.5).dtype
        assert (gj.tensor([1, 2]) * 1.5).dtype == "float32"
    finally:
        gj.set_default_dtype("float64")


@pytest.mark.parametrize("casting", ["no", "equiv", "safe", "same_kind", "unsafe"])
def test_can_cast_follows_numpy(casting):
    names = ["bool", "uint8", "int8", "int16", "int32", "int64", "float32", "float64"]
    for a in names:
        for b in names:
            assert gj.can_cast(a, b, casting) == np.can_cast(a, b, casting), (a, b)
    assert gj.can_cast(gj.tensor([1.0]), "float32", "same_kind")
    assert not gj.can_cast(gj.placeholder("x", (), "float64"), "int64")


def test_constructors_and_index_helpers_match_numpy():
    _check(gj.tri(3, 4, 1).numpy(), np.tri(3, 4, 1), True, "tri")
    _check(gj.tri(3, dtype="int32").numpy(), np.tri(3, dtype="int32"), True, "tri int")
    for ours, ref, args in [(gj.tril_indices, np.tril_indices, (4, 1)),
                            (gj.triu_indices, np.triu_indices, (3, 0, 5)),
                            (gj.diag_indices, np.diag_indices, (3, 3))]:  # fmt: skip
        for g, w in zip(ours(*args), ref(*args), strict=True):
            assert g.dtype == np.int64 and g.tolist() == w.tolist()
    m = gj.tensor(np.arange(16.0).reshape(4, 4), requires_grad=True)
    m[gj.tril_indices(4, -1)].sum().backward()  # numpy's index arrays index tensors
    assert m.grad.numpy().tolist() == np.tril(np.ones((4, 4)), -1).tolist()
    x = gj.placeholder("x", (4, 4))
    (upper,) = gj.compile([x], [x[gj.triu_indices(4)]], backend="numpy")(
        np.arange(16.0).reshape(4, 4)
    )
    assert upper.tolist() == np.arange(16.0).reshape(4, 4)[np.triu_indices(4)].tolist()
    _check(gj.identity(3).numpy(), np.identity(3), True, "identity")
    e = gj.empty_like(gj.tensor(INTS))
    assert e.shape == INTS.shape and e.dtype == "int64" and not e.numpy().any()
    assert gj.empty_like(A, dtype="float32", shape=(2,)).shape == (2,)
    assert gj.empty_like(gj.placeholder("p", (None, 2))).shape == (None, 2)


def test_ndim_shape_and_size_take_nodes_tensors_arrays_and_lists():
    node = gj.placeholder("x", (None, 3))
    for value, dims in [(node, (None, 3)), (gj.tensor(A), (3, 4)), (A, (3, 4)),
                        ([[1, 2, 3]], (1, 3)), (2.5, ())]:  # fmt: skip
        assert gj.ndim(value) == len(dims) and gj.shape(value) == dims
    assert gj.size(A) == 12 and gj.size(A, 1) == 4 and gj.size(node, -1) == 3
    assert gj.size(5) == 1 and gj.size(gj.tensor(V), (0, 2)) == 8


def test_broadcast_arrays_with_sizes_known_at_call_time():
    x, y = gj.placeholder("x", (None, 3)), gj.placeholder("y", (None, 1))
    bx, by = gj.broadcast_arrays(x, y)
    assert bx.shape == by.shape == (None, 3)
    got = gj.compile([x, y], [bx, by], backend="numpy")(A[:2, :3], B[:2, :1])
    for g, w in zip(got, np.broadcast_arrays(A[:2, :3], B[:2, :1]), strict=True):
        _check(g, w, True, "broadcast_arrays")
    assert gj.broadcast_shapes((2, 1), (3,), ()) == (2, 3)


def test_nanquantile_and_quantile_along_an_axis_known_at_call_time():
    x = gj.placeholder("x", (None, 4))
    outs = [gj.quantile(x, [0.25, 0.5], axis=0), gj.nanquantile(x, 0.7, axis=0)]
    data = np.where(RNG.uniform(size=(5, 4)) < 0.3, np.nan, RNG.normal(size=(5, 4)))
    data[:, 1] = RNG.normal(size=5)
    q, nq = gj.compile([x], outs, backend="numpy")(data)
    _check(q, np.quantile(data, [0.25, 0.5], axis=0), True, "quantile")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        _check(nq, np.nanquantile(data, 0.7, axis=0), True, "nanquantile")


def test_float32_quantiles_keep_numpy_dtypes():
    a = A.astype(np.float32)
    for q in (0.3, [0.3, 0.6]):
        got, want = gj.quantile(gj.tensor(a), q, axis=1).numpy(), np.quantile(a, q, axis=1)
        assert got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=1e-6)


# --------------------------------------------------------------------------------------------------
# tensor methods (PyTorch's spellings)


def test_tensor_methods_take_pytorchs_arguments():
    t = gj.tensor(NO_ALL_NAN)
    _check(t.nansum(1).numpy(), np.nansum(NO_ALL_NAN, 1), True, "nansum")
    _check(t.nansum(dim=0, keepdim=True).numpy(), np.nansum(NO_ALL_NAN, 0, keepdims=True), True,
           "nansum keepdim")  # fmt: skip
    _check(t.nanmean(1, True).numpy(), np.nanmean(NO_ALL_NAN, 1, keepdims=True), True, "nanmean")
    _check(t.nanquantile(0.5, 1).numpy(), np.nanquantile(NO_ALL_NAN, 0.5, 1), True, "nanquantile")
    a = gj.tensor(A)
    _check(a.quantile([0.2, 0.8], 0, True).numpy(),
           np.quantile(A, [0.2, 0.8], 0, keepdims=True), True, "quantile")  # fmt: skip
    _check(a.count_nonzero(1).numpy(), np.count_nonzero(A, 1), True, "count_nonzero")
    _check(a.rot90(1, [1, 0]).numpy(), np.rot90(A, 1, (1, 0)), True, "rot90")
    _check(a.fliplr().numpy(), np.fliplr(A), True, "fliplr")
    _check(a.flipud().numpy(), np.flipud(A), True, "flipud")
    _check(a.fmod(0.3).numpy(), np.fmod(A, 0.3), True, "fmod")
    _check(a.logical_xor(a > 0).numpy(), np.logical_xor(A, A > 0), True, "logical_xor")
    _check(a.cov(correction=0).numpy(), np.cov(A, ddof=0), False, "cov")
    _check(a.corrcoef().numpy(), np.corrcoef(A), False, "corrcoef")
    _check(a.ravel().numpy(), A.ravel(), True, "ravel")
    _check(a.sinc().numpy(), np.sinc(A), True, "sinc")
    _check(a.float_power(2).numpy(), np.float_power(A, 2), False, "float_power")
    _check(a.ldexp(gj.tensor(SMALL)).numpy(), np.ldexp(A, SMALL), True, "ldexp")
    _check(gj.tensor(INTS).gcd(gj.tensor(SMALL)).numpy(), np.gcd(INTS, SMALL), True, "gcd")
    _check(gj.tensor(INTS).lcm(3).numpy(), np.lcm(INTS, 3), True, "lcm")
    _check(a[0].vdot(a[1]).numpy(), np.vdot(A[0], A[1]), False, "vdot")
    _check(gj.tensor([1, 1, 4]).bincount(minlength=6).numpy(), np.bincount([1, 1, 4], None, 6),
           True, "bincount")  # fmt: skip
    assert a.amax(1).tolist() == np.amax(A, 1).tolist()


def test_graph_nodes_have_the_methods_whose_meaning_is_the_same():
    x = gj.placeholder("x", (3, 4))
    outs = [x.ravel(), x.rot90(), x.fmod(0.3), x.count_nonzero(0), x.cov(), x.logical_xor(x)]
    got = gj.compile([x], outs, backend="numpy")(A)
    wants = [A.ravel(), np.rot90(A), np.fmod(A, 0.3), np.count_nonzero(A, 0), np.cov(A),
             np.logical_xor(A, A)]  # fmt: skip
    for g, w in zip(got, wants, strict=True):
        _check(g, w, False, "node method")


def test_every_new_name_is_public():
    for module in ("reductions", "quantiles", "arrays", "elementwise", "products", "sets",
                   "dtype_rules"):  # fmt: skip
        names = getattr(gj.numpy_api, module).__all__
        assert names and set(names) <= set(gj.__all__), module
        for name in names:
            assert getattr(gj, name) is getattr(getattr(gj.numpy_api, module), name)


def test_trapezoid_takes_pytorchs_dim():
    got = gj.trapezoid(gj.tensor(A), dx=None, dim=0).numpy()
    np.testing.assert_allclose(got, np.trapezoid(A, axis=0), rtol=1e-14)


def test_average_returned_gives_the_sum_of_weights_like_numpy():
    for kwargs in [{"axis": 1}, {"axis": 1, "weights": W5[:4]}, {"weights": B**2}]:
        avg, scale = gj.average(gj.tensor(A), returned=True, **kwargs)
        want_avg, want_scale = np.average(A, returned=True, **kwargs)
        _check(avg.numpy(), want_avg, False, f"average {kwargs}")
        _check(scale.numpy(), want_scale, False, f"sum of weights {kwargs}")


def test_empty_results_of_graph_nodes_stay_graph_nodes():
    x = gj.placeholder("x", (0,), "int32")
    outs = [gj.resize(x, (2, 3)), gj.empty_like(x, shape=(2,))]
    assert all(isinstance(o, gj.Node) for o in outs)
    r, e = gj.compile([x], outs, backend="numpy")(np.zeros(0, np.int32))
    _check(r, np.resize(np.zeros(0, np.int32), (2, 3)), True, "resize of nothing")
    assert e.tolist() == [0, 0] and e.dtype == np.int32


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
def test_one_compilation_serves_every_batch_size(backend):
    x = gj.placeholder("x", (None, 4))
    fns = [
        (lambda a: gj.nanmean(a, 0), lambda d: np.nanmean(d, 0)),
        (lambda a: gj.nanvar(a, 0, ddof=1), lambda d: np.nanvar(d, 0, ddof=1)),
        (lambda a: gj.nanquantile(a, [0.2, 0.9], axis=0),
         lambda d: np.nanquantile(d, [0.2, 0.9], axis=0)),
        (lambda a: gj.quantile(a, 0.5, axis=0), lambda d: np.quantile(d, 0.5, axis=0)),
        (lambda a: gj.average(a, 0, returned=True)[1],
         lambda d: np.average(d, 0, returned=True)[1]),
        (lambda a: gj.cov(a, rowvar=False), lambda d: np.cov(d, rowvar=False)),
        (lambda a: gj.trapezoid(a, axis=0), lambda d: np.trapezoid(d, axis=0)),
        (lambda a: gj.isin(a, [1.0, 2.0]), lambda d: np.isin(d, [1.0, 2.0])),
        (lambda a: gj.count_nonzero(a, 0), lambda d: np.count_nonzero(d, 0)),
    ]  # fmt: skip
    f = gj.compile([x], [ours(x) for ours, _ in fns], backend=backend)
    for n in (3, 7):
        d = np.round(np.random.default_rng(n).normal(size=(n, 4)) * 2)
        d[0, 1] = np.nan
        for got, (_, ref) in zip(f(d), fns, strict=True):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                want = ref(d)
            _check(got, want, False, f"batch of {n}")
