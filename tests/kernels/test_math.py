"""graphjit.kernels.math: ulp error against numpy over millions of points per function and
dtype (random over many magnitudes, the special values and the overflow/underflow edges), and
the vector instructions of a fused kernel that calls the functions."""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import llvmlite.binding as llvm
import numpy as np
import pytest
from graphjit.kernels import math as kmath
from graphjit.kernels import pow_tables
from numba import njit

import graphjit as gj

RNG_SEED = 20260

SPECIALS = np.array(
    [0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324, -5e-324, 1e-310, -1e-310,
     2.2250738585072014e-308, -2.2250738585072014e-308, 1.7976931348623157e308,
     -1.7976931348623157e308, 1.0, -1.0, 0.5, -0.5, 2.0, 1e-20, -1e-20]
)  # fmt: skip

# overflow/underflow/domain edges and the reductions' switch points, with their neighbours
EDGES = {
    "exp": [709.782712893384, 709.7827128933841, -708.3964185322641, -745.1332191019411,
            -745.1332191019412, -745.2, 710.0, -746.0],
    "exp2": [1023.9999999999999, 1024.0, -1022.0, -1074.0, -1074.5, -1075.0, -1080.0],
    "expm1": [709.78, 709.79, -37.0, -60.0, -61.0, 0.45, -0.45, 1e-300],
    "log": [1e-323, 2.2250738585072009e-308],
    "log2": [1e-323, 2.0**-1074, 2.0**1023, 0.7071067811865475, 1.4142135623730951],
    "log1p": [-0.9999999999999999, -0.29289321881345254, 0.41421356237309515, 2.0**53,
              1e-300, -1e-300, 2.0**-54],
    "sin": [1e6, np.nextafter(1e6, 2e6), 2.0**19, 2.0**20, 2.0**53, 2.0**1023, np.pi,
            np.pi / 2],
    "tanh": [22.0, 21.99, 19.06, 0.55, 1e-300],
    "erf": [0.84375, 1.25, 1.0 / 0.35, 6.0, 5.99, 1e-300, 5.9e-308],
    "sigmoid": [709.8, -709.8, -745.2, 36.8, 37.0],
    "softplus": [709.8, -709.8, -745.2, 36.8, 37.0],
}  # fmt: skip
EDGES["cos"] = EDGES["tan"] = EDGES["sin"]


def _longdouble(fn: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """A reference computed in numpy's long double (64-bit mantissa on x86) and rounded."""
    return lambda x: fn(x.astype(np.longdouble)).astype(np.float64)


# numpy's own function where numpy has one; erf from libm (numpy has none); the two composed
# functions from numpy's long double, so the reference does not add its own rounding errors
REFERENCES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "exp": np.exp,
    "exp2": np.exp2,
    "expm1": np.expm1,
    "log": np.log,
    "log2": np.log2,
    "log1p": np.log1p,
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "tanh": np.tanh,
    "erf": np.vectorize(math.erf, otypes=[np.float64]),
    "sigmoid": _longdouble(lambda x: 1.0 / (1.0 + np.exp(-x))),
    "softplus": _longdouble(lambda x: np.logaddexp(np.longdouble(0.0), x)),
}

# log-uniform magnitudes (both signs) covering where each function is interesting, plus the
# whole float64 range for every function
RANGES = {
    "exp": (-40.0, 6.57),
    "exp2": (-40.0, 6.94),
    "expm1": (-40.0, 6.57),
    "log": (-745.0, 709.7),
    "log2": (-745.0, 709.7),
    "log1p": (-40.0, 709.7),
    "sin": (-30.0, 709.7),
    "cos": (-30.0, 709.7),
    "tan": (-30.0, 709.7),
    "tanh": (-30.0, 3.2),
    "erf": (-30.0, 2.0),
    "sigmoid": (-30.0, 6.6),
    "softplus": (-30.0, 6.6),
}
DENSE = {  # a dense linear grid where the reduction changes intervals
    "exp": (-20.0, 20.0),
    "exp2": (-30.0, 30.0),
    "expm1": (-3.0, 3.0),
    "log": (0.0, 4.0),
    "log2": (0.0, 4.0),
    "log1p": (-1.0, 3.0),
    "sin": (-20.0, 20.0),
    "cos": (-20.0, 20.0),
    "tan": (-20.0, 20.0),
    "tanh": (-5.0, 5.0),
    "erf": (-7.0, 7.0),
    "sigmoid": (-40.0, 40.0),
    "softplus": (-40.0, 40.0),
}
N_RANDOM = 1_000_000
FUNCTIONS = sorted(REFERENCES)


