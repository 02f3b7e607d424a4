"""Updates stored straight into their variables (codegen/updates.py): which ones qualify, that
the stores run last, and that every call still sees the semantics of "compute all new values
from the old ones, then write them": against the interpreter, with outputs equal to variables,
inputs sharing a variable's memory, views of a variable, a raising call, ``repeat`` and threads."""

from __future__ import annotations

import re
import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest

import graphjit as gj
from graphjit.codegen.memory import IN_PLACE
from graphjit.runtime.function import _in_place_targets

RNG = np.random.default_rng(7)


def _stores(f: gj.CompiledFunction) -> int:
    return f.source.count(IN_PLACE)


def _sgd(backend: str, seed: int = 0):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    x = gj.placeholder("x", (None, 5))
    y = gj.placeholder("y", (None, 2))
    w1 = gj.variable(rng.standard_normal((5, 4)), name="w1")
    b1 = gj.variable(np.zeros(4), name="b1")
    w2 = gj.variable(rng.standard_normal((4, 2)), name="w2")
    h = gj.tanh(x @ w1 + b1)
    loss = gj.mean((h @ w2 - y) ** 2)
    params = [w1, b1, w2]
    grads = gj.grad(loss, params)
    f = gj.compile(
        [x, y], [loss], updates={p: p - 0.1 * g for p, g in zip(params, grads)}, backend=backend
    )
    return f, params


def test_an_sgd_step_stores_every_update_in_place_and_matches_the_interpreter() -> None:
    (f, params), (ref, ref_params) = _sgd("cpu"), _sgd("numpy")
    assert _stores(f) == 3
    assert "IN_PLACE = (0, 1, 2)" in f.source
    storages = [p.storage.array for p in params]
    x, y = RNG.standard_normal((8, 5)), RNG.standard_normal((8, 2))
    for _ in range(3):
        np.testing.assert_allclose(f(x, y), ref(x, y), rtol=1e-12)
        for p, q in zip(params, ref_params):
            np.testing.assert_allclose(p.get_value(), q.get_value(), rtol=1e-12, atol=1e-15)
    # the variables' arrays were written, never replaced
    assert all(p.storage.array is s for p, s in zip(params, storages))


def test_the_stores_are_the_programs_last_steps() -> None:
    f, _ = _sgd("cpu")
    body = f.source[f.source.index("def program(") :]
    last_alloc = body.rindex("kops.empty(")
    first_store = body.index(IN_PLACE)
    assert last_alloc < first_store
    assert "matmul_blas" not in body[first_store:]


def test_adam_updates_its_moments_and_weights_in_one_pass_in_place() -> None:
    def build(backend: str):  # type: ignore[no-untyped-def]
        x = gj.placeholder("x", (None, 3))
        w = gj.variable(np.linspace(-1, 1, 6).reshape(3, 2), name="w")
        m = gj.variable(np.zeros((3, 2)), name="m")
        v = gj.variable(np.zeros((3, 2)), name="v")
        loss = gj.sum(gj.sin(x @ w))
        (g,) = gj.grad(loss, [w])
        m_new = 0.9 * m + 0.1 * g
        v_new = 0.999 * v + 0.001 * g * g
        w_new = w - 0.01 * m_new / (gj.sqrt(v_new) + 1e-8)
        f = gj.compile([x], [loss], updates={m: m_new, v: v_new, w: w_new}, backend=backend)
        return f, (w, m, v)

    (f, ours), (ref, theirs) = build("cpu"), build("numpy")
    assert _stores(f) == 3
    x = RNG.standard_normal((4, 3))
    for _ in range(4):
        np.testing.assert_allclose(f(x), ref(x), rtol=1e-12)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.get_value(), b.get_value(), rtol=1e-12)


@pytest.mark.parametrize("order", ["ab", "ba"])
def test_updates_reading_each_others_variables_use_the_old_values(order: str) -> None:
    def build(backend: str):  # type: ignore[no-untyped-def]
        a = gj.variable(np.arange(4.0), name="a")
        b = gj.variable(np.arange(4.0) * 10, name="b")
        ups = {a: gj.sum(b) * 0.0 + a + b, b: b * 2.0 - a}
        if order == "ba":
            ups = dict(reversed(list(ups.items())))
        return gj.compile([], [], updates=ups, backend=backend), (a, b)

    (f, ours), (ref, theirs) = build("cpu"), build("numpy")
    for _ in range(3):
        f()
        ref()
    for p, q in zip(ours, theirs):
        np.testing.assert_array_equal(p.get_value(), q.get_value())


