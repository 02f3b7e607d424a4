"""graphjit: JIT-compiled array kernels with a symbolic graph compiler and an eager autograd Tensor.

Static graphs::

    x = gj.placeholder("x", shape=(None, 3))
    w = gj.variable(np.zeros(3), name="w")
    y = gj.sum(gj.tanh(x @ w))
    (gw,) = gj.grad(y, [w])
    f = gj.compile([x], [y, gw], updates={w: w - 0.1 * gw})

The ``gj.*`` functions follow numpy's names and dispatch on their arguments: graph nodes build
graph, eager tensors compute at once (see ``graphjit.tensor``).
"""

from graphjit import (
    ops,
    testing,
)
from graphjit.autodiff import grad, hvp, jvp, vjp
from graphjit.ir import Node, TensorType
from graphjit.ops import *  # noqa: F403
from graphjit.ops.leaves import Storage, Variable, constant, placeholder, variable
from graphjit.runtime import CompiledFunction, compile
from graphjit.viz import pprint, to_dot

__version__ = "0.1.0"

__all__ = [
    *ops.__all__,
    "CompiledFunction",
    "Node",
    "Storage",
    "TensorType",
    "Variable",
    "compile",
    "constant",
    "grad",
    "hvp",
    "jvp",
    "ops",
    "placeholder",
    "pprint",
    "testing",
    "to_dot",
    "variable",
    "vjp",
]