def sample(name: str) -> np.ndarray:
    rng = np.random.default_rng(RNG_SEED)
    lo, hi = RANGES[name]
    mags = np.exp(rng.uniform(lo, hi, N_RANDOM))
    whole = np.exp(rng.uniform(-744.0, 709.7, N_RANDOM // 4))
    signs = rng.choice([-1.0, 1.0], N_RANDOM + N_RANDOM // 4)
    dense = np.linspace(*DENSE[name], 400_001)
    edges = np.array(EDGES.get(name, []), dtype=np.float64)
    edges = np.concatenate([edges, -edges, np.nextafter(edges, np.inf)])
    return np.concatenate([signs * np.concatenate([mags, whole]), dense, edges, SPECIALS])


def ulp_error(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    """|got - want| in units of want's last place; 0 where both are the same value (nan, the
    same infinity or zero of the same sign), inf where only one of them is nan/inf/-0."""
    got64 = got.astype(np.float64)
    same = ((got == want) & (np.signbit(got) == np.signbit(want))) | (
        np.isnan(got) & np.isnan(want)
    )
    spacing = np.spacing(np.abs(want)).astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        err = np.abs(got64 - want.astype(np.float64)) / spacing
    err = np.where(np.isfinite(want) & np.isfinite(got64), err, np.inf)
    return np.where(same, 0.0, err)


_RUNNERS: dict[str, Callable[[np.ndarray], np.ndarray]] = {}


def runner(name: str) -> Callable[[np.ndarray], np.ndarray]:
    """The function applied by a compiled loop (inlined, as in a generated kernel), the result
    stored in the input's dtype as generated code does."""
    if name not in _RUNNERS:
        fn = getattr(kmath, name)

        @njit(error_model="numpy")
        def run(a: np.ndarray) -> np.ndarray:
            out = np.empty_like(a)
            for i in range(a.size):
                out[i] = fn(a[i])
            return out

        _RUNNERS[name] = run
    return _RUNNERS[name]


def _worst(err: np.ndarray, x: np.ndarray, got: np.ndarray, want: np.ndarray) -> str:
    i = int(np.argmax(err))
    return f"{err[i]:.3g} ulp at x={x[i]!r}: got {got[i]!r}, want {want[i]!r}"


@pytest.mark.parametrize("name", FUNCTIONS)
def test_float64_within_2_ulp_of_numpy(name: str) -> None:
    x = sample(name)
    got = runner(name)(x)
    with np.errstate(all="ignore"):
        want = REFERENCES[name](x)
    err = ulp_error(got, want)
    assert err.max() <= 2.0, f"{name}: {_worst(err, x, got, want)}"


@pytest.mark.parametrize("name", FUNCTIONS)
def test_float32_within_1_ulp(name: str) -> None:
    """float32 in, float32 out, against numpy's float64 answer rounded to float32 (numpy's own
    float32 kernels are up to 3 ulp from that)."""
    with np.errstate(over="ignore"):  # the largest float64 samples become +-inf
        x = sample(name).astype(np.float32)
    got = runner(name)(x)
    assert got.dtype == np.float32
    with np.errstate(all="ignore"):
        want = REFERENCES[name](x.astype(np.float64)).astype(np.float32)
    err = ulp_error(got, want)
    assert err.max() <= 1.0, f"{name}: {_worst(err, x, got, want)}"


def test_special_values_exactly() -> None:
    inf, nan = math.inf, math.nan
    cases = [
        ("exp", -inf, 0.0), ("exp", inf, inf), ("exp", 710.0, inf), ("exp", -746.0, 0.0),
        ("exp2", 1024.0, inf), ("exp2", -1074.0, 5e-324), ("expm1", -inf, -1.0),
        ("expm1", -0.0, -0.0), ("log", 0.0, -inf), ("log", -0.0, -inf), ("log", -1.0, nan),
        ("log", inf, inf), ("log2", 8.0, 3.0), ("log2", 5e-324, -1074.0),
        ("log1p", -1.0, -inf), ("log1p", -2.0, nan), ("log1p", -0.0, -0.0),
        ("log1p", 5e-324, 5e-324), ("sin", -0.0, -0.0), ("sin", inf, nan), ("cos", -inf, nan),
        ("cos", 0.0, 1.0), ("tan", -0.0, -0.0), ("tanh", -inf, -1.0), ("tanh", -0.0, -0.0),
        ("erf", inf, 1.0), ("erf", -inf, -1.0), ("erf", -0.0, -0.0), ("sigmoid", -inf, 0.0),
        ("sigmoid", inf, 1.0), ("softplus", inf, inf), ("softplus", -inf, 0.0),
    ]  # fmt: skip
    for name, x, want in cases:
        got = runner(name)(np.array([x]))[0]
        assert (got == want and np.signbit(got) == np.signbit(want)) or (
            np.isnan(want) and np.isnan(got)
        ), f"{name}({x!r}) = {got!r}, want {want!r}"
    for name in FUNCTIONS:
        assert np.isnan(runner(name)(np.array([nan]))[0]), f"{name}(nan) is not nan"


def test_large_arguments_reduce_exactly() -> None:
    """Payne-Hanek at powers of two, near multiples of pi/2 (where a naive reduction loses every
    digit) and at the double closest to one (6381956970095103 * 2**797, 2**-61 away), against
    long double libm: numpy's float64 cos is 8 ulp off at that last one."""
    near = np.array([math.pi / 2 * k for k in (1e7, 3e9, 1e15, 7e20)])
    worst = 6381956970095103.0 * 2.0**797
    x = np.concatenate([2.0 ** np.arange(20, 1024), near, np.nextafter(near, np.inf), [worst]])
    for name, ref in (("sin", np.sin), ("cos", np.cos), ("tan", np.tan)):
        want = ref(x.astype(np.longdouble)).astype(np.float64)
        err = ulp_error(runner(name)(x), want)
        assert err.max() <= 1.0, f"{name}: {err.max()} ulp at {x[np.argmax(err)]!r}"
    assert runner("cos")(np.array([worst]))[0] == -4.687165924254628e-19


# ------------------------------------------------------------------------------------- pow
POW_N = 500_000  # points per family: 2.75M in all


@functools.cache
def pow_runner() -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """kmath.pow applied by a compiled loop, stored in the inputs' dtype (as generated code)."""
    fn = kmath.pow

    @njit(error_model="numpy")
    def run(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        out = np.empty_like(a)
        for i in range(a.size):
            out[i] = fn(a[i], b[i])
        return out

    return run


def pow_sample() -> tuple[np.ndarray, np.ndarray]:
    """(x, y) pairs: x over the whole positive range (denormals included) with moderate y; x
    near 1 with large y; moderate x and y; y chosen so that x**y lands near overflow, near the
    smallest normal and in the denormals; negative x with integer y (both parities); denormal
    and tiny x with |y| <= 1."""
    rng = np.random.default_rng(RNG_SEED)
    n = POW_N
    x_edge = np.exp(rng.uniform(-8.0, 8.0, n))
    targets = rng.choice([709.5, 700.0, -700.0, -708.0, -720.0, -740.0, -745.0], n)
    families = [
        (np.exp(rng.uniform(-744.0, 709.7, n)), rng.uniform(-3.0, 3.0, n)),
        (1.0 + rng.uniform(-1e-3, 1e-3, n), rng.uniform(-1e5, 1e5, n)),
        (np.exp(rng.uniform(-10.0, 10.0, n)), rng.uniform(-60.0, 60.0, n)),
        (x_edge, (targets + rng.uniform(-1.0, 1.0, n)) / np.log(x_edge)),
        (-np.exp(rng.uniform(-6.0, 6.0, n)), rng.integers(-120, 121, n).astype(np.float64)),
        (np.exp(rng.uniform(-744.5, -708.4, n // 2)), rng.uniform(-1.0, 1.0, n // 2)),
    ]
    return np.concatenate([x for x, _ in families]), np.concatenate([y for _, y in families])


def test_pow_float64_within_2_ulp_of_numpy() -> None:
    """Against numpy's float64 power (up to 0.7 ulp from the true value where numpy's loop is
    SVML's), and against long double powl within 1 ulp (kmath.pow measures 0.51 ulp)."""
    x, y = pow_sample()
    got = pow_runner()(x, y)
    with np.errstate(all="ignore"):
        want = np.power(x, y)
        exact = np.power(x.astype(np.longdouble), y.astype(np.longdouble)).astype(np.float64)
    err = ulp_error(got, want)
    i = int(np.argmax(err))
    assert err.max() <= 2.0, f"pow: {err[i]:.3g} ulp at {x[i]!r} ** {y[i]!r}: {got[i]!r}"
    err = ulp_error(got, exact)
    i = int(np.argmax(err))
    assert err.max() <= 1.0, f"pow: {err[i]:.3g} ulp at {x[i]!r} ** {y[i]!r}: {got[i]!r}"
    # the sample reaches the edges: denormal results, results near overflow, both overflows
    tiny, huge = np.abs(want) < 2.2250738585072014e-308, np.abs(want) > 1e307
    assert np.sum(tiny & (want != 0.0)) > 1000 and np.sum(huge & np.isfinite(want)) > 1000
    assert np.any(np.isinf(want)) and np.any(want == 0.0) and np.any(want < 0.0)


def test_pow_float32_within_1_ulp_of_numpy() -> None:
    """float32 in, float32 out (computed in float64 and rounded), against numpy's float32
    power and against numpy's float64 power rounded to float32."""
    x, y = pow_sample()
    with np.errstate(all="ignore"):
        x32, y32 = x.astype(np.float32), y.astype(np.float32)
        want32 = np.power(x32, y32)
        want64 = np.power(x32.astype(np.float64), y32.astype(np.float64)).astype(np.float32)
    got = pow_runner()(x32, y32)
    assert got.dtype == np.float32
    for want in (want32, want64):
        err = ulp_error(got, want)
        i = int(np.argmax(err))
        assert err.max() <= 1.0, f"pow: {err[i]:.3g} ulp at {x32[i]!r} ** {y32[i]!r}: {got[i]!r}"


POW_X = np.array(
    [0.0, -0.0, 5e-324, -5e-324, 1e-310, -1e-310, 2.2250738585072014e-308, 1.0, -1.0, 0.5,
     -0.5, 2.0, -2.0, 3.0, -3.0, 10.0, -10.0, np.inf, -np.inf, np.nan, 1.7976931348623157e308,
     -1.7976931348623157e308, 0.9999999999999999, 1.0000000000000002, -0.9999999999999999,
     1e-300, 1e300, -1e300]
)  # fmt: skip
POW_Y = np.array(
    [0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 2.0, -2.0, 3.0, -3.0, 7.0, np.inf, -np.inf, np.nan,
     2.0**53, -(2.0**53), 2.0**53 - 1.0, -(2.0**53 - 1.0), 2.0**52 + 1.0, 2.0**63, 1e300,
     -1e300, 1023.0, -1023.0, 1024.0, -1074.0, 1075.0, -1075.0, 5e-324, -5e-324, 0.1, 1e-20]
)  # fmt: skip


def test_pow_special_values_as_numpy() -> None:
    """Every pair of special values: bit for bit (or both nan) as numpy wherever C99 defines
    the answer (an input 0, +-1, +-inf or nan; an exponent of 0, +-inf or nan) or the answer
    is 0, inf, nan or exactly a double (2 ** -1074, (-2) ** 3, 0.5 ** 2); elsewhere
    (0.5 ** 0.1, 1e300 ** -1, ...) within 1 ulp: numpy's own power is off by 0.7 ulp there."""
    x, y = (a.ravel() for a in np.meshgrid(POW_X, POW_Y))
    got = pow_runner()(x, y)
    with np.errstate(all="ignore"):
        want = np.power(x, y)
        wide = np.power(x.astype(np.longdouble), y.astype(np.longdouble))
        defined = (
            np.isin(np.abs(x), [0.0, 1.0, np.inf]) | np.isnan(x) | ~np.isfinite(y) | (y == 0.0)
            | ~np.isfinite(want) | (want == 0.0) | (wide == wide.astype(np.float64))
        )  # fmt: skip
        err = ulp_error(got, want)
    same = ((got == want) & (np.signbit(got) == np.signbit(want))) | (
        np.isnan(got) & np.isnan(want)
    )
    bad = np.flatnonzero(defined & ~same)
    assert not bad.size, "; ".join(f"pow({x[i]!r}, {y[i]!r}) = {got[i]!r}, numpy {want[i]!r}"
                                   for i in bad[:10])  # fmt: skip
    assert defined.sum() > 0.9 * defined.size
    assert err.max() <= 1.0, (
        f"pow: {err.max()} ulp at {x[np.argmax(err)]!r} ** {y[np.argmax(err)]!r}"
    )


def test_pow_float32_special_values() -> None:
    """The same pairs in float32: bit for bit numpy's float64 power rounded to float32 (the
    special cases included), and within 1 ulp of numpy's float32 power."""
    with np.errstate(all="ignore"):
        x, y = (a.ravel().astype(np.float32) for a in np.meshgrid(POW_X, POW_Y))
        want64 = np.power(x.astype(np.float64), y.astype(np.float64)).astype(np.float32)
        want32 = np.power(x, y)
    got = pow_runner()(x, y)
    bad = np.flatnonzero(ulp_error(got, want64) != 0.0)
    assert not bad.size, "; ".join(f"pow({x[i]!r}, {y[i]!r}) = {got[i]!r}, want {want64[i]!r}"
                                   for i in bad[:10])  # fmt: skip
    with np.errstate(all="ignore"):
        assert ulp_error(got, want32).max() <= 1.0


def test_pow_table_reduction_is_exact() -> None:
    """r = z * (1/c) - 1 must be exact for the one fma to give it: at both ends of every
    subinterval of z, the exact value of z * (1/c) - 1 is a double."""
    for i, invc in enumerate(kmath._LOG_INVC):
        ends = (
            kmath._LOG_OFF + (i << kmath._LOG_SHIFT),
            kmath._LOG_OFF + ((i + 1) << kmath._LOG_SHIFT) - 1,
        )
        for bits in ends:
            z = float(np.array(bits, dtype=np.int64).view(np.float64))
            r = Fraction(z) * Fraction(float(invc)) - 1
            assert Fraction(float(r)) == r, f"subinterval {i}: z * (1/c) - 1 = {r} is no double"
            assert abs(r) < Fraction(1, 125)  # the Taylor series of log1p(r) assumes it


# ----------------------------------------------------------------------- vector instructions


def _host_vector_doubles() -> int:
    """How many float64 lanes the host's widest SIMD registers hold (1: no SIMD for doubles)."""
    features = llvm.get_host_cpu_features()
    if features.get("avx512f"):
        return 8
    if features.get("avx"):
        return 4
    if features.get("sse2") or features.get("neon") or features.get("asimd"):
        return 2
    return 1


def test_fused_kernel_vectorises(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The generated program of ``log1p(exp(x)) * sin(x) + erf(x) * tanh(x) + |x| ** y`` holds
    vector arithmetic on doubles: the math was inlined and the loop vectorised, no libm call
    left in it."""
    if _host_vector_doubles() < 2:
        pytest.skip("the host has no SIMD registers for float64")
    monkeypatch.setenv("GRAPHJIT_CACHE_DIR", str(tmp_path))  # compiled here, with its IR
    x = gj.placeholder("x", (None,))
    y = gj.placeholder("y", (None,))
    out = gj.log1p(gj.exp(x)) * gj.sin(x) + gj.erf(x) * gj.tanh(x) + gj.abs(x) ** y
    f = gj.compile([x, y], [out])
    a = np.linspace(-3.0, 3.0, 1001)
    b = np.linspace(-2.5, 4.0, 1001)
    (got,) = f(a, b)
    want = np.log1p(np.exp(a)) * np.sin(a) + REFERENCES["erf"](a) * np.tanh(a) + np.abs(a) ** b
    np.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-15)
    program = f._executable._program
    ir = program.inspect_llvm(program.signatures[0])
    vectors = re.findall(r"<(\d+) x double>", ir)
    assert vectors, "no vector of doubles in the fused kernel's LLVM IR"
    assert max(int(n) for n in vectors) >= 2
    assert re.search(r"fmul (contract |fast |reassoc |nsz |arcp |afn )*<\d+ x double>", ir)
    called = set(re.findall(r"call [^@]*@([\w.]+)\(", ir))
    assert not called & {"exp", "log1p", "sin", "erf", "tanh", "llvm.sin.f64", "llvm.exp.f64"}
    assert not [name for name in called if "pow" in name], f"a call to pow is left: {called}"


def test_pow_tables_are_what_decimal_arithmetic_computes() -> None:
    """kernels/pow_tables.py is generated (its tables cost 25 ms to compute at import): it must
    be what ``compute_pow_tables`` gives now. Regenerate with ``math.write_pow_tables()``."""
    assert Path(pow_tables.__file__).read_text() == kmath.pow_tables_source()
    for name, values in kmath.compute_pow_tables().items():
        stored = getattr(pow_tables, name)
        assert stored.dtype == np.float64 and stored.shape == (128,)
        assert stored.tolist() == values, name
