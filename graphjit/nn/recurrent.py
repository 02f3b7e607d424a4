"""Recurrent layers: the cells ``RNNCell``, ``LSTMCell`` and ``GRUCell`` and the sequence layers
``RNN``, ``LSTM`` and ``GRU``, with PyTorch's signatures, parameter names and shapes, gate order
(LSTM: i, f, g, o; GRU: r, z, n) and initialisation, so a PyTorch state dict converted to numpy
loads and gives PyTorch's outputs.

The time loop is a Python loop. Eagerly it runs step by step and records the tape; on graph nodes
it unrolls, so the sequence length must be fixed (the batch may stay ``None``). The input
projection of every step is one matmul over the whole sequence (``x @ W_ih^T``, (L, N, G * H));
each step adds ``h @ W_hh^T``, so an unrolled graph holds one matmul per step and direction. A
state not given is zero; the first step still multiplies it, so ``W_hh`` gets PyTorch's zero
gradient from a one-step sequence rather than none."""

from __future__ import annotations

import math
from collections.abc import Callable
from operator import itemgetter
from typing import Any

from graphjit import ops
from graphjit.ir import Node
from graphjit.nn import functional as F  # noqa: N812 - PyTorch's spelling
from graphjit.nn.layers import check_size, init_uniform
from graphjit.nn.module import Module, operand
from graphjit.nn.recurrent_steps import (
    CellWeights,
    State,
    Step,
    gru_step,
    input_projection,
    lstm_step,
    rnn_step,
    run_direction,
    with_zero_state,
)

