"""The eager fast paths against the general path they shortcut.

``EagerTensors.run_fast`` (tensors of one dtype, and python numbers that promotion leaves at it)
and the untracked numpy shortcuts of ``sum``, ``reshape`` and basic indexing must give exactly what
promotion, lifting and ``EagerTensors.run`` give: the same values (bit for bit), dtypes, shapes,
tape entries, gradients and errors. Each case runs twice, once as it is and once with both fast
paths switched off, and each says whether the fast path must have been taken, so that a case meant
to test it cannot silently test the general path against itself."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import pytest

import graphjit as gj
from graphjit.errors import TensorUsageError
from graphjit.ops import dispatch as ops_base
from graphjit.ops.shape_rules import broadcast_copy


def _inputs() -> dict[str, gj.Tensor]:
    """Fresh tensors for one run: every case gets its own, so gradients do not accumulate."""
    rng = np.random.default_rng(0)
    m = rng.standard_normal((3, 4))
    ints = rng.choice([-5, -4, -3, -2, -1, 1, 2, 3, 4, 5], size=(3, 4))  # no zero to divide by
    return {
        "f": gj.tensor(m),
        "g": gj.tensor(rng.standard_normal(4)),
        "s": gj.tensor(1.5),  # 0-d
        "ft": gj.from_numpy(m.T),  # Fortran-ordered
        "fs": gj.from_numpy(m[:, ::2]),  # strided
        "f32": gj.tensor(m.astype(np.float32)),
        "i8": gj.tensor(ints.astype(np.int8)),
        "i32": gj.tensor(ints.astype(np.int32)),
        "i64": gj.tensor(ints),
        "u8": gj.tensor(np.abs(ints).astype(np.uint8)),
        "b": gj.tensor(ints > 0),
        "w": gj.tensor(rng.standard_normal((3, 4)), requires_grad=True),
        "w0": gj.tensor(0.7, requires_grad=True),
        "w32": gj.tensor(rng.standard_normal(4).astype(np.float32), requires_grad=True),
    }


Case = Callable[[dict[str, gj.Tensor]], Any]

# (name, case, whether run_fast must run it; None: a reshape, which runs it the first time it meets
# a shape and takes the untracked shortcut after)
FORWARD: list[tuple[str, Case, bool | None]] = [
    ("tensor + tensor, broadcast", lambda t: t["f"] + t["g"], True),
    ("0-d * tensor", lambda t: t["s"] * t["f"], True),
    ("fortran - strided", lambda t: t["ft"].T - t["fs"].repeat(1, 2), True),
    ("float64 * python float", lambda t: t["f"] * 2.5, True),
    ("float32 * python float stays float32", lambda t: t["f32"] * 2.5, True),
    ("float32 + python int", lambda t: t["f32"] + 3, True),
    ("python float - tensor", lambda t: 2.0 - t["f"], True),
    ("python float ** tensor", lambda t: 2.0 ** t["f32"], True),
    ("int8 + python int", lambda t: t["i8"] + 3, True),
    ("uint8 * python int", lambda t: t["u8"] * 2, True),
    ("int32 // python int", lambda t: t["i32"] // 2, True),
    ("int32 * python float promotes", lambda t: t["i32"] * 0.5, False),
    ("int64 / python int promotes", lambda t: t["i64"] / 2, False),
    ("int32 / int32 promotes", lambda t: t["i32"] / t["i32"], False),
    ("int32 + int64 promotes", lambda t: t["i32"] + t["i64"], False),
    ("float32 + float64 promotes", lambda t: t["f32"] + t["f"], False),
    ("bool + bool", lambda t: t["b"] + t["b"], True),
    ("bool * python int promotes", lambda t: t["b"] * 2, False),
    ("python bool is not a weak number", lambda t: t["i32"] + True, False),
    ("exp of floats", lambda t: gj.exp(t["ft"]), True),
    ("exp of ints promotes", lambda t: gj.exp(t["i32"]), False),
    ("negative int8", lambda t: -t["i8"], True),
    ("abs of 0-d", lambda t: abs(-t["s"]), True),
    ("greater", lambda t: t["f"] > t["g"], True),
    ("int32 == python int", lambda t: t["i32"] == 3, True),
    ("int32 < python int beyond int32", lambda t: t["i32"] < 2**40, False),
    ("matmul", lambda t: t["f"] @ t["ft"], True),
    ("matmul of vectors (0-d result)", lambda t: t["g"] @ t["g"], True),
    ("where(cond, float, tensor)", lambda t: gj.where(t["b"], 0.0, t["f"]), True),
    ("where(cond, int, int tensor)", lambda t: gj.where(t["b"], 1, t["i32"]), True),
    ("where(cond, float, int tensor) promotes", lambda t: gj.where(t["b"], 0.5, t["i32"]), False),
    ("where(cond, number, number)", lambda t: gj.where(t["b"], 1.0, 2.0), False),
    ("maximum with a python number", lambda t: gj.maximum(t["f32"], 0), True),
    ("clip", lambda t: gj.clip(t["f"], -0.5, 0.5), True),
    ("sum of floats", lambda t: t["f"].sum(), False),
    ("sum of int8 gives int64", lambda t: t["i8"].sum(), False),
    ("sum of bool", lambda t: t["b"].sum(), False),
    ("sum of 0-d", lambda t: t["s"].sum(), False),
    ("sum of fortran-ordered", lambda t: t["ft"].sum(), False),
    ("sum over a dim", lambda t: t["f"].sum(1), True),
    ("reshape", lambda t: t["f"].reshape(2, 6), None),
    ("reshape of fortran-ordered", lambda t: t["ft"].reshape(12), None),
    ("reshape of 0-d", lambda t: t["s"].reshape(1, 1), None),
    ("reshape of int8 with -1", lambda t: t["i8"].reshape(-1), None),
    ("basic index", lambda t: t["f"][1:, 0], False),
    ("basic index of strided", lambda t: t["fs"][::2, None], False),
    ("transpose", lambda t: t["fs"].T, True),
    ("unsqueeze", lambda t: t["i8"].unsqueeze(1), True),
    ("squeeze", lambda t: t["f"][None].squeeze(0), True),
    ("expand a vector", lambda t: t["g"].expand(3, 4), True),
    ("expand a 0-d", lambda t: t["s"].expand(2, 3), True),
    ("expand an int column", lambda t: t["i32"][:, :1].expand(3, 5), True),
]

ERRORS: list[tuple[str, Case]] = [
    ("shapes that do not broadcast", lambda t: t["f"] + gj.tensor(np.ones(5))),
    ("matmul that does not align", lambda t: t["f"] @ t["f"]),
    ("bool - bool", lambda t: t["b"] - t["b"]),
    ("int8 + python int out of range", lambda t: t["i8"] + 1000),
    ("uint8 * negative python int", lambda t: t["u8"] * -1),
    ("reshape to a wrong size", lambda t: t["f"].reshape(5, 5)),
    ("index out of range", lambda t: t["f"][0, 7]),
]

# cases on the tape: the result is summed (with weights, so that every element's gradient
# differs) and differentiated
TAPE: list[tuple[str, Case]] = [
    ("w * tensor", lambda t: t["w"] * t["f"]),
    ("tensor * w", lambda t: t["g"] * t["w"]),
    ("w * python float", lambda t: t["w"] * 2.5),
    ("python float - w", lambda t: 1.0 - t["w"]),
    ("w ** python int", lambda t: t["w"] ** 2),
    ("python float ** w", lambda t: 2.0 ** t["w"]),
    ("float32 w * python float", lambda t: t["w32"] * 0.5),
    ("0-d w * tensor", lambda t: t["w0"] * t["f"]),
    ("exp(w)", lambda t: gj.exp(t["w"])),
    ("where(w > 0, w, 0.0)", lambda t: gj.where(t["w"] > 0, t["w"], 0.0)),
    ("w @ tensor", lambda t: t["w"] @ t["ft"]),
    ("w.sum()", lambda t: t["w"].sum()),
    ("w.reshape", lambda t: t["w"].reshape(4, 3)),
    ("w[basic index]", lambda t: t["w"][1:, ::2]),
    ("w.T", lambda t: t["w"].T),
    ("the benchmark's loss", lambda t: ((t["w"] * t["f"] + t["g"]) ** 2).sum()),
]


class Runs(NamedTuple):
    """A case's outcome with the fast paths and without, and the ops run_fast ran."""

    fast: Any
    general: Any
    fast_ops: list[str]


