"""graphjit.dask: compiled functions over chunked Dask arrays equal the in-memory compiled
function on the same data, on the threaded and processes schedulers and a local cluster."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import graphjit as gj

da = pytest.importorskip("dask.array", reason="dask is not installed (pip install graphjit[dask])")
dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed", reason="dask.distributed is not installed")

ROWS, COLS, CHUNK = 2_000, 20, 300


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((ROWS, COLS))
    y = (x[:, 0] + 0.3 * rng.standard_normal(ROWS) > 0).astype("float64")
    return x, y


@pytest.fixture(scope="module")
def chunked(data: tuple[np.ndarray, np.ndarray]) -> tuple[Any, Any]:
    x, y = data
    return da.from_array(x, chunks=(CHUNK, COLS)), da.from_array(y, chunks=CHUNK)


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    """A local cluster of two worker processes, shared by the module (it takes seconds)."""
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


def _logistic(w0: np.ndarray) -> tuple[Any, Any, gj.Variable, Any, Any]:
    x = gj.placeholder("x", shape=(None, COLS))
    t = gj.placeholder("t", shape=(None,))
    w = gj.variable(w0, name="w")
    z = x @ w
    loss = gj.mean(gj.log1p(gj.exp(z)) - t * z)
    (gw,) = gj.grad(loss, [w])
    return x, t, w, loss, gw


def _mlp(seed: int) -> tuple[Any, Any, list[gj.Variable], Any, list[Any]]:
    rng = np.random.default_rng(seed)
    x = gj.placeholder("x", shape=(None, COLS))
    t = gj.placeholder("t", shape=(None,))
    w1 = gj.variable(rng.standard_normal((COLS, 8)) * 0.3, name="w1")
    b1 = gj.variable(np.zeros(8), name="b1")
    w2 = gj.variable(rng.standard_normal(8) * 0.3, name="w2")
    b2 = gj.variable(np.zeros(()), name="b2")
    out = gj.tanh(x @ w1 + b1) @ w2 + b2
    loss = gj.mean((out - t) ** 2)
    params = [w1, b1, w2, b2]
    return x, t, params, loss, gj.grad(loss, params)


def _close(a: Any, b: Any) -> None:
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------------------------------------
# threaded scheduler


def test_logistic_loss_and_gradient_equal_the_in_memory_function(data, chunked) -> None:
    x, t, _, loss, gw = _logistic(np.linspace(-0.5, 0.5, COLS))
    f = gj.compile([x, t], [loss, gw])
    lazy = f(*chunked)
    assert all(isinstance(v, da.Array) for v in lazy)
    assert lazy[0].shape == () and lazy[1].shape == (COLS,) and lazy[1].numblocks == (1,)
    got = dask.compute(*lazy, scheduler="threads")
    want = f(*data)
    _close(got[0], want[0])
    _close(got[1], want[1])


def test_mlp_loss_and_gradients_equal_the_in_memory_function(data, chunked) -> None:
    x, t, _, loss, grads = _mlp(1)
    f = gj.compile([x, t], [loss, *grads])
    got = dask.compute(*f(*chunked), scheduler="threads")
    for g, w in zip(got, f(*data)):
        _close(g, w)


def test_row_wise_outputs_keep_the_chunks_and_equal_chunk_by_chunk(data, chunked) -> None:
    x, _, w, _, _ = _logistic(np.linspace(-1, 1, COLS))
    f = gj.compile([x], [x @ w, gj.transpose(gj.tanh(x))])
    scores, tanh_t = f(chunked[0])
    assert scores.chunks == (chunked[0].chunks[0],)
    assert tanh_t.chunks == ((COLS,), chunked[0].chunks[0])
    blocks = scores.to_delayed()
    start = 0
    for block, n in zip(blocks, scores.chunks[0]):
        _close(block.compute(scheduler="threads"), f(data[0][start : start + n])[0])
        start += n
    _close(tanh_t.compute(scheduler="threads"), np.tanh(data[0]).T)


def test_passes_after_a_reduction_and_other_contractions(data, chunked) -> None:
    """A mean over rows feeding row-wise work again (two passes), max/min/logsumexp over rows,
    a numpy argument used by every chunk, and a sum over a non-batch axis."""
    x = gj.placeholder("x", shape=(None, COLS))
    scale = gj.placeholder("scale", shape=(COLS,))
    centred = (x - gj.mean(x, axis=0)) * scale
    outs = [
        gj.mean(centred**2, axis=0),
        gj.max(x, axis=0),
        gj.min(x),
        gj.logsumexp(x * 30.0, axis=0),
        gj.sum(centred, axis=1),
        gj.einsum("ij,ik->jk", x, centred),
    ]
    f = gj.compile([x, scale], outs, backend="numpy")
    s = np.linspace(1.0, 2.0, COLS)
    got = dask.compute(*f(chunked[0], s), scheduler="threads")
    for g, w in zip(got, f(data[0], s)):
        _close(g, w)


def test_an_unsplittable_graph_names_the_node(chunked) -> None:
    x = gj.placeholder("x", shape=(None, COLS))
    with pytest.raises(gj.dask.NotSplittableError, match=r"node softmax\(axes=\(0,\)\)"):
        gj.compile([x], [gj.softmax(x, axis=0)], backend="numpy")(chunked[0])
    with pytest.raises(gj.dask.NotSplittableError, match="slices the batch axis"):
        gj.compile([x], [x[:10]], backend="numpy")(chunked[0])


def test_a_function_with_updates_points_to_step(chunked) -> None:
    x, t, w, loss, gw = _logistic(np.zeros(COLS))
    f = gj.compile([x, t], [loss], updates={w: w - 0.5 * gw}, backend="numpy")
    with pytest.raises(TypeError, match=r"gj\.dask\.step"):
        f(*chunked)
    np.testing.assert_array_equal(w.get_value(), np.zeros(COLS))


def test_bad_dask_arguments_raise(data, chunked) -> None:
    x, t, _, loss, _ = _logistic(np.zeros(COLS))
    f = gj.compile([x, t], loss, backend="numpy")
    with pytest.raises(ValueError, match="rows"):
        f(chunked[0], chunked[1][:-1])
    with pytest.raises(ValueError, match="axis 1 must be 20"):
        f(chunked[0][:, :5], chunked[1])
    with pytest.raises(TypeError, match="does not cast"):
        f(chunked[0].astype("complex128"), chunked[1])
    # misaligned chunks are realigned; a single output comes back as one array
    lazy = f(chunked[0], da.from_array(data[1], chunks=170))
    assert isinstance(lazy, da.Array)
    _close(lazy.compute(scheduler="threads"), f(*data))


def test_masked_delayed_and_missing_dask_arguments_are_named(data, chunked) -> None:
    x, t, w, loss, gw = _logistic(np.zeros(COLS))
    f = gj.compile([x, t], loss, backend="numpy")
    masked = da.ma.masked_array(chunked[0], mask=chunked[0] > 0)
    with pytest.raises(TypeError, match=r"input 'x' \(a masked Dask array\): .*mask"):
        f(masked, chunked[1])  # the masks were dropped: a silent wrong answer
    with pytest.raises(TypeError, match="input 'x': a Dask Delayed is not a Dask array"):
        f(dask.delayed(np.ones)((ROWS, COLS)), chunked[1])  # "Truth of Delayed objects ..."
    step = gj.compile([x, t], [loss], updates={w: w - 0.5 * gw}, backend="numpy")
    with pytest.raises(TypeError, match="none of the arguments is a Dask array"):
        gj.dask.step(step, *data)  # an IndexError from inside the task graph builder
    np.testing.assert_array_equal(w.get_value(), np.zeros(COLS))


def test_step_on_threads_equals_in_memory_steps(data, chunked) -> None:
    w0 = np.linspace(-0.2, 0.2, COLS)
    x, t, w, loss, gw = _logistic(w0)
    f = gj.compile([x, t], [loss, gw], updates={w: w - 0.5 * gw})
    x2, t2, w2, loss2, gw2 = _logistic(w0)
    g = gj.compile([x2, t2], [loss2, gw2], updates={w2: w2 - 0.5 * gw2})
    for _ in range(3):
        got, want = gj.dask.step(f, *chunked, scheduler="threads"), g(*data)
        _close(got[0], want[0])
        _close(got[1], want[1])
    _close(w.get_value(), w2.get_value())


def test_processes_scheduler(data, chunked) -> None:
    # the programs reach the pool's processes pickled as plain data; the reference backend
    # spares each new process a numba compile (the cluster tests run the numba kernels)
    x, t, _, loss, gw = _logistic(np.linspace(-0.5, 0.5, COLS))
    f = gj.compile([x, t], [loss, gw], backend="numpy")
    got = dask.compute(*f(*chunked), scheduler="processes", num_workers=2)
    for g, w in zip(got, f(*data)):
        _close(g, w)


# --------------------------------------------------------------------------------------------------
# a local cluster of two worker processes


def test_cluster_twenty_training_steps_equal_in_memory_steps(client, data, chunked) -> None:
    w0 = np.zeros(COLS)
    x, t, w, loss, gw = _logistic(w0)
    f = gj.compile([x, t], [loss, gw], updates={w: w - 0.5 * gw})
    x2, t2, w2, loss2, gw2 = _logistic(w0)
    g = gj.compile([x2, t2], [loss2, gw2], updates={w2: w2 - 0.5 * gw2})
    losses = []
    for _ in range(20):
        loss_value, grad_value = gj.dask.step(f, *chunked)
        want = g(*data)
        _close(loss_value, want[0])
        _close(grad_value, want[1])
        losses.append(float(loss_value))
    _close(w.get_value(), w2.get_value())
    assert losses[-1] < losses[0]
    # a step has three programs (two small stages, one chunk pass); each worker compiled each at
    # most once, though it ran 20 steps of 7 chunks
    counts = client.run(gj.dask.compile_count)
    assert len(counts) == 2
    assert all(c <= 3 for c in counts.values()), counts


def test_cluster_mlp_gradients_and_lazy_scores(client, data, chunked) -> None:
    x, t, params, loss, grads = _mlp(2)
    f = gj.compile([x, t], [loss, *grads])
    got = dask.compute(*f(*chunked))
    for g, w in zip(got, f(*data)):
        _close(g, w)
    scores = gj.compile([x], [gj.tanh(x @ params[0])])(chunked[0])[0]
    assert scores.chunks == (chunked[0].chunks[0], (8,))
    _close(scores.compute(), np.tanh(data[0] @ params[0].get_value()))