def test_a_swap_of_two_variables() -> None:
    a = gj.variable(np.arange(3.0), name="a")
    b = gj.variable(np.arange(3.0) + 10, name="b")
    f = gj.compile([], [], updates={a: b * 1.0, b: a * 1.0})
    f()
    np.testing.assert_array_equal(a.get_value(), [10, 11, 12])
    np.testing.assert_array_equal(b.get_value(), [0, 1, 2])


def test_a_view_of_the_variable_read_in_its_own_nest_keeps_the_store_out_of_place() -> None:
    w0 = np.arange(9.0).reshape(3, 3)
    w = gj.variable(w0, name="w")
    f = gj.compile([], [], updates={w: w - 0.5 * gj.transpose(w)})
    assert _stores(f) == 0
    f()
    np.testing.assert_array_equal(w.get_value(), w0 - 0.5 * w0.T)


def test_an_output_equal_to_the_variable_is_its_old_value() -> None:
    w = gj.variable(np.arange(3.0), name="w")
    f = gj.compile([], [w, gj.sum(w)], updates={w: w + 1.0})
    out, total = f()
    np.testing.assert_array_equal(out, [0, 1, 2])
    assert total == 3.0
    assert not np.shares_memory(out, w.get_value(copy=False))
    np.testing.assert_array_equal(w.get_value(), [1, 2, 3])


def test_an_output_equal_to_the_new_value_is_a_fresh_array() -> None:
    w = gj.variable(np.arange(3.0), name="w")
    new = w * 2.0
    f = gj.compile([], [new], updates={w: new})
    (first,) = f()
    np.testing.assert_array_equal(first, [0, 2, 4])
    f()
    np.testing.assert_array_equal(first, [0, 2, 4])  # not the variable's array
    np.testing.assert_array_equal(w.get_value(), [0, 4, 8])


def test_an_input_sharing_the_variables_memory_is_read_as_it_was() -> None:
    w = gj.variable(np.arange(4.0), name="w")
    x = gj.placeholder("x", (4,))
    f = gj.compile([x], [], updates={w: w + x})
    assert _stores(f) == 1 and "LATE_INPUTS = (0,)" in f.source
    f(w.get_value(copy=False))  # x is w's own array: the new value is w + w
    np.testing.assert_array_equal(w.get_value(), [0, 2, 4, 6])
    f(np.ones(4))
    np.testing.assert_array_equal(w.get_value(), [1, 3, 5, 7])


def test_an_input_sharing_a_variable_stored_earlier_is_read_as_it_was() -> None:
    a = gj.variable(np.arange(4.0), name="a")
    b = gj.variable(np.zeros((2, 4)), name="b")
    x = gj.placeholder("x", (4,))
    f = gj.compile([x], [], updates={a: a + 1.0, b: b + x})
    assert _stores(f) == 2
    f(a.get_value(copy=False))  # b's store reads x after a's store wrote a (x's memory)
    np.testing.assert_array_equal(b.get_value(), [[0, 1, 2, 3]] * 2)
    np.testing.assert_array_equal(a.get_value(), [1, 2, 3, 4])


def test_an_input_read_only_before_the_stores_is_not_checked() -> None:
    w = gj.variable(np.arange(4.0), name="w")
    x = gj.placeholder("x", (None,))
    f = gj.compile([x], [], updates={w: w - 0.1 * gj.sum(x)})
    assert _stores(f) == 1 and "LATE_INPUTS = ()" in f.source


def test_an_input_read_by_a_folded_product_is_checked() -> None:
    """``w - lr * (x.T @ g)`` reads ``x`` at the store: a caller passing ``w``'s memory as ``x``
    must get the product of the old values."""
    w = gj.variable(np.eye(3), name="w")
    x = gj.placeholder("x", (3, 3))
    f = gj.compile([x], [], updates={w: w - 0.5 * (gj.transpose(x) @ gj.constant(np.ones((3, 3))))})
    assert FOLD in f.source and "LATE_INPUTS = (0,)" in f.source
    f(w.get_value(copy=False))
    np.testing.assert_array_equal(w.get_value(), np.eye(3) - 0.5)


