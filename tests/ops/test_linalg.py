"""matmul, einsum and the products built on them: values against numpy, shape rules (static and
symbolic), build-time errors, and derivatives against finite differences."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import graphjit as gj
from graphjit.interp import evaluate
from graphjit.testing import gradcheck
from tests.ops.helpers import run

RNG = np.random.default_rng(0)


def rand(*shape: int, dtype: str = "float64") -> np.ndarray:
    return RNG.standard_normal(shape).astype(dtype)


def tol(dtype: str) -> dict[str, float]:
    return {"rtol": 1e-5, "atol": 1e-5} if dtype == "float32" else {"rtol": 1e-12, "atol": 1e-12}


MATMUL_SHAPES = [
    ((3,), (3,)),
    ((2, 3), (3,)),
    ((3,), (3, 4)),
    ((2, 3), (3, 4)),
    ((5, 2, 3), (3, 4)),
    ((3,), (5, 3, 4)),
    ((5, 2, 3), (3,)),
    ((5, 1, 2, 3), (4, 3, 2)),
    ((1, 2, 3), (4, 3, 2)),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("sa", "sb"), MATMUL_SHAPES)
def test_matmul_matches_numpy(sa, sb, dtype):
    a, b = rand(*sa, dtype=dtype), rand(*sb, dtype=dtype)
    got = run(lambda x, y: x @ y, a, b)
    want = np.matmul(a, b)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_allclose(got, want, **tol(dtype))


def test_matmul_impl_direct_and_int():
    a = np.arange(6).reshape(2, 3)
    b = np.arange(12).reshape(3, 4)
    np.testing.assert_array_equal(gj.ops.OPS["matmul"].impl(a, b), a @ b)
    out = run(gj.matmul, a, b)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out, a @ b)
    # 1-D . 1-D gives a 0-d array, never a numpy scalar
    assert isinstance(gj.ops.OPS["matmul"].impl(np.ones(3), np.ones(3)), np.ndarray)


@pytest.mark.parametrize("dtype", ["float64", "float32", "int64", "bool", "complex128"])
def test_matmul_impl_gives_numpys_bits_for_every_rank_and_layout(dtype):
    """The op's numpy implementation (which takes ndarray.dot for 1-2 dim operands) returns
    exactly np.matmul's values and dtype, for contiguous and transposed operands."""
    impl = gj.ops.OPS["matmul"].impl
    for sa, sb in [*MATMUL_SHAPES, ((64, 33), (33, 65)), ((1, 5), (5, 1)), ((0, 3), (3, 4))]:
        a, b = (
            (RNG.standard_normal(sa) * 3).astype(dtype),
            (RNG.standard_normal(sb) * 3).astype(dtype),
        )
        for x in (a, np.asfortranarray(a)) if a.ndim == 2 else (a,):  # C and F layouts
            got, want = impl(x, b), np.matmul(x, b)
            assert isinstance(got, np.ndarray) and got.dtype == want.dtype
            np.testing.assert_array_equal(got, want)


def test_matmul_dtype_promotion():
    a = gj.placeholder("a", (2, 3), "float32")
    assert (a @ gj.placeholder("b", (3,), "float64")).dtype == "float64"
    assert (a @ gj.placeholder("c", (3,), "float32")).dtype == "float32"
    i32 = gj.placeholder("i", (2, 3), "int32")
    assert (i32 @ gj.placeholder("j", (3,), "int64")).dtype == "int64"
    assert (i32 @ np.ones(3)).dtype == "float64"


def test_matmul_symbolic_shapes():
    x = gj.placeholder("x", (None, 3))
    assert (x @ gj.placeholder("w", (3, 4))).shape == (None, 4)
    assert (x @ gj.placeholder("v", (3,))).shape == (None,)
    b = gj.placeholder("b", ("batch", None, 5, 3))
    assert (b @ gj.placeholder("m", (3, None))).shape == ("batch", None, 5, None)
    assert (gj.placeholder("k", (None,)) @ gj.placeholder("q", (None,))).shape == ()
    # a None contracted dim is checked when the graph runs
    y = gj.placeholder("y", (2, None)) @ gj.placeholder("z", (3, 4))
    assert y.shape == (2, 4)


def test_matmul_errors_at_build_time():
    x = gj.placeholder("x", (None, 3))
    with pytest.raises(
        ValueError,
        match=r"matmul: shapes \(None, 3\) and \(4, 2\) do not align: "
        r"3 != 4",
    ):
        x @ gj.placeholder("w", (4, 2))
    with pytest.raises(ValueError, match="matmul: operand 1 is a scalar"):
        gj.matmul(x, 2.0)
    with pytest.raises(ValueError, match="batch dims"):
        gj.placeholder("a", (2, 3, 4)) @ gj.placeholder("b", (5, 4, 2))
    with pytest.raises(ValueError, match="do not align: 1 != 3"):
        gj.placeholder("c", (2, 1)) @ gj.placeholder("d", (3, 2))  # contracted dims never broadcast
    with pytest.raises(TypeError, match="matmul: not defined for bool"):
        gj.placeholder("e", (2, 2), "bool") @ gj.placeholder("f", (2, 2), "bool")


