"""Compiled calls from several threads: calls that update variables are atomic per function (and
per variable across functions); calls that update nothing are not serialised."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest

import graphjit as gj
from graphjit.locks import StateLocks

THREADS = 8
CALLS = 800


def _hammer(fns: Sequence[Callable[[], Any]], calls: int = CALLS) -> None:
    """Call the functions ``calls`` times in all, round robin, from ``THREADS`` threads."""
    with ThreadPoolExecutor(THREADS) as pool:
        futures = [pool.submit(fns[i % len(fns)]) for i in range(calls)]
        for fut in futures:
            fut.result()


def test_counter_update_is_atomic(backend: str) -> None:
    v = gj.variable(np.zeros(4), name="v")
    f = gj.compile([], [], updates={v: v + 1.0}, backend=backend)
    _hammer([f])
    np.testing.assert_array_equal(v.get_value(), np.full(4, float(CALLS)))


def test_large_counter_update_is_atomic(backend: str) -> None:
    # large enough for numpy to release the GIL while it copies the new value in
    v = gj.variable(np.zeros(20_000), name="v")
    f = gj.compile([], [gj.sum(v)], updates={v: v + 1.0}, backend=backend)
    seen: list[float] = []
    lock = threading.Lock()

    def call() -> None:
        (total,) = f()
        with lock:
            seen.append(float(total))

    _hammer([call], calls=200)
    np.testing.assert_array_equal(v.get_value(), np.full(20_000, 200.0))
    # each call saw the state after some number of earlier calls, each number exactly once
    assert sorted(seen) == [20_000.0 * k for k in range(200)]


def test_two_functions_updating_one_variable_are_serialised(backend: str) -> None:
    v = gj.variable(np.zeros(3), name="v")
    x = gj.placeholder("x", shape=())
    add = gj.compile([x], [], updates={v: v + x}, backend=backend)
    double_then_halve = gj.compile([], [], updates={v: (v * 2.0 + 4.0) / 2.0}, backend=backend)
    _hammer([lambda: add(np.float64(1.0)), double_then_halve])
    # both add a constant (1 and 2), so every order gives the same total
    np.testing.assert_array_equal(v.get_value(), np.full(3, CALLS // 2 * 3.0))


def test_function_updating_several_variables(backend: str) -> None:
    a = gj.variable(np.zeros(5), name="a")
    b = gj.variable(np.zeros((2, 2)), name="b")
    c = gj.variable(np.zeros((), dtype=np.int64), name="c")
    step_abc = gj.compile([], [], updates={a: a + 1.0, b: b + 2.0, c: c + 1}, backend=backend)
    # another function locks an overlapping set of variables in a different listing order
    step_cb = gj.compile([], [], updates={c: c + 1, b: b - 1.0}, backend=backend)
    _hammer([step_abc, step_cb])
    half = CALLS // 2
    np.testing.assert_array_equal(a.get_value(), np.full(5, float(half)))
    np.testing.assert_array_equal(b.get_value(), np.full((2, 2), half * 2.0 - half * 1.0))
    assert int(c.get_value()) == CALLS


def test_compiled_training_step_from_threads(backend: str) -> None:
    gj.manual_seed(0)
    model = gj.nn.Sequential(gj.nn.Linear(3, 4), gj.nn.Tanh(), gj.nn.Linear(4, 1))
    opt = gj.optim.SGD(model.parameters(), lr=0.01)
    xs = gj.placeholder("x", shape=(None, 3))
    ys = gj.placeholder("y", shape=(None, 1))
    loss = gj.nn.MSELoss()(model(xs), ys)
    step = gj.compile([xs, ys], [loss], updates=opt.updates(loss), backend=backend)
    rng = np.random.default_rng(0)
    xb = rng.normal(size=(16, 3))
    yb = rng.normal(size=(16, 1))
    before = [p.detach().numpy().copy() for p in model.parameters()]
    losses: list[float] = []
    lock = threading.Lock()

    def call() -> None:
        (value,) = step(xb, yb)
        with lock:
            losses.append(float(value))

    _hammer([call], calls=64)
    after = [p.detach().numpy().copy() for p in model.parameters()]
    assert all(np.all(np.isfinite(p)) for p in after)
    assert len(losses) == 64 and all(np.isfinite(losses))
    # 64 atomic steps on the same batch are 64 sequential steps (order does not matter: all
    # calls are identical); replay them from the initial state and compare
    for p, value in zip(model.parameters(), before):
        p.detach().numpy()[...] = value
    sequential = [float(step(xb, yb)[0]) for _ in range(64)]
    for p, value in zip(model.parameters(), after):
        np.testing.assert_allclose(p.detach().numpy(), value, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(sorted(losses), sorted(sequential), rtol=1e-12)


@pytest.mark.parametrize("attempt", range(3))
def test_first_calls_of_one_graph_compiled_twice_from_threads(
    attempt: int, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # four models of one structure compile to one generated module, whose program they share:
    # their first calls, at once and with a cold cache, all compile (or wait for) that program
    monkeypatch.setenv("GRAPHJIT_CACHE_DIR", str(tmp_path))
    start = threading.Barrier(4)
    scale = 0.5 + attempt  # a program of its own for each attempt (cold in this process too)

    def first_call() -> float:
        x = gj.placeholder("x", shape=(None, 4))
        w = gj.variable(np.full(4, scale), name="w")
        y = gj.sum(gj.tanh(x @ w))
        (g,) = gj.grad(y, [w])
        f = gj.compile([x], [y], updates={w: w - 0.1 * g}, backend="cpu")
        start.wait()
        (value,) = f(np.ones((5, 4)))
        return float(value)

    with ThreadPoolExecutor(4) as pool:
        values = list(pool.map(lambda _: first_call(), range(4)))
    np.testing.assert_allclose(values, [5.0 * np.tanh(4 * scale)] * 4, rtol=1e-12)


# --------------------------------------------------------------------------------------------------
# what is and is not serialised (structural: which locks are taken, who runs at once)


class _Recording:
    """Wraps a compiled function's executable: counts calls inside it at once, and can make two
    calls meet inside it (a barrier that only passes when two threads are in at the same time)."""

    def __init__(self, inner: Any, barrier: threading.Barrier | None = None) -> None:
        self.inner = inner
        self.source = inner.source
        self.barrier = barrier
        self.inside = 0
        self.most_inside = 0
        self.lock = threading.Lock()

    def __call__(self, inputs: Sequence[np.ndarray], variables: Sequence[np.ndarray]) -> Any:
        with self.lock:
            self.inside += 1
            self.most_inside = max(self.most_inside, self.inside)
        try:
            if self.barrier is not None:
                self.barrier.wait()
            return self.inner(inputs, variables)
        finally:
            with self.lock:
                self.inside -= 1


@pytest.fixture
def no_locks(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[int, ...]]]:
    """Record every lock the runtime takes."""
    taken: list[tuple[int, ...]] = []
    real_call = StateLocks.call

    def call(self: StateLocks, stripes: Sequence[int], fn: Any, *args: Any) -> Any:
        taken.append(tuple(stripes))
        return real_call(self, stripes, fn, *args)

    monkeypatch.setattr(StateLocks, "call", call)
    yield taken


def test_functions_without_updates_take_no_lock(backend: str, no_locks: list) -> None:
    x = gj.placeholder("x", shape=(None,))
    w = gj.variable(np.arange(3.0), name="w")
    pure = gj.compile([x], [gj.exp(x) * 2.0], backend=backend)
    reader = gj.compile([x], [gj.sum(x) + gj.sum(w)], backend=backend)
    assert pure._lock_stripes == () and pure._read_stripes == ()
    assert reader._lock_stripes == ()
    _hammer([lambda: pure(np.ones(7)), lambda: reader(np.ones(7))], calls=200)
    assert no_locks == []


def test_functions_without_updates_run_at_once(backend: str) -> None:
    # two calls must be inside the compiled program at the same time to pass the barrier: if the
    # runtime serialised them, the barrier would break (after its timeout) and the test fail
    x = gj.placeholder("x", shape=(None,))
    w = gj.variable(np.arange(3.0), name="w")
    for outputs in ([gj.exp(x)], [gj.sum(x) + gj.sum(w)]):
        f = gj.compile([x], outputs, backend=backend)
        rec = _Recording(f._executable, threading.Barrier(2, timeout=60))
        f._executable = rec
        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(f, [np.ones(4), np.ones(5)]))
        assert rec.most_inside == 2
        assert len(results) == 2


def test_compiled_cpu_program_releases_the_gil() -> None:
    x = gj.placeholder("x", shape=(None,))
    f = gj.compile([x], [gj.exp(x)], backend="cpu")
    assert f._executable._program.targetoptions["nogil"] is True


def test_updating_calls_never_overlap(backend: str) -> None:
    v = gj.variable(np.zeros(2), name="v")
    f = gj.compile([], [], updates={v: v + 1.0}, backend=backend)
    rec = _Recording(f._executable)
    f._executable = rec
    _hammer([f], calls=200)
    assert rec.most_inside == 1
    np.testing.assert_array_equal(v.get_value(), [200.0, 200.0])


def test_reader_sees_a_consistent_snapshot(backend: str) -> None:
    # the writer keeps a == -b; a reader of a + b must only ever see 0
    n = 5_000
    a = gj.variable(np.zeros(n), name="a")
    b = gj.variable(np.zeros(n), name="b")
    write = gj.compile([], [], updates={a: a + 1.0, b: b - 1.0}, backend=backend)
    read = gj.compile([], [gj.max(gj.abs(a + b))], backend=backend)
    seen: list[float] = []
    lock = threading.Lock()

    def call_read() -> None:
        (m,) = read()
        with lock:
            seen.append(float(m))

    _hammer([write, call_read], calls=400)
    assert seen and set(seen) == {0.0}
    np.testing.assert_array_equal(a.get_value(), np.full(n, 200.0))


def test_lock_order_is_global() -> None:
    locks = StateLocks(stripes=64)
    arrays = [np.zeros(3) for _ in range(10)]
    order = locks.stripes(arrays)
    assert list(order) == sorted(set(order))
    assert locks.stripes(arrays[::-1]) == order
    # two storages over the same memory share a stripe
    assert locks.stripe(arrays[0]) == locks.stripe(arrays[0][...])


def test_set_value_is_atomic_for_compiled_readers(backend: str) -> None:
    # set_value writes rows that are all one number; a compiled reader of max - min of the whole
    # array must only ever see 0 (never half of one value and half of the next)
    n = 20_000
    v = gj.variable(np.zeros(n), name="v")
    read = gj.compile([], [gj.max(v) - gj.min(v)], backend=backend)
    seen: list[float] = []
    lock = threading.Lock()
    counter = iter(range(1, 10_000))

    def call_read() -> None:
        (spread,) = read()
        with lock:
            seen.append(float(spread))

    def call_set() -> None:
        with lock:
            k = next(counter)
        v.set_value(np.full(n, float(k)))

    _hammer([call_set, call_read], calls=400)
    assert seen and set(seen) == {0.0}


def test_get_value_never_returns_a_half_written_update(backend: str) -> None:
    # large enough that the compiled update and the copy both run without the GIL
    n = 1_000_000
    v = gj.variable(np.zeros(n), name="v")
    f = gj.compile([], [], updates={v: v + 1.0}, backend=backend)
    done = threading.Event()

    def update() -> None:
        while not done.is_set():
            f()

    spreads = []
    worker = threading.Thread(target=update)
    worker.start()
    try:
        for _ in range(100):
            value = v.get_value()
            spreads.append(value.max() - value.min())
    finally:
        done.set()
        worker.join()
    assert set(spreads) == {0.0}


def test_state_dict_and_load_state_dict_are_atomic_for_compiled_steps(backend: str) -> None:
    # the step adds 1 to every parameter: a state dict taken meanwhile holds one step count in
    # every element of every parameter, and a load is never partly overwritten by a step
    # computed from the values before it
    gj.manual_seed(0)
    model = gj.nn.Linear(1000, 500)
    params = [gj.ops.dispatch.as_node(p) for p in model.parameters()]
    step = gj.compile([], [], updates={p: p + 1.0 for p in params}, backend=backend)
    start = model.state_dict()
    zeros = {k: np.zeros_like(v) for k, v in start.items()}
    done = threading.Event()

    def train() -> None:
        while not done.is_set():
            step()

    counts: list[set[float]] = []  # the step counts seen in one state dict
    worker = threading.Thread(target=train)
    worker.start()
    try:
        for _ in range(40):
            state = model.state_dict()
            steps = [np.unique(np.round(state[k] - start[k])) for k in state]
            counts.append({float(c) for c in np.concatenate(steps)})
        for _ in range(10):
            model.load_state_dict(zeros)
    finally:
        done.set()
        worker.join()
    assert all(len(c) == 1 for c in counts)
    for value in model.state_dict().values():
        assert value.min() == value.max()


def test_optimizer_state_dict_is_atomic_for_compiled_steps(backend: str) -> None:
    # a constant gradient: after k steps every element of the momentum buffer is the same number
    # of gradients, so a state dict holding two values in one buffer caught a step half written
    w = gj.tensor(np.zeros((1000, 500)), requires_grad=True)
    opt = gj.optim.SGD([w], lr=0.0, momentum=1.0)
    loss = gj.sum(gj.ops.dispatch.as_node(w))
    step = gj.compile([], [], updates=opt.updates(loss), backend=backend)
    step()
    done = threading.Event()

    def train() -> None:
        while not done.is_set():
            step()

    spreads = []
    worker = threading.Thread(target=train)
    worker.start()
    try:
        for _ in range(60):
            for buf in opt.state_dict().values():
                spreads.append(float(np.max(buf) - np.min(buf)))
    finally:
        done.set()
        worker.join()
    assert spreads and set(spreads) == {0.0}


def test_an_eager_optimizer_step_and_a_compiled_step_on_one_parameter_are_serialised() -> None:
    # each adds 1 to every element; without the locks, updates were lost and the array torn
    w = gj.tensor(np.zeros(100_000), requires_grad=True)
    node = gj.ops.dispatch.as_node(w)
    step = gj.compile([], [], updates={node: node + 1.0}, backend="cpu")
    opt = gj.optim.SGD([w], lr=1.0)
    calls = 150

    def compiled() -> None:
        for _ in range(calls):
            step()

    def eager() -> None:
        for _ in range(calls):
            loss = -gj.sum(w)  # its gradient is -1: the SGD step adds lr = 1
            opt.zero_grad()
            loss.backward()
            opt.step()

    threads = [threading.Thread(target=compiled), threading.Thread(target=eager)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    np.testing.assert_array_equal(w.detach().numpy(), np.full(100_000, 2.0 * calls))
