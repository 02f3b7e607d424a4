"""gj.nn's recurrent layers (RNN, LSTM, GRU and their cells) against PyTorch: parameter names,
outputs, final states and gradients eagerly; the same model unrolled as a graph and trained by a
compiled step."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import graphjit as gj

nn = gj.nn
L, N, H_IN, H = 4, 2, 3, 5  # sequence length, batch, input size, hidden size


def _torch() -> Any:
    return pytest.importorskip(
        "torch", reason="torch is not installed: no reference to compare with"
    )


def _pair(kind: str, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
    """A PyTorch layer (float64, seeded) and the graphjit one with its state dict loaded."""
    torch = _torch()
    torch.manual_seed(0)
    ref = getattr(torch.nn, kind)(*args, **kwargs).double()
    mine = getattr(nn, kind)(*args, **kwargs)
    assert list(mine.state_dict()) == list(ref.state_dict())
    mine.load_state_dict({k: v.detach().numpy() for k, v in ref.state_dict().items()})
    return ref, mine


def _flat(value: Any) -> list[Any]:
    """An output structure ((out, h) or (out, (h, c)) or a cell's h or (h, c)) as a flat list."""
    if isinstance(value, (tuple, list)):
        return [leaf for v in value for leaf in _flat(v)]
    return [value]


def _check_against_torch(ref: Any, mine: Any, inputs: list[np.ndarray | None], nest: Any) -> None:
    """Call both layers on ``inputs`` (``nest`` builds the call's arguments from the list), then
    compare every output and the gradients of one loss over them w.r.t. inputs and parameters."""
    torch = _torch()
    t_in = [None if a is None else torch.tensor(a, requires_grad=True) for a in inputs]
    g_in = [None if a is None else gj.tensor(a, requires_grad=True) for a in inputs]
    t_out, g_out = _flat(ref(*nest(t_in))), _flat(mine(*nest(g_in)))
    assert len(t_out) == len(g_out)
    rng = np.random.default_rng(7)
    t_loss, g_loss = 0.0, 0.0
    for t, g in zip(t_out, g_out):
        want = t.detach().numpy()
        np.testing.assert_allclose(g.numpy(), want, rtol=1e-12, atol=1e-12)
        weight = rng.normal(size=want.shape)
        t_loss = t_loss + (t * torch.tensor(weight)).sum()
        g_loss = g_loss + (g * gj.tensor(weight)).sum()
    t_loss.backward()
    g_loss.backward()
    for t, g in zip(t_in, g_in):
        if t is not None:
            np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)
    grads = {name: p.grad for name, p in ref.named_parameters()}
    for name, p in mine.named_parameters():
        np.testing.assert_allclose(
            p.grad.numpy(), grads[name].numpy(), rtol=1e-10, atol=1e-12, err_msg=name
        )


def _sequence_args(kind: str) -> Any:
    """Arguments of a sequence layer from [x, h0, c0]: (x,), (x, h0) or (x, (h0, c0))."""

    def nest(values: list[Any]) -> tuple[Any, ...]:
        x, h0, c0 = values
        if h0 is None:
            return (x,)
        return (x, (h0, c0)) if kind == "LSTM" else (x, h0)

    return nest


def _inputs(kind: str, layer: Any, given_state: bool, unbatched: bool) -> list[Any]:
    rng = np.random.default_rng(1)
    lead = () if unbatched else ((N, L) if layer.batch_first else (L, N))
    x = rng.normal(size=(*(lead or (L,)), H_IN))
    rows = layer.num_layers * (2 if layer.bidirectional else 1)
    batch = () if unbatched else (N,)
    h0 = rng.normal(size=(rows, *batch, layer.proj_size or H)) if given_state else None
    c0 = rng.normal(size=(rows, *batch, H)) if given_state and kind == "LSTM" else None
    return [x, h0, c0]


CONFIGS = {
    "one layer": {},
    "two layers": {"num_layers": 2},
    "bidirectional": {"num_layers": 2, "bidirectional": True},
    "batch_first": {"batch_first": True},
    "no bias": {"bias": False, "num_layers": 2},
}


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("given_state", [False, True], ids=["zero state", "given state"])
def test_sequence_layer_matches_torch(kind: str, config: str, given_state: bool) -> None:
    ref, mine = _pair(kind, H_IN, H, **CONFIGS[config])
    inputs = _inputs(kind, mine, given_state, unbatched=False)
    _check_against_torch(ref, mine, inputs, _sequence_args(kind))


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("given_state", [False, True], ids=["zero state", "given state"])
def test_unbatched_sequence_matches_torch(kind: str, given_state: bool) -> None:
    ref, mine = _pair(kind, H_IN, H, num_layers=2, bidirectional=True)
    inputs = _inputs(kind, mine, given_state, unbatched=True)
    _check_against_torch(ref, mine, inputs, _sequence_args(kind))