__all__ = ["GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "RNNCell"]


def _graph_like(*values: Any) -> Any:
    """The first graph node among ``values`` (parameters must join its graph), else the first."""
    return next((v for v in values if isinstance(v, Node)), values[0])


def _lifted(value: Any) -> Any:
    return None if value is None else ops.lift(value)


def _hidden(value: Any, label: str) -> Any:
    """The hidden state ``hx`` of an RNN or GRU (layer or cell): one tensor or None."""
    if isinstance(value, (tuple, list)):
        raise TypeError(f"{label}: hx must be a tensor or None, got a {type(value).__name__}")
    return _lifted(value)


def _each(state: State, fn: Callable[[Any], Any]) -> State:
    """``fn`` applied to each part of ``state`` that is not None."""
    return State(*(None if v is None else fn(v) for v in state))


def _check_shape(layer: str, what: str, value: Any, expected: tuple[Any, ...]) -> None:
    """Raise unless ``value`` has ``expected``'s shape (a None on either side matches any size)."""
    shape = tuple(value.shape)
    if len(shape) != len(expected) or not all(
        a is None or b is None or a == b for a, b in zip(shape, expected)
    ):
        raise ValueError(f"{layer}: expected {what} of shape {expected}, got shape {shape}")


class _CellBase(Module):
    """One step of a recurrent layer on (N, H_in) or unbatched (H_in,) inputs."""

    gates: int

    def __init__(self, input_size: int, hidden_size: int, bias: bool, dtype: str) -> None:
        super().__init__()
        name = type(self).__name__
        self.input_size = check_size(input_size, "input_size", name)
        self.hidden_size = check_size(hidden_size, "hidden_size", name)
        self.bias = bias
        # PyTorch's initialisation: every parameter uniform in +-1/sqrt(hidden_size)
        bound = 1.0 / math.sqrt(hidden_size)
        rows = self.gates * hidden_size
        self.weight_ih = init_uniform((rows, input_size), bound, dtype)
        self.weight_hh = init_uniform((rows, hidden_size), bound, dtype)
        self.bias_ih = init_uniform((rows,), bound, dtype) if bias else None
        self.bias_hh = init_uniform((rows,), bound, dtype) if bias else None

    def _label(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"

    def _step(self, x: Any, state: State, step: Step) -> State:
        """Check the shapes, then run ``step`` on input ``x`` from ``state``."""
        x = ops.lift(x)
        label, size, hidden = self._label(), self.input_size, self.hidden_size
        if x.ndim not in (1, 2):
            raise ValueError(
                f"{label}: expected an input of shape (N, {size}) or unbatched ({size},), got "
                f"shape {tuple(x.shape)}"
            )
        unbatched = x.ndim == 1
        batch = () if unbatched else (x.shape[0],)
        _check_shape(label, "input", x, (*batch, size))
        for what, value in zip(("hx", "cx"), state):
            if value is not None:
                _check_shape(label, what, value, (*batch, hidden))
        if unbatched:
            x = ops.expand_dims(x, 0)
            state = _each(state, lambda v: ops.expand_dims(v, 0))
        like = _graph_like(x, *state)
        w = CellWeights(
            ops.transpose(operand(self.weight_ih, like)),
            ops.transpose(operand(self.weight_hh, like)),
            operand(self.bias_ih, like),
            operand(self.bias_hh, like),
        )
        gi = input_projection(x, w)
        new = step(gi, with_zero_state(state, gi, w), w)
        if unbatched:
            new = _each(new, lambda v: ops.squeeze(v, 0))
        return new

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")


class RNNCell(_CellBase):
    """``h' = tanh(x @ W_ih^T + b_ih + h @ W_hh^T + b_hh)`` (or relu); ``forward(input, hx=None)``
    returns ``h'``, a zero ``hx`` when None."""

    gates = 1

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        dtype: str = "float64",
    ) -> None:
        step = rnn_step(nonlinearity, "RNNCell")
        super().__init__(input_size, hidden_size, bias, dtype)
        self.nonlinearity, self._cell_step = nonlinearity, step

    def forward(self, input: Any, hx: Any = None) -> Any:  # noqa: A002 - PyTorch's name
        return self._step(input, State(_hidden(hx, self._label())), self._cell_step).h

    def extra_repr(self) -> str:
        extra = "" if self.nonlinearity == "tanh" else f", nonlinearity={self.nonlinearity!r}"
        return super().extra_repr() + extra


class LSTMCell(_CellBase):
    """One LSTM step, gates i, f, g, o; ``forward(input, hx=None)`` with ``hx = (h, c)`` returns
    ``(h', c')``, zero states when None."""

    gates = 4

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, dtype: str = "float64"
    ) -> None:
        super().__init__(input_size, hidden_size, bias, dtype)

    def forward(self, input: Any, hx: Any = None) -> tuple[Any, Any]:  # noqa: A002 - PyTorch's name
        if hx is None:
            state = State(None)
        elif isinstance(hx, (tuple, list)) and len(hx) == 2:
            state = State(_lifted(hx[0]), _lifted(hx[1]))
        else:
            raise TypeError(f"{self._label()}: hx must be a tuple (h, c) or None")
        new = self._step(input, state, lstm_step)
        return new.h, new.c


class GRUCell(_CellBase):
    """One GRU step, gates r, z, n as PyTorch's; ``forward(input, hx=None)`` returns ``h'``."""

    gates = 3

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, dtype: str = "float64"
    ) -> None:
        super().__init__(input_size, hidden_size, bias, dtype)

    def forward(self, input: Any, hx: Any = None) -> Any:  # noqa: A002 - PyTorch's name
        return self._step(input, State(_hidden(hx, self._label())), gru_step).h


