"""Bitwise ops (graphjit/ops/bitwise.py) against numpy, and PyTorch where installed: every function
and operator on bool and every integer dtype, promotion with python ints, shifts by counts C leaves
undefined, floats refused, eager tensors and compiled graphs (interpreter and CPU backend) giving
the same values, gradients through masks made of them, ONNX export and import, and rewrites."""

from __future__ import annotations

import operator

import numpy as np
import pytest

import graphjit as gj
from graphjit import ir

INTS = ["int8", "int16", "int32", "int64", "uint8"]
DTYPES = ["bool", *INTS]
RNG = np.random.default_rng(7)

BINARY = {
    "bitwise_and": np.bitwise_and,
    "bitwise_or": np.bitwise_or,
    "bitwise_xor": np.bitwise_xor,
    "left_shift": np.left_shift,
    "right_shift": np.right_shift,
}
OPERATORS = {
    "&": (operator.and_, np.bitwise_and),
    "|": (operator.or_, np.bitwise_or),
    "^": (operator.xor, np.bitwise_xor),
    "<<": (operator.lshift, np.left_shift),
    ">>": (operator.rshift, np.right_shift),
}


def _values(dtype: str, shape: tuple[int, ...] = (3, 4)) -> np.ndarray:
    """Values across the dtype's range: negatives, zero, the extremes."""
    if dtype == "bool":
        return RNG.random(shape) < 0.5
    info = np.iinfo(dtype)
    v = RNG.integers(max(info.min, -1000), min(info.max, 1000), shape, endpoint=True)
    flat = v.reshape(-1)
    flat[:3] = [info.min, info.max, 0]
    return v.astype(dtype)


def _counts(dtype: str, shape: tuple[int, ...]) -> np.ndarray:
    """Shift counts: in range, and negative or not below the width (undefined in C)."""
    if dtype == "bool":
        return RNG.random(shape) < 0.5
    width = np.iinfo(dtype).bits
    edge = [0, 1, width - 1, width, width + 1, 63, 64, 100, -1, -width, -64]
    choices = [c for c in edge if np.iinfo(dtype).min <= c <= np.iinfo(dtype).max]
    return RNG.choice(choices, shape).astype(dtype)


def _edge_values(dtype: str) -> np.ndarray:
    info = np.iinfo(dtype)
    return (
        np.array([info.min, info.min + 1, -5, -1, 0, 1, 5, info.max])
        .clip(0 if info.min == 0 else info.min, info.max)
        .astype(dtype)
    )


def _same(got: np.ndarray, want: np.ndarray, what: str = "") -> None:
    got = np.asarray(got)
    assert got.dtype == want.dtype, f"{what}: dtype {got.dtype} != {want.dtype}"
    np.testing.assert_array_equal(got, want, err_msg=what)


def _compiled(fn, arrays: list[np.ndarray], backend: str) -> np.ndarray:
    xs = [gj.placeholder(f"x{i}", a.shape, a.dtype.name) for i, a in enumerate(arrays)]
    (out,) = gj.compile(xs, [fn(*xs)], backend=backend)(*arrays)
    return out