@pytest.mark.parametrize("given_state", [False, True], ids=["zero state", "given state"])
@pytest.mark.parametrize("unbatched", [False, True], ids=["batched", "unbatched"])
def test_lstm_with_projection_matches_torch(given_state: bool, unbatched: bool) -> None:
    ref, mine = _pair("LSTM", H_IN, H, num_layers=2, bidirectional=True, proj_size=2)
    assert mine.weight_hr_l1_reverse.shape == (2, H)
    assert mine.weight_hh_l0.shape == (4 * H, 2) and mine.weight_ih_l1.shape == (4 * H, 4)
    inputs = _inputs("LSTM", mine, given_state, unbatched)
    _check_against_torch(ref, mine, inputs, _sequence_args("LSTM"))


def test_relu_rnn_matches_torch() -> None:
    ref, mine = _pair("RNN", H_IN, H, num_layers=2, nonlinearity="relu")
    _check_against_torch(ref, mine, _inputs("RNN", mine, True, False), _sequence_args("RNN"))


CELLS = {
    "RNNCell": {},
    "RNNCell relu": {"nonlinearity": "relu"},
    "LSTMCell": {},
    "GRUCell": {},
    "GRUCell no bias": {"bias": False},
}


@pytest.mark.parametrize("cell", list(CELLS))
@pytest.mark.parametrize("given_state", [False, True], ids=["zero state", "given state"])
@pytest.mark.parametrize("unbatched", [False, True], ids=["batched", "unbatched"])
def test_cell_matches_torch(cell: str, given_state: bool, unbatched: bool) -> None:
    kind = cell.split()[0]
    ref, mine = _pair(kind, H_IN, H, **CELLS[cell])
    rng = np.random.default_rng(2)
    batch = () if unbatched else (N,)
    x = rng.normal(size=(*batch, H_IN))
    h = rng.normal(size=(*batch, H)) if given_state else None
    c = rng.normal(size=(*batch, H)) if given_state and kind == "LSTMCell" else None

    def nest(values: list[Any]) -> tuple[Any, ...]:
        x, h, c = values
        if h is None:
            return (x,)
        return (x, (h, c)) if kind == "LSTMCell" else (x, h)

    _check_against_torch(ref, mine, [x, h, c], nest)


def test_parameter_names_shapes_and_initialisation_follow_pytorch() -> None:
    gj.manual_seed(0)
    gru = nn.GRU(3, 4, num_layers=2, bidirectional=True)
    state = gru.state_dict()
    assert list(state)[:8] == [
        "weight_ih_l0",
        "weight_hh_l0",
        "bias_ih_l0",
        "bias_hh_l0",
        "weight_ih_l0_reverse",
        "weight_hh_l0_reverse",
        "bias_ih_l0_reverse",
        "bias_hh_l0_reverse",
    ]
    assert len(state) == 16
    assert state["weight_ih_l0"].shape == (12, 3) and state["weight_ih_l1"].shape == (12, 8)
    assert state["weight_hh_l1_reverse"].shape == (12, 4) and state["bias_hh_l1"].shape == (12,)
    values = np.concatenate([v.ravel() for v in state.values()])
    assert np.abs(values).max() <= 0.5 and values.std() > 0.2  # uniform in +-1/sqrt(4)
    gj.manual_seed(0)
    again = nn.GRU(3, 4, num_layers=2, bidirectional=True).state_dict()
    assert all(np.array_equal(state[k], again[k]) for k in state)
    assert list(nn.LSTM(3, 4, bias=False, proj_size=2).state_dict()) == [
        "weight_ih_l0",
        "weight_hh_l0",
        "weight_hr_l0",
    ]
    assert list(nn.LSTMCell(3, 4).state_dict()) == ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]
    assert nn.LSTMCell(3, 4).weight_hh.shape == (16, 4)
    assert repr(nn.LSTM(3, 4, num_layers=2, batch_first=True)) == (
        "LSTM(3, 4, num_layers=2, batch_first=True)"
    )