class _RecurrentBase(Module):
    """``num_layers`` layers of one cell over a sequence, each one or two directions."""

    gates: int

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int,
        bias: bool,
        batch_first: bool,
        dropout: float,
        bidirectional: bool,
        proj_size: int,
        dtype: str,
        step: Step,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        self.input_size = check_size(input_size, "input_size", name)
        self.hidden_size = check_size(hidden_size, "hidden_size", name)
        self.num_layers = check_size(num_layers, "num_layers", name)
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)):
            raise TypeError(f"{name}: dropout must be a float in [0, 1], got {dropout!r}")
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"{name}: dropout must be in [0, 1], got {dropout}")
        if isinstance(proj_size, bool) or not isinstance(proj_size, int) or proj_size < 0:
            raise ValueError(f"{name}: proj_size must be an int >= 0, got {proj_size!r}")
        if proj_size >= hidden_size:
            raise ValueError(
                f"{name}: proj_size ({proj_size}) must be smaller than hidden_size ({hidden_size})"
            )
        self.bias, self.batch_first, self.bidirectional = bias, batch_first, bidirectional
        self.dropout, self.proj_size = float(dropout), proj_size
        self._cell_step = step
        # PyTorch's initialisation and order: every parameter uniform in +-1/sqrt(hidden_size)
        bound = 1.0 / math.sqrt(hidden_size)
        rows, out = self.gates * hidden_size, self.output_size
        for layer in range(num_layers):
            columns = input_size if layer == 0 else out * self.directions
            for suffix in self._suffixes():
                shapes: dict[str, tuple[int, ...]] = {
                    "weight_ih": (rows, columns),
                    "weight_hh": (rows, out),
                }
                if bias:
                    shapes.update(bias_ih=(rows,), bias_hh=(rows,))
                if proj_size:
                    shapes["weight_hr"] = (proj_size, hidden_size)
                for kind, shape in shapes.items():
                    setattr(self, f"{kind}_l{layer}{suffix}", init_uniform(shape, bound, dtype))

    @property
    def directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def output_size(self) -> int:
        """The size of h: ``proj_size`` when LSTM projects, else ``hidden_size``."""
        return self.proj_size or self.hidden_size

    def _suffixes(self) -> tuple[str, ...]:
        return ("", "_reverse") if self.bidirectional else ("",)

    def _label(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"

    def _weights(self, layer: int, suffix: str, like: Any) -> CellWeights:
        def get(kind: str) -> Any:
            return operand(self._parameters.get(f"{kind}_l{layer}{suffix}"), like)

        w_hr = get("weight_hr")
        return CellWeights(
            ops.transpose(get("weight_ih")),
            ops.transpose(get("weight_hh")),
            get("bias_ih"),
            get("bias_hh"),
            None if w_hr is None else ops.transpose(w_hr),
        )

    def _initial_state(self, hx: Any) -> State:
        """``hx`` as a State (LSTM overrides: a pair)."""
        return State(_hidden(hx, self._label()))

    def _sequence(self, x: Any, hx: Any) -> tuple[Any, State]:
        """The output for input ``x`` and the final states ``(h_n, c_n)`` (c_n None but for
        LSTM)."""
        x = ops.lift(x)
        label, size, shape = self._label(), self.input_size, tuple(x.shape)
        layout = f"(N, L, {size})" if self.batch_first else f"(L, N, {size})"
        if x.ndim not in (2, 3) or shape[-1] not in (None, size):
            raise ValueError(
                f"{label}: expected an input of shape {layout} or unbatched (L, {size}), got "
                f"shape {shape}"
            )
        unbatched = x.ndim == 2
        if unbatched:
            x = ops.expand_dims(x, 1)
        elif self.batch_first:
            x = ops.swapaxes(x, 0, 1)
        length, batch = x.shape[0], x.shape[1]
        if not isinstance(length, int):
            raise ValueError(
                f"{label}: the sequence length (dim {int(self.batch_first and not unbatched)} of "
                f"input shape {shape}) must be fixed to unroll the layer over time on a graph; "
                "give the placeholder a fixed length"
            )
        if length == 0:
            raise ValueError(
                f"{label}: expected a sequence length above 0, got input shape {shape}"
            )
        states = self._initial_state(hx)
        rows = self.num_layers * self.directions
        sizes = (self.output_size, self.hidden_size)
        for what, value, width in zip(("h0", "c0"), states, sizes):
            if value is not None:
                _check_shape(
                    label, what, value, (rows, width) if unbatched else (rows, batch, width)
                )
        if unbatched:
            states = _each(states, lambda v: ops.expand_dims(v, 1))
        like = _graph_like(x, *states)
        finals: list[State] = []
        for layer in range(self.num_layers):
            outputs = []
            for direction, suffix in enumerate(self._suffixes()):
                row = layer * self.directions + direction
                start = _each(states, itemgetter(row))
                weights = self._weights(layer, suffix, like)
                out, last = run_direction(x, start, weights, self._cell_step, direction == 1)
                outputs.append(out)
                finals.append(last)
            x = ops.concatenate(outputs, axis=-1)
            if self.training and self.dropout and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, training=True)
        final = State(*(None if v[0] is None else ops.stack(v, axis=0) for v in zip(*finals)))
        if unbatched:
            return ops.squeeze(x, 1), _each(final, lambda v: ops.squeeze(v, 1))
        return (ops.swapaxes(x, 0, 1) if self.batch_first else x), final

    def flatten_parameters(self) -> None:
        """Nothing to do (PyTorch packs its weights for cuDNN; kept so PyTorch code runs)."""

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size:
            text += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if not self.bias:
            text += ", bias=False"
        if self.batch_first:
            text += ", batch_first=True"
        if self.dropout:
            text += f", dropout={self.dropout}"
        if self.bidirectional:
            text += ", bidirectional=True"
        return text


