"""uint8, int8 and int16: promotion against numpy 2 for every pair of dtypes (arrays and weak
python scalars), the generated code and the interpreter on them, uint8 images through a small
model, and the default float dtype (``gj.set_default_dtype``)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np
import pytest

import graphjit as gj
from graphjit import dtypes

ALL = list(dtypes.DTYPES)


@pytest.fixture
def float32_default() -> Iterator[None]:
    old = gj.get_default_dtype()
    gj.set_default_dtype("float32")
    try:
        yield
    finally:
        gj.set_default_dtype(old)


@pytest.mark.parametrize(("a", "b"), list(itertools.product(ALL, ALL)))
def test_promotion_of_every_pair_matches_numpy(a: str, b: str) -> None:
    want = np.result_type(np.dtype(a), np.dtype(b)).name
    assert dtypes.result_dtype([np.ones(1, a), np.ones(1, b)]) == want
    x, y = gj.placeholder("x", (2,), a), gj.placeholder("y", (2,), b)
    if "bool" not in (a, b):  # numpy has no bool + bool arithmetic beyond or
        assert (x + y).dtype == want
    assert (gj.tensor(np.ones(2, a)) * gj.tensor(np.ones(2, b))).dtype == want


@pytest.mark.parametrize("a", ALL)
@pytest.mark.parametrize("scalar", [1, 1.5, True])
def test_python_scalars_are_weak_as_in_numpy(a: str, scalar: object) -> None:
    want = (np.ones(1, a) * scalar).dtype.name
    assert dtypes.result_dtype([np.ones(1, a), scalar]) == want
    assert (gj.tensor(np.ones(2, a)) * scalar).dtype == want


def test_other_numpy_dtypes_widen_into_the_set() -> None:
    assert dtypes.result_dtype([np.ones(1, "uint16")]) == "int32"
    assert dtypes.result_dtype([np.ones(1, "uint32")]) == "int64"
    assert dtypes.result_dtype([np.ones(1, "float16")]) == "float32"
    assert gj.tensor(np.ones(2, "uint16")).dtype == "int32"


def test_uint8_arithmetic_wraps_and_out_of_range_scalars_raise() -> None:
    a = np.array([250, 3], dtype=np.uint8)
    x = gj.placeholder("x", (None,), "uint8")
    for backend in ("numpy", "cpu"):
        (got,) = gj.compile([x], [x + 10], backend=backend)(a)
        assert got.dtype == np.uint8 and got.tolist() == (a + np.uint8(10)).tolist()
    with pytest.raises(gj.IntegerOutOfRangeError):
        gj.tensor(a) + 300


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16"])
def test_small_ints_on_the_cpu_backend_match_the_interpreter(dtype: str) -> None:
    a = (np.arange(12) * 7 - 30).astype(dtype).reshape(3, 4)
    x = gj.placeholder("x", (None, 4), dtype)
    outs = [
        x * 3 - 1,
        gj.sum(x, axis=1),
        gj.max(x, axis=0),
        gj.cumsum(x, 1),
        gj.sort(x, axis=0),
        gj.mean(x),
        x.astype("float32") / 255.0,
        gj.where(x > 5, x, 5),
    ]
    want = gj.compile([x], outs, backend="numpy")(a)
    got = gj.compile([x], outs, backend="cpu")(a)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype
        np.testing.assert_allclose(g, w, rtol=1e-6)
    assert want[1].dtype == np.int64  # sum accumulates in int64 (numpy: uint64 for uint8)


def test_uint8_images_through_a_small_model() -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (8, 4, 4), dtype=np.uint8)
    labels = rng.integers(0, 3, 8)
    gj.manual_seed(0)
    model = gj.nn.Sequential(gj.nn.Flatten(), gj.nn.Linear(16, 8), gj.nn.Tanh(), gj.nn.Linear(8, 3))
    loss_fn = gj.nn.CrossEntropyLoss()
    # eager: the uint8 batch scaled to [0, 1] in float64
    t = gj.tensor(images)
    assert t.dtype == "uint8"
    loss = loss_fn(model(t / 255.0), gj.tensor(labels))
    loss.backward()
    assert all(p.grad is not None and np.isfinite(p.grad.numpy()).all() for p in model.parameters())
    # compiled: a uint8 placeholder in the same model
    x = gj.placeholder("x", (None, 4, 4), "uint8")
    y = gj.placeholder("y", (None,), "int64")
    graph_loss = loss_fn(model(x.astype("float64") / 255.0), y)
    (value,) = gj.compile([x, y], [graph_loss], backend="cpu")(images, labels)
    np.testing.assert_allclose(value, loss.item(), rtol=1e-12)


def test_default_dtype_is_float64_and_can_be_float32(float32_default: None) -> None:
    assert gj.get_default_dtype() == "float32"
    assert gj.zeros(2, 3).dtype == "float32" and gj.ones(2).dtype == "float32"
    assert gj.tensor([1.0, 2.0]).dtype == "float32" and gj.tensor(1.5).dtype == "float32"
    assert gj.tensor([1, 2]).dtype == "int64"
    assert gj.tensor(np.array([1.0])).dtype == "float64"  # an array keeps its dtype
    assert gj.randn(2).dtype == "float32" and gj.eye(2).dtype == "float32"
    assert gj.arange(0.0, 1.0, 0.5).dtype == "float32" and gj.arange(3).dtype == "int64"
    assert (gj.tensor([1, 2]) * 0.5).dtype == "float32"
    assert gj.mean(gj.tensor([1, 2])).dtype == "float32"
    assert (gj.tensor(np.ones(2)) * 0.5).dtype == "float64"
    x = gj.placeholder("x", (2,), "int32")
    assert (x / 2).dtype == "float32"


def test_set_default_dtype_rejects_non_floats() -> None:
    with pytest.raises(TypeError, match="float32 or float64"):
        gj.set_default_dtype("int32")
    assert gj.get_default_dtype() == "float64"
    assert gj.zeros(2).dtype == "float64" and (gj.tensor([1, 2]) * 0.5).dtype == "float64"


def test_small_int_methods_and_names() -> None:
    t = gj.tensor([1.7, 300.0, -2.0])
    assert t.short().dtype == "int16" and t.char().dtype == "int8"
    assert t.byte().dtype == gj.uint8
    assert gj.tensor([1, 2], dtype=gj.int16).dtype == "int16"
    assert gj.from_numpy(np.zeros(2, np.int8)).dtype == "int8"