FOLD = "kops.matmul_update("


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "form", ["w - s * p", "w - p * s", "w + s * p", "s * p + w", "w - p", "p + w", "w - r * p"]
)
def test_a_weight_update_by_a_matrix_product_is_one_blas_call(form: str, dtype: str) -> None:
    """The product ``p = a.T @ b`` is computed by the gemm that accumulates into ``w``."""
    rng = np.random.default_rng(1)
    w0 = rng.standard_normal((4, 3)).astype(dtype)
    a = gj.placeholder("a", (None, 4), dtype)
    b = gj.placeholder("b", (None, 3), dtype)
    rate = np.asarray(0.25, dtype)

    def build(backend: str):  # type: ignore[no-untyped-def]
        w = gj.variable(w0, name="w")
        r = gj.variable(rate, name="r")
        p = gj.transpose(a) @ b
        s = gj.constant(rate)
        new = eval(form, {"w": w, "p": p, "s": s, "r": r})
        return gj.compile([a, b], [], updates={w: new}, backend=backend), w

    (f, w), (ref, w_ref) = build("cpu"), build("numpy")
    assert f.source.count(FOLD) == 1 and "matmul_blas" not in f.source
    av, bv = rng.standard_normal((5, 4)).astype(dtype), rng.standard_normal((5, 3)).astype(dtype)
    for _ in range(2):
        f(av, bv)
        ref(av, bv)
    tol = 1e-5 if dtype == "float32" else 1e-13
    np.testing.assert_allclose(w.get_value(), w_ref.get_value(), rtol=tol, atol=tol)


def test_a_product_read_elsewhere_or_reading_the_variable_is_not_folded() -> None:
    w0 = np.arange(9.0).reshape(3, 3) / 10
    w = gj.variable(w0, name="w")
    v = gj.variable(w0.copy(), name="v")
    x = gj.placeholder("x", (3, 3))
    p = x @ x
    f = gj.compile([x], [p], updates={w: w - 0.1 * p, v: v - 0.1 * (v @ x)})
    assert FOLD not in f.source and _stores(f) == 2
    xv = np.arange(9.0).reshape(3, 3)
    np.testing.assert_allclose(f(xv)[0], xv @ xv)
    np.testing.assert_allclose(w.get_value(), w0 - 0.1 * (xv @ xv))
    np.testing.assert_allclose(v.get_value(), w0 - 0.1 * (w0 @ xv))


def test_a_call_that_raises_writes_no_variable() -> None:
    w = gj.variable(np.arange(5.0), name="w")
    idx = gj.placeholder("idx", (None,), "int64")
    loss = gj.sum(gj.take(w, idx) ** 2)
    (g,) = gj.grad(loss, [w])
    f = gj.compile([idx], [loss], updates={w: w - 0.1 * g})
    assert _stores(f) == 1
    f(np.array([0, 1]))
    before = w.get_value()
    with pytest.raises(IndexError):
        f(np.array([1, 7]))
    np.testing.assert_array_equal(w.get_value(), before)


def test_a_store_scheduled_before_a_raising_step_moves_after_it() -> None:
    """w1's update depends on nothing else, so it would run first; the take raising for w2's
    update would then leave w1 written."""
    w1 = gj.variable(np.arange(3.0), name="w1")
    w2 = gj.variable(np.arange(5.0), name="w2")
    idx = gj.placeholder("idx", (None,), "int64")
    f = gj.compile([idx], [], updates={w1: w1 * 2.0, w2: w2 + gj.sum(gj.take(w2, idx))})
    assert _stores(f) == 2
    with pytest.raises(IndexError):
        f(np.array([9]))
    np.testing.assert_array_equal(w1.get_value(), [0, 1, 2])
    np.testing.assert_array_equal(w2.get_value(), np.arange(5.0))
    f(np.array([4]))
    np.testing.assert_array_equal(w1.get_value(), [0, 2, 4])
    np.testing.assert_array_equal(w2.get_value(), np.arange(5.0) + 4)


def _counter_step(backend: str):  # type: ignore[no-untyped-def]
    """A step count that what the step computes after it reads (as Adam's bias corrections)."""
    t = gj.variable(np.float64(0.0), name="t")
    w = gj.variable(np.arange(5.0), name="w")
    idx = gj.placeholder("idx", (None,), "int64")
    t_new = t + 1.0
    loss = gj.sum(gj.take(w, idx) ** 2) / (1.0 - 0.9**t_new)
    f = gj.compile([idx], [loss], updates={t: t_new, w: w * 0.5}, backend=backend)
    return f, t, w