class RNN(_RecurrentBase):
    """Elman RNN layers, ``h_t = tanh(x_t @ W_ih^T + b_ih + h_{t-1} @ W_hh^T + b_hh)`` (or relu).
    ``forward(input, hx=None)`` returns ``(output, h_n)``: input (L, N, H_in), (N, L, H_in) with
    ``batch_first`` or unbatched (L, H_in); ``hx`` and ``h_n`` (num_layers * directions, N,
    hidden_size); output (L, N, directions * hidden_size). Dropout applies to the output of each
    layer but the last, in training mode."""

    gates = 1

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        dtype: str = "float64",
    ) -> None:
        step = rnn_step(nonlinearity, "RNN")
        super().__init__(
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            0,
            dtype,
            step,
        )
        self.nonlinearity = nonlinearity

    def forward(self, input: Any, hx: Any = None) -> tuple[Any, Any]:  # noqa: A002 - PyTorch's name
        output, final = self._sequence(input, hx)
        return output, final.h

    def extra_repr(self) -> str:
        text = super().extra_repr()
        return (
            text if self.nonlinearity == "tanh" else f"{text}, nonlinearity={self.nonlinearity!r}"
        )


class LSTM(_RecurrentBase):
    """LSTM layers, gates i, f, g, o as PyTorch's; with ``proj_size > 0`` the hidden state is
    projected by ``weight_hr_l{k}`` (proj_size, hidden_size). ``forward(input, hx=None)`` with
    ``hx = (h0, c0)`` returns ``(output, (h_n, c_n))``; shapes as :class:`RNN`'s, c0 and c_n of
    width hidden_size, h0, h_n and output of width proj_size when projecting."""

    gates = 4

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        dtype: str = "float64",
    ) -> None:
        super().__init__(
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            proj_size,
            dtype,
            lstm_step,
        )

    def _initial_state(self, hx: Any) -> State:
        if hx is None:
            return State(None)
        if isinstance(hx, (tuple, list)) and len(hx) == 2:
            return State(ops.lift(hx[0]), ops.lift(hx[1]))
        raise TypeError(f"{self._label()}: hx must be a tuple (h0, c0) or None")

    def forward(self, input: Any, hx: Any = None) -> tuple[Any, tuple[Any, Any]]:  # noqa: A002 - PyTorch's name
        output, final = self._sequence(input, hx)
        return output, (final.h, final.c)


class GRU(_RecurrentBase):
    """GRU layers, gates r, z, n as PyTorch's (``n = tanh(W_in x + b_in + r * (W_hn h +
    b_hn))``); ``forward(input, hx=None)`` returns ``(output, h_n)``, shapes as :class:`RNN`'s."""

    gates = 3

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        dtype: str = "float64",
    ) -> None:
        super().__init__(
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            0,
            dtype,
            gru_step,
        )

    def forward(self, input: Any, hx: Any = None) -> tuple[Any, Any]:  # noqa: A002 - PyTorch's name
        output, final = self._sequence(input, hx)
        return output, final.h
