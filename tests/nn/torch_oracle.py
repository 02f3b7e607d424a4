"""PyTorch as the oracle of gj.nn layers and functions: the same inputs (and the same weights) give
the same values and gradients eagerly, and a compiled cpu graph gives the eager values.

``compare(gj_call, torch_call, inputs)`` runs both on the float64 (or integer) arrays ``inputs``,
differentiates ``sum(out * w)`` for a fixed random ``w`` with respect to every float input and
every parameter of the gj module / torch module (when the calls are modules, their parameters in
``named_parameters`` order, the torch state copied into the gj module first unless
``copy_state=False``), and checks (``wrt`` picks the inputs to differentiate instead):

* the eager gj output and gradients against torch's;
* the graph of ``gj_call`` on placeholders, compiled for ``backend``, against the eager values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import graphjit as gj
from graphjit.ops.dispatch import as_node

RTOL = 1e-12
ATOL = 1e-12


def _is_float(a: np.ndarray) -> bool:
    return a.dtype.kind == "f"


def copy_torch_parameters(gj_mod: Any, torch_mod: Any) -> None:
    """Load the torch module's parameters and buffers into the gj module (PyTorch's names)."""
    state = {k: v.detach().numpy() for k, v in torch_mod.state_dict().items()}
    gj_mod.load_state_dict(state)


def compare(
    gj_call: Callable[..., Any],
    torch_call: Callable[..., Any],
    inputs: Sequence[np.ndarray],
    *,
    backend: str | None = "cpu",
    rtol: float = RTOL,
    atol: float = ATOL,
    grads: bool = True,
    wrt: Sequence[int] | None = None,
    copy_state: bool = True,
    seed: int = 0,
) -> None:
    import torch

    gj_params = list(gj_call.parameters()) if isinstance(gj_call, gj.nn.Module) else []
    t_params = list(torch_call.parameters()) if isinstance(torch_call, torch.nn.Module) else []
    modules = isinstance(gj_call, gj.nn.Module) and isinstance(torch_call, torch.nn.Module)
    if modules and copy_state:
        copy_torch_parameters(gj_call, torch_call)
    assert len(gj_params) == len(t_params)

    floats = [i for i, a in enumerate(inputs) if _is_float(a)]
    differentiable = (floats if wrt is None else list(wrt)) if grads else []
    g_in = [gj.tensor(a, requires_grad=i in differentiable) for i, a in enumerate(inputs)]
    t_in = [torch.tensor(a, requires_grad=i in differentiable) for i, a in enumerate(inputs)]
    g_out = gj_call(*g_in)
    t_out = torch_call(*t_in)
    np.testing.assert_allclose(g_out.numpy(), t_out.detach().numpy(), rtol=rtol, atol=atol)
    w = np.random.default_rng(seed).normal(size=tuple(t_out.shape))

    g_wrt = [g_in[i] for i in differentiable] + [p for p in gj_params if p.requires_grad]
    t_wrt = [t_in[i] for i in differentiable] + [p for p in t_params if p.requires_grad]
    eager_grads: list[np.ndarray] = []
    if grads and g_wrt:
        g_loss = (g_out * gj.tensor(w)).sum()
        eager_grads = [g.numpy() for g in gj.grad(g_loss, g_wrt)]
        t_grads = torch.autograd.grad((t_out * torch.tensor(w)).sum(), t_wrt)
        for got, want in zip(eager_grads, t_grads):
            np.testing.assert_allclose(got, want.numpy(), rtol=rtol, atol=atol)

    if backend is None:
        return
    xs = [gj.placeholder(f"x{i}", shape=a.shape, dtype=str(a.dtype)) for i, a in enumerate(inputs)]
    out = gj_call(*xs)
    outputs = [out]
    if eager_grads:
        loss = gj.sum(out * w)
        wrt = [xs[i] for i in differentiable] + [as_node(p) for p in gj_params if p.requires_grad]
        outputs += list(gj.grad(loss, wrt))
    got = gj.compile(xs, outputs, backend=backend)(*inputs)
    for value, want in zip(got, [g_out.numpy(), *eager_grads]):
        np.testing.assert_allclose(value, want, rtol=1e-10, atol=1e-12)