def test_a_0d_update_later_steps_read_is_stored_after_every_step() -> None:
    """Its nest assigns a scalar local, which later nests read and the program's last line
    stores into the variable: no 0-d array, nothing returned, nothing copied after the call."""
    (f, t, w), (ref, t_ref, w_ref) = _counter_step("cpu"), _counter_step("numpy")
    body = f.source[f.source.index("def program(") :]
    assert "0-d updates stored into their variables" in body
    assert "IN_PLACE = (0, 1)" in f.source and "return (b" in body  # the loss alone
    (store,) = re.findall(r"\n    w\d+\[\(\)\] = z\d+", body)
    assert body.index(store) > body.rindex(IN_PLACE)  # after the other stores
    for idx in ([0, 1], [4], [2, 3, 2]):
        np.testing.assert_allclose(f(np.array(idx)), ref(np.array(idx)), rtol=1e-13)
        assert t.get_value() == t_ref.get_value()
        np.testing.assert_array_equal(w.get_value(), w_ref.get_value())
    before = t.get_value(), w.get_value()
    with pytest.raises(IndexError):
        f(np.array([1, 9]))  # the take raises after the count's nest ran
    assert t.get_value() == before[0] == 3.0
    np.testing.assert_array_equal(w.get_value(), before[1])
    losses = f.repeat(3, np.array([1, 2]), keep="all")
    expected = [ref(np.array([1, 2])) for _ in range(3)]
    np.testing.assert_allclose(np.ravel(losses), np.ravel(expected), rtol=1e-13)
    assert t.get_value() == t_ref.get_value() == 6.0


def test_a_0d_update_a_view_reads_is_stored_from_its_array() -> None:
    """Read as an array (by a concatenation), the new count has a buffer, copied into the
    variable by the program's last line all the same."""
    t = gj.variable(np.float64(1.0), name="t")
    x = gj.placeholder("x", (None,))
    t_new = t * 2.0
    f = gj.compile([x], [gj.concatenate([x, gj.reshape(t_new, (1,))])], updates={t: t_new})
    body = f.source[f.source.index("def program(") :]
    assert re.search(r"\n    w0\[\(\)\] = b\d+\[\(\)\]", body) and "IN_PLACE = (0,)" in f.source
    for k in range(1, 4):
        (got,) = f(np.ones(2))
        np.testing.assert_array_equal(got, [1.0, 1.0, 2.0**k])
        assert t.get_value() == 2.0**k


def test_a_0d_update_whose_variable_is_an_output_is_returned() -> None:
    """The output is the count's old value: stored before the return copies it, it would be the
    new one. So the new value is returned, and copied in after the call."""
    t = gj.variable(np.float64(2.0), name="t")
    x = gj.placeholder("x", (None,))
    t_new = t + 1.0
    f = gj.compile([x], [t, gj.sum(x) * t_new], updates={t: t_new})
    assert "0-d updates stored" not in f.source
    old, total = f(np.ones(3))
    assert old == 2.0 and total == 9.0 and t.get_value() == 3.0


def test_repeat_with_in_place_updates_matches_separate_calls() -> None:
    (f, ours), (ref, theirs) = _sgd("cpu", seed=3), _sgd("numpy", seed=3)
    x, y = RNG.standard_normal((6, 5)), RNG.standard_normal((6, 2))
    losses = f.repeat(5, x, y, keep="all")
    expected = [ref(x, y) for _ in range(5)]
    np.testing.assert_allclose(np.ravel(losses), np.ravel(expected), rtol=1e-12)
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.get_value(), q.get_value(), rtol=1e-12)


def test_a_reader_in_another_thread_never_sees_a_half_written_update() -> None:
    """The store runs first to last element; a reader of the two ends (much quicker than the
    store) would see the first written and the last not, were the write not marked for the
    whole call."""
    n = 2_000_000
    w = gj.variable(np.zeros(n), name="w")
    step = gj.compile([], [], updates={w: w + 1.0})
    assert _stores(step) == 1
    spread = gj.compile([], w[n - 1] - w[0])
    step()
    spread()  # both compiled before the threads race
    stop = threading.Event()
    seen: list[float] = []

    def read() -> None:
        while not stop.is_set():
            seen.append(float(spread()))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for _ in range(100):
            step()
            time.sleep(0.0005)  # let the reader take the locks now and then too
    finally:
        stop.set()
        reader.join()
    assert seen and min(seen) == 0.0 and max(seen) == 0.0
    assert w.get_value()[0] == 101.0