@pytest.mark.parametrize(("sa", "sb"), MATMUL_SHAPES)
def test_matmul_gradients(sa, sb):
    gradcheck(lambda x, y: x @ y, [rand(*sa), rand(*sb)])


def test_matmul_broadcast_grad_sums_over_batch():
    a, b = rand(3, 2, 4), rand(4, 5)
    pa, pb = gj.placeholder("a", a.shape), gj.placeholder("b", b.shape)
    ga, gb = gj.grad(gj.sum(pa @ pb), [pa, pb])
    assert ga.shape == a.shape and gb.shape == b.shape
    va, vb = evaluate([ga, gb], {pa: a, pb: b})
    np.testing.assert_allclose(va, np.broadcast_to(b.sum(1), a.shape), rtol=1e-12)
    np.testing.assert_allclose(vb, np.broadcast_to(a.sum((0, 1))[:, None], b.shape), rtol=1e-12)


# --------------------------------------------------------------------------------------------------
# einsum

EINSUM_CASES = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("i,i->", [(4,), (4,)]),
    ("ij->ji", [(2, 3)]),
    ("ij->i", [(2, 3)]),
    ("ij->", [(2, 3)]),
    ("i,j->ij", [(2,), (3,)]),
    ("bi,ij->bj", [(5, 3), (3, 2)]),
    ("ij,jk", [(2, 3), (3, 4)]),  # implicit: output indices in alphabetical order
    ("ba,ac", [(2, 3), (3, 4)]),
    ("ij,ij->ij", [(1, 3), (4, 3)]),  # size-1 broadcasting, as numpy
    ("ij,jk->ik", [(2, 1), (3, 4)]),
    ("...ij,...jk->...ik", [(5, 2, 3), (3, 4)]),
    ("...i->...", [(2, 3, 4)]),
    ("ij...,j->i...", [(2, 3, 4), (3,)]),
    ("abc,cd,de->abe", [(2, 3, 4), (4, 5), (5, 2)]),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("subs", "shapes"), EINSUM_CASES)
def test_einsum_matches_numpy(subs, shapes, dtype):
    arrays = [rand(*s, dtype=dtype) for s in shapes]
    got = run(lambda *xs: gj.einsum(subs, *xs), *arrays)
    want = np.einsum(subs, *arrays)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_allclose(got, want, **tol(dtype))


@pytest.mark.parametrize(("subs", "shapes"), EINSUM_CASES)
def test_einsum_gradients(subs, shapes):
    gradcheck(lambda *xs: gj.einsum(subs, *xs), [rand(*s) for s in shapes])


def test_einsum_int_and_torch_list_form():
    a, b = np.arange(6).reshape(2, 3), np.arange(12).reshape(3, 4)
    out = run(lambda x, y: gj.einsum("ij,jk->ik", [x, y]), a, b)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out, a @ b)


def test_einsum_canonical_subscripts_share_one_node():
    a, b = gj.placeholder("a", (2, 3)), gj.placeholder("b", (3, 4))
    y1 = gj.einsum("ij,jk->ik", a, b)
    y2 = gj.einsum("ab, bc -> ac", a, b)
    y3 = gj.einsum("xy,yz", a, b)
    assert y1 is y2 is y3
    assert y1.attrs["subscripts"] == "ab,bc->ac"
    assert gj.einsum("ij->ij", a) is a


def test_einsum_symbolic_shapes():
    x = gj.placeholder("x", (None, 3, "n"))
    w = gj.placeholder("w", ("n", 7))
    assert gj.einsum("bin,nk->bik", x, w).shape == (None, 3, 7)
    assert gj.einsum("...n,nk->...k", x, w).shape == (None, 3, 7)
    assert gj.einsum("bin->n", x).shape == ("n",)


def test_einsum_errors():
    a, b = gj.placeholder("a", (2, 3)), gj.placeholder("b", (4, 5))
    with pytest.raises(
        ValueError,
        match=r"einsum: operands 0 and 1 disagree on the size of index "
        r"'b'.*3 != 4",
    ):
        gj.einsum("ij,jk->ik", a, b)
    # a repeated index takes a diagonal (tests/ops/test_diagonals.py), of dims of one size
    assert gj.einsum("ii->i", gj.placeholder("s", (3, 3))).op.name == "diagonal"
    with pytest.raises(ValueError, match=r"repeats index 'a'.*dims of different sizes"):
        gj.einsum("ii->i", gj.placeholder("s", (3, 4)))
    with pytest.raises(ValueError, match="repeats an index"):  # the op itself refuses one
        gj.ops.apply(gj.ops.OPS["einsum"], gj.placeholder("s", (3, 3)), subscripts="aa->a")
    with pytest.raises(ValueError, match="name 2 operand"):
        gj.einsum("ij,jk->ik", a)
    with pytest.raises(ValueError, match="operand 0 has 2 dims but its subscripts 'ijk' name 3"):
        gj.einsum("ijk->i", a)
    with pytest.raises(ValueError, match="output index 'z'"):
        gj.einsum("ij->z", a)
    with pytest.raises(ValueError, match="appears twice"):
        gj.einsum("ij->ii", a)
    with pytest.raises(ValueError, match="invalid character"):
        gj.einsum("i1->i", a)
    with pytest.raises(TypeError, match="einsum: not defined for bool"):
        gj.einsum("ij->j", gj.placeholder("m", (2, 2), "bool"))