# --------------------------------------------------------------------------------------------------
# values and dtypes


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_functions_match_numpy(name: str, dtype: str) -> None:
    a = _values(dtype)
    b = _counts(dtype, (4,)) if "shift" in name else _values(dtype, (4,))  # broadcast
    want = BINARY[name](a, b)
    fn = getattr(gj, name)
    _same(fn(gj.tensor(a), gj.tensor(b)).numpy(), want, f"eager {name} {dtype}")
    for backend in ("numpy", "cpu"):
        _same(_compiled(fn, [a, b], backend), want, f"{backend} {name} {dtype}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_bitwise_not_matches_numpy_invert(dtype: str) -> None:
    a = _values(dtype)
    want = np.invert(a)
    for fn in (gj.bitwise_not, gj.invert, gj.bitwise_invert, operator.invert):
        _same(fn(gj.tensor(a)).numpy(), want, f"eager {fn} {dtype}")
        for backend in ("numpy", "cpu"):
            _same(_compiled(fn, [a], backend), want, f"{backend} {fn} {dtype}")


def test_the_reported_case_is_bitwise_on_ints() -> None:
    t = gj.tensor(np.array([1, 2, 3]))
    _same((t & t).numpy(), np.array([1, 2, 3]))
    _same((~t).numpy(), np.array([-2, -3, -4]))
    _same((t | 4).numpy(), np.array([5, 6, 7]))
    _same((t ^ 3).numpy(), np.array([2, 1, 0]))
    _same((t << 2).numpy(), np.array([4, 8, 12]))
    _same((t >> 1).numpy(), np.array([0, 1, 1]))


@pytest.mark.parametrize("dtype", INTS)
@pytest.mark.parametrize("name", ["left_shift", "right_shift"])
def test_shifts_match_numpy_for_every_count(name: str, dtype: str) -> None:
    info = np.iinfo(dtype)
    values = _edge_values(dtype)
    counts = np.arange(max(info.min, -70), min(info.max, 130) + 1).astype(dtype)
    a, b = values[:, None], counts[None, :]
    want = BINARY[name](a, b)
    fn = getattr(gj, name)
    _same(fn(gj.tensor(a), gj.tensor(b)).numpy(), want, f"eager {dtype}")
    _same(_compiled(fn, [a, b], "cpu"), want, f"cpu {dtype}")


def test_shifts_outside_the_width_give_numpys_answers() -> None:
    # checked against numpy's documented values too: a count C leaves undefined shifts all out
    x = np.array([-8, -1, 1, 8], np.int64)
    for count in (64, 65, 1000, -1, -64):
        got = _compiled(gj.right_shift, [x, np.full(4, count)], "cpu")
        _same(got, np.array([-1, -1, 0, 0]), f"right_shift by {count}")
        got = _compiled(gj.left_shift, [x, np.full(4, count)], "cpu")
        _same(got, np.zeros(4, np.int64), f"left_shift by {count}")
    _same(_compiled(gj.left_shift, [x, np.full(4, 63)], "cpu"), np.left_shift(x, 63))
    u = np.array([1, 128, 255], np.uint8)
    _same(
        _compiled(gj.left_shift, [u, np.full(3, 7, np.uint8)], "cpu"),
        np.array([128, 0, 128], np.uint8),
    )
    _same(_compiled(gj.right_shift, [u, np.full(3, 8, np.uint8)], "cpu"), np.zeros(3, np.uint8))


def test_promotion_follows_numpy() -> None:
    cases = [
        (np.array([1, -2], np.int8), np.array([3, 4], np.int32)),
        (np.array([True, False]), np.array([3, -4], np.int16)),
        (np.array([200, 7], np.uint8), np.array([-3, 4], np.int8)),
        (np.array([200, 7], np.uint8), 3),  # python ints are weak
        (np.array([True, False]), 3),
        (True, np.array([5, -6], np.int8)),
        (np.array([1, -2], np.int8), np.array([True, True])),
        (np.array([True, False]), True),
    ]
    for a, b in cases:
        for name, ref in BINARY.items():
            want = ref(a, b)
            got = getattr(gj, name)(
                gj.tensor(a) if isinstance(a, np.ndarray) else a,
                gj.tensor(b) if isinstance(b, np.ndarray) else b,
            )
            _same(got.numpy(), want, f"{name}({a!r}, {b!r})")
            x = (
                gj.placeholder("x", np.shape(a), np.asarray(a).dtype.name)
                if isinstance(a, np.ndarray)
                else a
            )
            y = (
                gj.placeholder("y", np.shape(b), np.asarray(b).dtype.name)
                if isinstance(b, np.ndarray)
                else b
            )
            node = getattr(gj, name)(x, y)
            assert node.dtype == want.dtype.name, f"graph {name}({a!r}, {b!r}): {node.dtype}"


@pytest.mark.parametrize("dtype", DTYPES)
def test_operators_and_reflected_operators(dtype: str) -> None:
    a = _values(dtype)
    other = _values(dtype, (4,))
    scalar = True if dtype == "bool" else 3
    for symbol, (op, ref) in OPERATORS.items():
        b = _counts(dtype, (4,)) if symbol in ("<<", ">>") else other
        _same(op(gj.tensor(a), gj.tensor(b)).numpy(), ref(a, b), f"tensor {symbol} tensor")
        _same(op(gj.tensor(a), scalar).numpy(), ref(a, scalar), f"tensor {symbol} scalar")
        _same(
            op(scalar, gj.tensor(a[0, :2].clip(0, 5))).numpy(),
            ref(scalar, a[0, :2].clip(0, 5)),
            f"scalar {symbol} tensor",
        )
        _same(op(b, gj.tensor(a)).numpy(), ref(b, a), f"array {symbol} tensor")
        _same(_compiled(lambda x, y, op=op: op(x, y), [a, b], "cpu"), ref(a, b), f"node {symbol}")
        _same(
            _compiled(lambda x, op=op: op(scalar, x), [a.clip(0, 5)], "cpu"),
            ref(scalar, a.clip(0, 5)),
            f"scalar {symbol} node",
        )
    _same((~gj.tensor(a)).numpy(), np.invert(a), "~tensor")


def test_bools_give_bools() -> None:
    p = np.array([True, True, False, False])
    q = np.array([True, False, True, False])
    tp, tq = gj.tensor(p), gj.tensor(q)
    _same((tp & tq).numpy(), p & q)
    _same((tp | tq).numpy(), p | q)
    _same((tp ^ tq).numpy(), p ^ q)
    _same((~tp).numpy(), ~p)
    _same((tp << tq).numpy(), np.left_shift(p, q))  # numpy shifts bools as int8
    x = gj.placeholder("p", (4,), "bool")
    node = ~(x & gj.placeholder("q", (4,), "bool"))
    assert node.dtype == "bool"
    assert node.op.name == "logical_not"


def test_logical_functions_are_unchanged() -> None:
    a, b = np.array([1, 2, 0, -3]), np.array([2, 0, 0, 5])
    _same(gj.logical_and(gj.tensor(a), gj.tensor(b)).numpy(), np.logical_and(a, b))
    _same(gj.logical_or(gj.tensor(a), gj.tensor(b)).numpy(), np.logical_or(a, b))
    _same(gj.logical_not(gj.tensor(a)).numpy(), np.logical_not(a))
    _same(gj.logical_xor(gj.tensor(a), gj.tensor(b)).numpy(), np.logical_xor(a, b))


@pytest.mark.parametrize("name", [*sorted(BINARY), "bitwise_not"])
def test_floats_raise_type_error_naming_the_op(name: str) -> None:
    f = gj.tensor(np.array([1.0, 2.0]))
    i = gj.tensor(np.array([1, 2]))
    fn = getattr(gj, name)
    calls = (
        [lambda: fn(f)]
        if name == "bitwise_not"
        else [lambda: fn(f, i), lambda: fn(i, 1.5), lambda: fn(f, f)]
    )
    node = gj.placeholder("x", (2,), "float32")
    calls.append((lambda: fn(node)) if name == "bitwise_not" else (lambda: fn(node, 1)))
    for call in calls:
        with pytest.raises(TypeError, match=name):
            call()


@pytest.mark.parametrize("name", [*sorted(BINARY), "bitwise_not"])
def test_complex_numbers_raise_type_error_naming_the_op(name: str) -> None:
    i = gj.tensor(np.array([1, 2]))
    fn = getattr(gj, name)
    for value in (1j, np.array([1j, 2j])):
        with pytest.raises(TypeError, match=name):
            fn(value) if name == "bitwise_not" else fn(i, value)


def test_float_operators_raise() -> None:
    f = gj.tensor(np.array([1.0, 2.0]))
    for op in (operator.and_, operator.or_, operator.xor, operator.lshift, operator.rshift):
        with pytest.raises(TypeError):
            op(f, 1)
    with pytest.raises(TypeError, match="bitwise_not"):
        _ = ~f


def test_out_of_range_python_ints_raise_as_in_numpy() -> None:
    with pytest.raises(OverflowError):
        np.bitwise_and(np.array([1], np.uint8), -1)
    with pytest.raises(OverflowError):
        gj.bitwise_and(gj.tensor(np.array([1], np.uint8)), -1)


# --------------------------------------------------------------------------------------------------
# in place, methods and names


def test_in_place_operators_and_methods() -> None:
    a = np.array([5, -6, 7, 0], np.int32)
    for iop, method, ref, arg in [
        (operator.iand, "bitwise_and_", np.bitwise_and, 3),
        (operator.ior, "bitwise_or_", np.bitwise_or, 8),
        (operator.ixor, "bitwise_xor_", np.bitwise_xor, -1),
        (operator.ilshift, "bitwise_left_shift_", np.left_shift, 2),
        (operator.irshift, "bitwise_right_shift_", np.right_shift, 1),
    ]:
        shared = a.copy()
        t = gj.from_numpy(shared)
        assert iop(t, arg) is t, iop.__name__
        _same(t.numpy(), ref(a, arg), iop.__name__)
        _same(shared, ref(a, arg), f"{iop.__name__}: the array it shares sees the change")
        u = gj.tensor(a.copy())
        assert getattr(u, method)(arg) is u
        _same(u.numpy(), ref(a, arg), method)
    v = gj.tensor(a.copy())
    assert v.bitwise_not_() is v
    _same(v.numpy(), ~a)
    b = gj.tensor(np.array([True, False]))
    b &= True
    _same(b.numpy(), np.array([True, False]))


def test_methods_under_pytorchs_names() -> None:
    a = _values("int16")
    b = _counts("int16", (4,))
    t, s = gj.tensor(a), gj.tensor(b)
    _same(t.bitwise_and(s).numpy(), a & b)
    _same(t.bitwise_or(s).numpy(), a | b)
    _same(t.bitwise_xor(s).numpy(), a ^ b)
    _same(t.bitwise_not().numpy(), ~a)
    _same(t.bitwise_left_shift(s).numpy(), np.left_shift(a, b))
    _same(t.bitwise_right_shift(s).numpy(), np.right_shift(a, b))
    x = gj.placeholder("x", a.shape, "int16")
    (got,) = gj.compile([x], [x.bitwise_xor(5).bitwise_not()], backend="cpu")(a)
    _same(got, ~(a ^ 5))


def test_names_are_public_and_aliases_are_one_function() -> None:
    names = ["bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "invert",
             "bitwise_invert", "left_shift", "right_shift", "bitwise_left_shift",
             "bitwise_right_shift"]  # fmt: skip
    assert set(names) <= set(gj.__all__)
    assert gj.invert is gj.bitwise_invert is gj.bitwise_not
    assert gj.bitwise_left_shift is gj.left_shift
    assert gj.bitwise_right_shift is gj.right_shift
    for name in names:
        assert hasattr(np, name), f"{name} is not a numpy name"


def test_out_keyword() -> None:
    out = gj.tensor(np.zeros(3, np.int64))
    got = gj.bitwise_and(gj.tensor(np.array([7, 6, 5])), 3, out=out)
    assert got is out
    _same(out.numpy(), np.array([3, 2, 1]))


# --------------------------------------------------------------------------------------------------
# graphs: eager and compiled agree, gradients through masks, rewrites


def test_eager_and_compiled_graphs_agree() -> None:
    i = _values("int64", (5, 3))
    b = _values("int8", (3,))
    u = _values("uint8", (5, 1))
    n = _counts("int64", (5, 1))

    def fn(i, b, u, n):
        mixed = (i & b) | (~u).astype("int64") ^ (i >> n)
        return mixed + (b << n.astype("int8")) + ((u >> 2) & 0x0F)

    want = fn(*(gj.tensor(v) for v in (i, b, u, n))).numpy()
    ref = (i & b) | (~u).astype(np.int64) ^ (i >> n)
    ref = ref + np.left_shift(b, n.astype(np.int8)) + ((u >> 2) & 0x0F)
    _same(want, ref, "eager")
    for backend in ("numpy", "cpu"):
        _same(_compiled(fn, [i, b, u, n], backend), ref, backend)


def test_gradients_through_a_parity_mask() -> None:
    xv = RNG.normal(size=(6,))
    iv = np.arange(6) - 2

    def loss(x, i):
        even = gj.equal(i & 1, 0)
        return gj.sum(gj.where(even, x * x, 3.0 * x) + (i >> 1).astype("float64") * x)

    want = np.where(iv % 2 == 0, 2 * xv, 3.0) + (iv >> 1)
    x = gj.placeholder("x", (6,), "float64")
    i = gj.placeholder("i", (6,), "int64")
    (gx,) = gj.grad(loss(x, i), [x])
    for backend in ("numpy", "cpu"):
        (got,) = gj.compile([x, i], [gx], backend=backend)(xv, iv)
        np.testing.assert_allclose(got, want, rtol=1e-12, err_msg=backend)
    t = gj.tensor(xv, requires_grad=True)
    loss(t, gj.tensor(iv)).backward()
    np.testing.assert_allclose(t.grad.numpy(), want, rtol=1e-12)
    gj.testing.gradcheck(lambda v: loss(v, gj.tensor(iv)), [gj.tensor(xv, requires_grad=True)])


def test_no_gradient_flows_into_integer_ops() -> None:
    i = gj.placeholder("i", (3,), "int64")
    out = (i << 2) ^ ~i
    assert out.dtype == "int64"
    assert {n.op.name for n in ir.toposort([out])} >= {"left_shift", "bitwise_xor", "bitwise_not"}


def test_double_bitwise_not_rewrites_to_the_operand() -> None:
    x = gj.placeholder("x", (4,), "int8")
    f = gj.compile([x], [~~x + 1], backend="numpy")
    assert "bitwise_not" not in {n.op.name for n in ir.toposort(list(f.graph))}
    a = np.array([-128, -1, 0, 127], np.int8)
    _same(f(a)[0], a + np.int8(1))


# --------------------------------------------------------------------------------------------------
# PyTorch as a second oracle


@pytest.mark.parametrize("dtype", DTYPES)
def test_matches_torch(dtype: str) -> None:
    torch = pytest.importorskip("torch")
    a = _values(dtype)
    b = _values(dtype, (4,))
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    ga, gb = gj.tensor(a), gj.tensor(b)
    for name in ("bitwise_and", "bitwise_or", "bitwise_xor"):
        want = getattr(torch, name)(ta, tb).numpy()
        _same(getattr(gj, name)(ga, gb).numpy(), want, name)
    _same(gj.bitwise_not(ga).numpy(), torch.bitwise_not(ta).numpy(), "bitwise_not")
    if dtype != "bool":  # counts in [0, width): torch leaves the others to the hardware
        c = np.arange(4).astype(dtype) * (np.iinfo(dtype).bits // 4)
        tc = torch.from_numpy(c)
        _same((ga << gj.tensor(c)).numpy(), (ta << tc).numpy(), "<<")
        _same((ga >> gj.tensor(c)).numpy(), (ta >> tc).numpy(), ">>")


# --------------------------------------------------------------------------------------------------
# ONNX


@pytest.mark.parametrize("dtype", INTS)
def test_onnx_export_matches_onnxruntime(dtype: str) -> None:
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    x = gj.placeholder("x", (8, 1), dtype)
    c = gj.placeholder("c", (1, None), dtype)
    outs = [x << c, x >> c, (x & c) | ~x ^ c]
    model = gj.onnx.export(([x, c], outs), None)
    info = np.iinfo(dtype)
    xv = _edge_values(dtype).reshape(8, 1)
    cv = np.unique(np.arange(-70, 130).clip(info.min, info.max)).astype(dtype).reshape(1, -1)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    got = session.run(None, {"x": xv, "c": cv})
    wants = [np.left_shift(xv, cv), np.right_shift(xv, cv), (xv & cv) | ~xv ^ cv]
    for g, w, what in zip(got, wants, ["<<", ">>", "&|~^"]):
        _same(g, w, f"{dtype} {what}")
    loaded = gj.onnx.load(model)
    for g, w in zip(loaded.compile(backend="numpy")(xv, cv), wants):
        _same(g, w, f"{dtype} round trip")


def test_onnx_import_of_bitwise_ops() -> None:
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    def model(op_type: str, elem: int, n_in: int, **attrs):
        names = ["a", "b"][:n_in]
        return helper.make_model(
            helper.make_graph(
                [helper.make_node(op_type, names, ["y"], **attrs)],
                "g",
                [helper.make_tensor_value_info(n, elem, [4]) for n in names],
                [helper.make_tensor_value_info("y", elem, [4])],
            ),
            opset_imports=[helper.make_opsetid("", 18)],
        )

    a = np.array([5, -6, 7, 0], np.int32)
    b = np.array([3, 3, -1, 9], np.int32)
    for op_type, want in [
        ("BitwiseAnd", a & b), ("BitwiseOr", a | b), ("BitwiseXor", a ^ b),
    ]:  # fmt: skip
        f = gj.onnx.load(model(op_type, TensorProto.INT32, 2)).compile(backend="cpu")
        _same(f(a, b)[0], want, op_type)
    f = gj.onnx.load(model("BitwiseNot", TensorProto.INT32, 1)).compile(backend="cpu")
    _same(f(a)[0], ~a, "BitwiseNot")
    u = np.array([1, 200, 255, 3], np.uint8)
    s = np.array([1, 3, 8, 7], np.uint8)
    for direction, ref in (("LEFT", np.left_shift), ("RIGHT", np.right_shift)):
        m = model("BitShift", TensorProto.UINT8, 2, direction=direction)
        onnx.checker.check_model(m)
        _same(gj.onnx.load(m).compile(backend="cpu")(u, s)[0], ref(u, s), direction)


# --------------------------------------------------------------------------------------------------
# Dask: the backend splits elementwise ops chunk by chunk, these among them


def test_dask_arrays() -> None:
    da = pytest.importorskip("dask.array")
    dask = pytest.importorskip("dask")
    iv = _values("int64", (40, 3))
    x = gj.placeholder("x", (None, 3), "int64")
    f = gj.compile([x], [(x << 3) ^ (x >> 1) & ~x], backend="cpu")
    (got,) = dask.compute(*f(da.from_array(iv, chunks=(10, 3))), scheduler="threads")
    _same(np.asarray(got), (iv << 3) ^ (iv >> 1) & ~iv)