def _graph_matches_eager(layer: Any, x: np.ndarray, fixed_batch: bool) -> None:
    xs = gj.placeholder("x", shape=(x.shape[0], x.shape[1] if fixed_batch else None, x.shape[2]))
    got = gj.compile([xs], _flat(layer(xs)), backend="numpy")(x)
    want = [t.numpy() for t in _flat(layer(gj.tensor(x)))]
    assert len(got) == len(want) == (3 if isinstance(layer, nn.LSTM) else 2)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_graph_on_placeholders_matches_eager(kind: str) -> None:
    gj.manual_seed(3)
    layer = getattr(nn, kind)(H_IN, H, num_layers=2, bidirectional=True)
    x = np.random.default_rng(4).normal(size=(L, N, H_IN))
    _graph_matches_eager(layer, x, fixed_batch=True)
    _graph_matches_eager(layer, x, fixed_batch=False)  # the batch may stay unknown


def test_graph_needs_a_fixed_sequence_length() -> None:
    lstm = nn.LSTM(H_IN, H)
    with pytest.raises(ValueError, match=r"LSTM\(3, 5\): the sequence length .* must be fixed"):
        lstm(gj.placeholder("x", shape=(None, N, H_IN)))
    gru = nn.GRU(H_IN, H, batch_first=True)
    with pytest.raises(ValueError, match=r"sequence length \(dim 1 .*\) must be fixed to unroll"):
        gru(gj.placeholder("x", shape=(N, None, H_IN)))


class _Model(nn.Module):
    """A recurrent layer then a Linear read-out of every step."""

    def __init__(self, kind: str, **kwargs: Any) -> None:
        super().__init__()
        self.rnn = getattr(nn, kind)(H_IN, 3, **kwargs)
        width = (self.rnn.proj_size or 3) * (2 if self.rnn.bidirectional else 1)
        self.head = nn.Linear(width, 1)

    def forward(self, x: Any) -> Any:
        out, _ = self.rnn(x)
        return self.head(out)


def _train_both_ways(kind: str, backend: str, **kwargs: Any) -> None:
    """Three Adam steps eagerly and three of a step compiled from placeholders (fixed length,
    unknown batch) on a copy of the model: the same losses and parameters."""
    gj.manual_seed(5)
    eager_model, graph_model = _Model(kind, **kwargs), _Model(kind, **kwargs)
    graph_model.load_state_dict(eager_model.state_dict())
    start = eager_model.state_dict()
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(3, N, H_IN)), rng.normal(size=(3, N, 1))
    mse = nn.MSELoss()
    eager_opt = gj.optim.Adam(eager_model.parameters(), lr=0.05)
    graph_opt = gj.optim.Adam(graph_model.parameters(), lr=0.05)
    xs, ys = gj.placeholder("x", shape=(3, None, H_IN)), gj.placeholder("y", shape=(3, None, 1))
    loss = mse(graph_model(xs), ys)
    train = gj.compile([xs, ys], [loss], updates=graph_opt.updates(loss), backend=backend)
    for _ in range(3):
        eager_loss = mse(eager_model(gj.tensor(x)), gj.tensor(y))
        eager_opt.zero_grad()
        eager_loss.backward()
        eager_opt.step()
        (graph_loss,) = train(x, y)
        np.testing.assert_allclose(graph_loss, eager_loss.item(), rtol=1e-10)
    trained, want = graph_model.state_dict(), eager_model.state_dict()
    for name in want:
        assert not np.allclose(trained[name], start[name]), name  # every parameter trained
        np.testing.assert_allclose(trained[name], want[name], rtol=1e-9, atol=1e-12, err_msg=name)


def test_compiled_cpu_training_step_matches_eager_training() -> None:
    # one small layer: the cpu program of an unrolled graph takes a while to compile
    _train_both_ways("LSTM", "cpu")


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU", "LSTM proj_size"])
def test_graph_training_step_of_stacked_bidirectional_layers_matches_eager(kind: str) -> None:
    extra = {"proj_size": 2} if kind.endswith("proj_size") else {}
    _train_both_ways(kind.split()[0], "numpy", num_layers=2, bidirectional=True, **extra)


def test_dropout_between_layers_only_in_training() -> None:
    gj.manual_seed(8)
    gru = nn.GRU(H_IN, H, num_layers=2, dropout=0.5)
    x = gj.tensor(np.random.default_rng(9).normal(size=(L, N, H_IN)))
    gru.eval()
    quiet = gru(x)[0].numpy()
    plain = nn.GRU(H_IN, H, num_layers=2)
    plain.load_state_dict(gru.state_dict())
    np.testing.assert_array_equal(quiet, plain(x)[0].numpy())
    gru.train()
    noisy = gru(x)[0].numpy()
    assert not np.allclose(noisy, quiet)
    # the last layer's output is not dropped: one layer in training equals one without dropout
    first = {k: v for k, v in gru.state_dict().items() if k.endswith("l0")}
    single, single_plain = nn.GRU(H_IN, H, dropout=0.5), nn.GRU(H_IN, H)
    single.load_state_dict(first)
    single_plain.load_state_dict(first)
    np.testing.assert_array_equal(single(x)[0].numpy(), single_plain(x)[0].numpy())
    xs = gj.placeholder("x", shape=(L, N, H_IN))
    out = gru(xs)[0]
    assert gj.nn.random_updates(out)  # the graph draws masks from the graph generator
    gru.eval()
    assert not gj.nn.random_updates(gru(xs)[0])