# --------------------------------------------------------------------------------------------------
# dot, outer, tensordot

DOT_SHAPES = [
    ((), (3,)),
    ((3,), (3,)),
    ((2, 3), (3,)),
    ((2, 3), (3, 4)),
    ((5, 2, 3), (3, 4)),
    ((2, 3), (4, 3, 5)),
    ((2, 2, 3), (4, 3, 2)),
]


@pytest.mark.parametrize(("sa", "sb"), DOT_SHAPES)
def test_dot_matches_numpy(sa, sb):
    a, b = rand(*sa), rand(*sb)
    got = run(gj.dot, a, b)
    np.testing.assert_allclose(got, np.dot(a, b), rtol=1e-12)
    gradcheck(gj.dot, [a, b], order=1)


def test_dot_method_and_outer():
    a, b = rand(3), rand(2, 2)
    np.testing.assert_allclose(run(lambda x, y: x.dot(x), a, b), a @ a, rtol=1e-12)
    np.testing.assert_allclose(run(gj.outer, a, b), np.outer(a, b), rtol=1e-12)
    gradcheck(gj.outer, [a, b])
    assert gj.outer(gj.placeholder("p", (None,)), gj.placeholder("q", (4,))).shape == (None, 4)


@pytest.mark.parametrize(
    ("sa", "sb", "axes"),
    [
        ((2, 3, 4), (3, 4, 5), 2),
        ((2, 3), (3, 4), 1),
        ((2, 3), (4, 5), 0),
        ((3, 4, 5), (4, 3, 2), ([0, 1], [1, 0])),
        ((3, 4), (5, 3), ([0], [1])),
        ((2, 3, 4), (4, 2), ((-1, 0), (0, 1))),
    ],
)
def test_tensordot_matches_numpy(sa, sb, axes):
    a, b = rand(*sa), rand(*sb)
    got = run(lambda x, y: gj.tensordot(x, y, axes), a, b)
    np.testing.assert_allclose(got, np.tensordot(a, b, axes), rtol=1e-12)
    gradcheck(lambda x, y: gj.tensordot(x, y, dims=axes), [a, b], order=1)


def test_tensordot_errors():
    a, b = gj.placeholder("a", (2, 3)), gj.placeholder("b", (4, 5))
    with pytest.raises(
        ValueError,
        match=r"tensordot: shapes \(2, 3\) and \(4, 5\) do not align on "
        r"axes 1 and 0: 3 != 4",
    ):
        gj.tensordot(a, b, 1)
    with pytest.raises(ValueError, match="axes=3"):
        gj.tensordot(a, b, 3)
    with pytest.raises(ValueError, match="different lengths"):
        gj.tensordot(a, b, ([0, 1], [0]))
    with pytest.raises(ValueError, match="out of range"):
        gj.tensordot(a, b, ([2], [0]))


# --------------------------------------------------------------------------------------------------
# property: random contractions agree with numpy, and their gradients with numpy's finite
# differences

SIZES = {"i": 2, "j": 3, "k": 1, "l": 4}
terms = st.lists(st.sampled_from("ijkl"), max_size=3, unique=True).map("".join)


@settings(max_examples=60)
@given(st.lists(terms, min_size=1, max_size=3), st.data())
def test_einsum_property(operand_terms, data):
    letters = sorted(set("".join(operand_terms)))
    out = "".join(data.draw(st.permutations(letters)))[: data.draw(st.integers(0, len(letters)))]
    subs = ",".join(operand_terms) + "->" + out
    arrays = [rand(*[SIZES[c] for c in t]) for t in operand_terms]
    want = np.einsum(subs, *arrays)
    np.testing.assert_allclose(
        run(lambda *xs: gj.einsum(subs, *xs), *arrays), want, rtol=1e-12, atol=1e-12
    )
    c = rand(*want.shape)
    phs = [gj.placeholder(f"a{i}", a.shape) for i, a in enumerate(arrays)]
    grads = evaluate(gj.grad(gj.sum(gj.einsum(subs, *phs) * c), phs), dict(zip(phs, arrays)))
    for i, a in enumerate(arrays):
        # d/da_i of sum(einsum(...) * c) is einsum of c with the other operands: check it by
        # directional finite differences along a random direction
        v = rand(*a.shape)
        moved = [b + 1e-6 * v if j == i else b for j, b in enumerate(arrays)]
        back = [b - 1e-6 * v if j == i else b for j, b in enumerate(arrays)]
        fd = ((np.einsum(subs, *moved) - np.einsum(subs, *back)) * c).sum() / 2e-6
        np.testing.assert_allclose((grads[i] * v).sum(), fd, rtol=1e-6, atol=1e-8)