def _both(case: Case, monkeypatch: pytest.MonkeyPatch) -> Runs:
    """Run ``case`` on fresh inputs with the fast paths, then again with both switched off."""
    eager = ops_base._eager
    run_fast = type(eager).run_fast
    hits: list[str] = []

    def counting(op: Any, args: Any, attrs: Any) -> Any:
        out = run_fast(op, args, attrs)
        if out is not None:
            hits.append(op.name)
        return out

    with monkeypatch.context() as m:
        m.setattr(eager, "run_fast", counting)
        fast = _outcome(case, _inputs())
    with monkeypatch.context() as m:
        m.setattr(eager, "run_fast", lambda op, args, attrs: None)
        m.setattr(eager, "untracked_array", lambda t: None)  # the op path for sum/reshape/index
        general = _outcome(case, _inputs())
    return Runs(fast, general, hits)


def _outcome(case: Case, t: dict[str, gj.Tensor]) -> Any:
    try:
        return case(t)
    except Exception as exc:  # compared as (type, message)
        return (type(exc), str(exc))


def _assert_same(a: Any, b: Any) -> None:
    if isinstance(b, gj.Tensor):
        assert isinstance(a, gj.Tensor), a
        assert (a.dtype, a.shape) == (b.dtype, b.shape)
        np.testing.assert_array_equal(a.numpy(), b.numpy(), strict=True)
        assert a.numpy().flags.writeable and b.numpy().flags.writeable
        assert a.requires_grad == b.requires_grad and a.is_leaf == b.is_leaf
        assert type(a.grad_fn).__name__ == type(b.grad_fn).__name__
    else:
        assert a == b


