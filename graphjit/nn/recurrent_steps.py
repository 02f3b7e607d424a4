"""The arithmetic of the recurrent layers (:mod:`graphjit.nn.recurrent`): one time step of each
cell kind on the state, and one direction of one layer over a sequence.

Each step gets ``gi``, the input projection ``x_t @ W_ih^T + b_ih`` of its time step (computed
for all steps by one matmul), and adds the hidden projection ``h @ W_hh^T + b_hh``; gate order
and formulas are PyTorch's (LSTM: i, f, g, o; GRU: r, z, n with ``n = tanh(W_in x + b_in + r *
(W_hn h + b_hn))``). The functions are plain ``gj`` ops, so they run eagerly on tensors and
build graph on nodes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from graphjit import ops

__all__ = [
    "CellWeights",
    "State",
    "Step",
    "gru_step",
    "input_projection",
    "lstm_step",
    "rnn_relu_step",
    "rnn_step",
    "rnn_tanh_step",
    "run_direction",
    "with_zero_state",
]


class State(NamedTuple):
    """A cell's state: the hidden state, and LSTM's cell state (None for RNN and GRU, and for
    LSTM's zero state before the first step). ``h`` None is the zero state not yet made."""

    h: Any
    c: Any = None


class CellWeights(NamedTuple):
    """One direction of one layer, as operands of the graph or tape being built: the weights
    transposed once for all steps, the biases None without bias, ``w_hr_t`` LSTM's projection."""

    w_ih_t: Any
    w_hh_t: Any
    b_ih: Any
    b_hh: Any
    w_hr_t: Any = None


# one step: (x @ W_ih^T + b_ih of this step, the state before, the weights) -> the state after
Step = Callable[[Any, State, CellWeights], State]


def _plus(a: Any, b: Any) -> Any:
    return a if b is None else a + b


def input_projection(x: Any, w: CellWeights) -> Any:
    """``x @ W_ih^T + b_ih``: over a whole sequence (L, N, H_in) at once, or one step's input."""
    return _plus(ops.matmul(x, w.w_ih_t), w.b_ih)


def _hidden_projection(h: Any, w: CellWeights) -> Any:
    """``h @ W_hh^T + b_hh``."""
    return _plus(ops.matmul(h, w.w_hh_t), w.b_hh)


def with_zero_state(state: State, gi: Any, w: CellWeights) -> State:
    """``state`` with a zero ``h`` if it has none, shaped (N, H_out) like the step's input
    projection ``gi`` (N, G * H), whose batch N may be unknown on graphs."""
    if state.h is not None:
        return state
    return state._replace(h=ops.zeros_like(gi[:, : w.w_hh_t.shape[0]]))


def rnn_tanh_step(gi: Any, state: State, w: CellWeights) -> State:
    return State(ops.tanh(_plus(gi, _hidden_projection(state.h, w))))


def rnn_relu_step(gi: Any, state: State, w: CellWeights) -> State:
    return State(ops.relu(_plus(gi, _hidden_projection(state.h, w))))


def lstm_step(gi: Any, state: State, w: CellWeights) -> State:
    """``c' = f * c + i * g``, ``h' = o * tanh(c')`` (then ``h' @ W_hr^T`` with a projection)."""
    i, f, g, o = ops.split(_plus(gi, _hidden_projection(state.h, w)), 4, axis=-1)
    i, f, g, o = ops.sigmoid(i), ops.sigmoid(f), ops.tanh(g), ops.sigmoid(o)
    c = i * g if state.c is None else f * state.c + i * g  # a zero c adds nothing
    h = o * ops.tanh(c)
    if w.w_hr_t is not None:
        h = ops.matmul(h, w.w_hr_t)
    return State(h, c)


def gru_step(gi: Any, state: State, w: CellWeights) -> State:
    """PyTorch's GRU: ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``, ``h' = (1 - z) * n +
    z * h``."""
    i_r, i_z, i_n = ops.split(gi, 3, axis=-1)
    h_r, h_z, h_n = ops.split(_hidden_projection(state.h, w), 3, axis=-1)
    r, z = ops.sigmoid(i_r + h_r), ops.sigmoid(i_z + h_z)
    n = ops.tanh(i_n + r * h_n)
    return State((1.0 - z) * n + z * state.h)


def rnn_step(nonlinearity: str, layer: str) -> Step:
    """The Elman step for ``nonlinearity`` ('tanh' or 'relu'); ``layer`` names the caller."""
    if nonlinearity == "tanh":
        return rnn_tanh_step
    if nonlinearity == "relu":
        return rnn_relu_step
    raise ValueError(f"{layer}: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")


def run_direction(
    x: Any, start: State, w: CellWeights, step: Step, reverse: bool
) -> tuple[Any, State]:
    """One direction of one layer over ``x`` (L, N, H_in), L fixed: the hidden states (L, N,
    H_out) in time order (a reverse direction reads the sequence backwards) and the last state."""
    gi = input_projection(x, w)  # every step's in one matmul
    length = int(x.shape[0])
    hs: list[Any] = [None] * length
    state = with_zero_state(start, gi[0], w)
    for t in reversed(range(length)) if reverse else range(length):
        state = step(gi[t], state, w)
        hs[t] = state.h
    return ops.stack(hs, axis=0), state