def test_bad_inputs_name_the_layer_and_the_expected_shape() -> None:
    lstm = nn.LSTM(H_IN, H, num_layers=2)
    x = np.zeros((L, N, H_IN))
    with pytest.raises(
        ValueError,
        match=r"LSTM\(3, 5, num_layers=2\): expected an input of shape"
        r" \(L, N, 3\) or unbatched \(L, 3\), got shape \(4, 2, 7\)",
    ):
        lstm(gj.tensor(np.zeros((L, N, 7))))
    with pytest.raises(ValueError, match=r"expected an input .* got shape \(4, 2, 3, 1\)"):
        lstm(gj.tensor(np.zeros((L, N, H_IN, 1))))
    with pytest.raises(
        ValueError, match=r"expected h0 of shape \(2, 2, 5\), got shape \(1, 2, 5\)"
    ):
        lstm(gj.tensor(x), (gj.tensor(np.zeros((1, N, H))), gj.tensor(np.zeros((2, N, H)))))
    with pytest.raises(
        ValueError, match=r"expected c0 of shape \(2, 2, 5\), got shape \(2, 3, 5\)"
    ):
        lstm(gj.tensor(x), (np.zeros((2, N, H)), np.zeros((2, 3, H))))
    with pytest.raises(TypeError, match=r"LSTM\(3, 5, num_layers=2\): hx must be a tuple"):
        lstm(gj.tensor(x), np.zeros((2, N, H)))
    gru = nn.GRU(H_IN, H, batch_first=True)
    with pytest.raises(
        ValueError,
        match=r"GRU\(3, 5, batch_first=True\): expected an input of "
        r"shape \(N, L, 3\)",
    ):
        gru(gj.placeholder("x", shape=(N, L, 4)))
    with pytest.raises(ValueError, match=r"expected h0 of shape \(1, 5\), got shape \(1, 2, 5\)"):
        gru(gj.tensor(np.zeros((L, H_IN))), gj.tensor(np.zeros((1, N, H))))
    cell = nn.GRUCell(H_IN, H)
    with pytest.raises(ValueError, match=r"GRUCell\(3, 5\): expected an input of shape \(N, 3\)"):
        cell(gj.tensor(np.zeros((L, N, H_IN))))
    with pytest.raises(ValueError, match=r"GRUCell\(3, 5\): expected hx of shape \(2, 5\)"):
        cell(gj.tensor(np.zeros((N, H_IN))), gj.tensor(np.zeros((N, 4))))
    with pytest.raises(ValueError, match=r"sequence length above 0"):
        gru(gj.tensor(np.zeros((N, 0, H_IN))))


def test_bad_constructor_arguments() -> None:
    with pytest.raises(ValueError, match=r"RNN: nonlinearity must be 'tanh' or 'relu'"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match=r"RNNCell: nonlinearity"):
        nn.RNNCell(3, 4, nonlinearity="gelu")
    with pytest.raises(ValueError, match=r"LSTM: proj_size \(4\) must be smaller"):
        nn.LSTM(3, 4, proj_size=4)
    with pytest.raises(ValueError, match=r"GRU: dropout must be in \[0, 1\]"):
        nn.GRU(3, 4, dropout=1.5)
    with pytest.raises(ValueError, match=r"LSTM: num_layers must be a positive int"):
        nn.LSTM(3, 4, num_layers=0)


@pytest.mark.parametrize("kind", ["LSTM", "GRUCell"])
def test_float32_layers_compute_in_float32(kind: str) -> None:
    wide = getattr(nn, kind)(H_IN, H)
    narrow = getattr(nn, kind)(H_IN, H, dtype="float32")
    narrow.load_state_dict({k: v.astype(np.float32) for k, v in wide.state_dict().items()})
    assert all(v.dtype == np.float32 for v in narrow.state_dict().values())
    x = np.random.default_rng(10).normal(size=(L, N, H_IN) if kind == "LSTM" else (N, H_IN))
    got, want = _flat(narrow(gj.tensor(x.astype(np.float32)))), _flat(wide(gj.tensor(x)))
    for g, w in zip(got, want):
        assert g.dtype == "float32"
        np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-5, atol=1e-6)