@pytest.mark.parametrize(("case", "fast"), [c[1:] for c in FORWARD], ids=[c[0] for c in FORWARD])
def test_fast_path_gives_what_the_general_path_gives(
    case: Case, fast: bool | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = _both(case, monkeypatch)
    assert isinstance(runs.general, gj.Tensor), runs.general
    _assert_same(runs.fast, runs.general)
    if fast:
        assert runs.fast_ops, "the case was meant to take the fast path"
    elif fast is False:
        # promotion first (its casts may run fast), or an untracked shortcut that runs no op
        assert set(runs.fast_ops) <= {"astype"}, runs.fast_ops


@pytest.mark.parametrize("case", [c[1] for c in ERRORS], ids=[c[0] for c in ERRORS])
def test_bad_input_raises_the_same_error(case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    runs = _both(case, monkeypatch)
    assert isinstance(runs.general, tuple) and issubclass(runs.general[0], Exception)
    assert runs.fast == runs.general


def _with_gradients(case: Case) -> Case:
    """The case's result and the gradients of its weighted sum (weights make every element's
    gradient differ), by input name."""

    def run(t: dict[str, gj.Tensor]) -> Any:
        y = case(t)
        weights = np.arange(1.0, 1.0 + y.numel()).reshape(y.shape).astype(y.dtype)
        (y * gj.tensor(weights)).sum().backward()
        return y, {k: None if v.grad is None else v.grad.numpy() for k, v in t.items()}

    return run


@pytest.mark.parametrize("case", [c[1] for c in TAPE], ids=[c[0] for c in TAPE])
def test_tape_and_gradients_are_the_same(case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    runs = _both(_with_gradients(case), monkeypatch)
    (got, got_grads), (want, want_grads) = runs.fast, runs.general
    _assert_same(got, want)
    assert got.requires_grad and got.grad_fn is not None and runs.fast_ops
    assert got_grads.keys() == want_grads.keys()
    for name, g in want_grads.items():
        if g is None:
            assert got_grads[name] is None, name
        else:
            np.testing.assert_array_equal(got_grads[name], g, strict=True)
    assert any(g is not None for g in want_grads.values())


def test_second_derivatives_are_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    def hessian_row(t: dict[str, gj.Tensor]) -> np.ndarray:
        w = t["w"]
        y = ((w * t["f"]) ** 3 + 2.0 * w).sum()
        (g,) = gj.grad(y, [w], create_graph=True)
        (g * t["f"]).sum().backward()
        return w.grad.numpy()

    runs = _both(hessian_row, monkeypatch)
    np.testing.assert_array_equal(runs.fast, runs.general, strict=True)
    assert np.abs(runs.general).sum() > 0 and runs.fast_ops


def test_no_grad_and_detached_inputs_record_nothing() -> None:
    t = _inputs()
    with gj.no_grad():
        for y in (t["w"] * t["f"], t["w"] * 2.0, 3.0 - t["w"], gj.where(t["b"], 0.0, t["w"])):
            assert not y.requires_grad and y.grad_fn is None
    y = t["w"].detach() * 2.0
    assert not y.requires_grad and y.grad_fn is None


def test_a_python_number_on_the_tape_is_a_0d_tensor_of_the_tensors_dtype() -> None:
    w32 = _inputs()["w32"]
    for y in (w32 * 0.5, 0.5 * w32):
        inputs = y._ctx.inputs
        assert all(isinstance(x, gj.Tensor) for x in inputs)
        number = [x for x in inputs if x is not w32]
        assert len(number) == 1 and number[0].shape == () and number[0].dtype == "float32"
        assert number[0].item() == 0.5


def test_in_place_change_after_use_still_raises_in_backward() -> None:
    t = _inputs()
    x = t["w"] * 1.0  # on the tape
    y = x * 2.0
    z = x * t["f"]
    x.add_(1.0)
    with pytest.raises(TensorUsageError, match="modified by an in-place operation"):
        y.sum().backward()
    with pytest.raises(TensorUsageError, match="modified by an in-place operation"):
        z.sum().backward()


@pytest.mark.parametrize(
    ("shape", "target"),
    [((), (2, 3)), ((1,), (16,)), ((1, 1), (2, 3)), ((1,), (0, 3)), ((1, 3), (4, 3)),
     ((3, 1), (2, 3, 4)), ((2, 1, 3), (2, 4, 3)), ((4,), (2, 3, 4))],
)  # fmt: skip
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype", ["float64", "int8", "bool"])
def test_broadcast_copy_is_numpys_copy_of_the_broadcast_view(
    shape: tuple[int, ...], target: tuple[int, ...], order: str, dtype: str
) -> None:
    x = np.asarray(np.random.default_rng(1).standard_normal(shape) * 5, order=order).astype(dtype)
    want = np.array(np.broadcast_to(x, target), copy=True)
    got = broadcast_copy(x, target)
    np.testing.assert_array_equal(got, want, strict=True)
    assert got.strides == want.strides and not np.shares_memory(got, x)