def test_variables_sharing_memory_are_not_targets() -> None:
    base = np.zeros(10)

    class Var:  # what the check reads of a variable: its storage's array
        def __init__(self, a: np.ndarray) -> None:
            self.storage = SimpleNamespace(array=a)

    var = Var

    a, b, c, d = var(base[:6]), var(base[4:]), var(np.zeros(3)), var(np.zeros(0))
    assert _in_place_targets([a, b, c, d], [a, c, b, d]) == (None, c, None, d)


def test_the_standalone_export_stores_into_no_variable(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """An exported model is for inference: its ``run`` must never write the weights it loaded."""
    f, _ = _sgd("cpu")
    assert _stores(f) == 3
    model = (gj.export(f, tmp_path / "exported") / "model.py").read_text()
    assert IN_PLACE not in model and "IN_PLACE =" not in model
    assert "matmul_update" not in model


# --------------------------------------------------------------------------------------------------
# a program storing some updates in place stores the others too (copied after its last step)


def _mixed(backend: str, with_output: bool = False):  # type: ignore[no-untyped-def]
    # b's new value reads sum(a), so a's store cannot move to b's nest: a is stored in place,
    # b's new value is computed into a buffer of its own
    a = gj.variable(np.arange(3.0), name="a")
    b = gj.variable(np.arange(3.0) + 10, name="b")
    new_b = b * 2.0 + gj.sum(a)
    outputs = [new_b, gj.sum(b)] if with_output else [gj.sum(b)]
    f = gj.compile([], outputs, updates={a: a + 1.0, b: new_b}, backend=backend)
    return f, a, b


@pytest.mark.parametrize("with_output", [False, True])
def test_a_program_storing_some_updates_in_place_stores_all_of_them(with_output: bool) -> None:
    (f, a, b), (ref, ra, rb) = _mixed("cpu", with_output), _mixed("numpy", with_output)
    if with_output:  # returned twice: the runtime writes both (the program stores neither)
        assert "IN_PLACE" not in f.source
    else:
        assert "IN_PLACE = (0, 1)" in f.source
        assert "kops.assign(" in f.source[f.source.index("def program(") :]
    for _ in range(3):
        ours, theirs = f(), ref()
        for o, t in zip(ours, theirs):
            np.testing.assert_array_equal(o, t)
        np.testing.assert_array_equal(a.get_value(), ra.get_value())
        np.testing.assert_array_equal(b.get_value(), rb.get_value())
    if with_output:  # the output is the new value's own array, not the variable's
        (first, _), second = f(), f()
        assert not np.shares_memory(first, b.get_value(copy=False))
        assert not np.array_equal(first, second[0])


def test_an_interrupt_as_the_program_returns_finds_every_update_applied(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Python raises a pending KeyboardInterrupt (Ctrl-C pressed while the program ran) as soon
    # as the program returns, before the runtime sees its results: the program has written
    # every variable by then, or (storing none) none
    f, a, b = _mixed("cpu")
    executable = f._executable

    class InterruptedOnReturn:
        def __init__(self) -> None:
            self.source = executable.source

        def __call__(self, inputs, variables):  # type: ignore[no-untyped-def]
            executable(inputs, variables)
            raise KeyboardInterrupt

    monkeypatch.setattr(f, "_executable", InterruptedOnReturn())
    with pytest.raises(KeyboardInterrupt):
        f()
    np.testing.assert_array_equal(a.get_value(), [1, 2, 3])
    np.testing.assert_array_equal(b.get_value(), [23, 25, 27])


def test_a_repeat_of_a_program_storing_some_updates_in_place() -> None:
    (f, a, b), (ref, ra, rb) = _mixed("cpu"), _mixed("numpy")
    ours = f.repeat(4, keep="all")
    theirs = ref.repeat(4, keep="all")
    for o, t in zip(ours, theirs):
        np.testing.assert_array_equal(o, t)
    np.testing.assert_array_equal(a.get_value(), ra.get_value())
    np.testing.assert_array_equal(b.get_value(), rb.get_value())
