"""graphjit: JIT-compiled array kernels with a symbolic graph compiler and an eager autograd Tensor.

Static graphs::

    x = gj.placeholder("x", shape=(None, 3))
    w = gj.variable(np.zeros(3), name="w")
    y = gj.sum(gj.tanh(x @ w))
    (gw,) = gj.grad(y, [w])
    f = gj.compile([x], [y, gw], updates={w: w - 0.1 * gw})

The ``gj.*`` functions follow numpy's names and dispatch on their arguments: graph nodes build
graph, eager tensors compute at once (see ``graphjit.tensor``).

This module only gathers the public names and wires the layers together once: it registers the
eager Tensor's backend with the op dispatcher and installs the operators and methods of graph nodes
and tensors (see docs/architecture.md for the layers).
"""

# numba and the code generators load on a process's first compile (gj.compile, gj.jit); gj.onnx,
# gj.optim, gj.testing, gj.save/gj.load and gj.export on first use, and gj.nn's layers when one is
# first used: eager-only users and short scripts do not pay for them.
import importlib as _importlib
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from graphjit import (
    cuda_eager,
    dask,
    methods,
    nn,
    numpy_api,
    ops,
    torch_api,
)
from graphjit.autodiff import grad, hvp, jvp, vjp
from graphjit.dtypes import get_default_dtype, set_default_dtype
from graphjit.errors import (
    IndexOutOfBoundsError,
    IntegerOutOfRangeError,
    TensorUsageError,
    TracedValueError,
)
from graphjit.ir import Node, TensorType
from graphjit.jit import jit
from graphjit.numpy_api import *  # noqa: F403
from graphjit.ops import *  # noqa: F403
from graphjit.ops.dispatch import register_eager
from graphjit.ops.leaves import Storage, Variable, constant, placeholder, variable
from graphjit.rewrite import optimize
from graphjit.runtime import CompiledFunction, compile, register_lazy_caller

# the eager Tensor and its constructors; nn, optim and io work on it and on graphs alike
from graphjit.tensor import (
    Tensor,
    bool,  # noqa: F401 - PyTorch's dtype names gj.bool, gj.float, gj.int: not in __all__
    cuda,
    device,
    double,
    enable_grad,
    float,  # noqa: F401
    float32,
    float64,
    int,  # noqa: F401
    int8,
    int16,
    int32,
    int64,
    is_grad_enabled,
    long,
    no_grad,
    set_grad_enabled,
    uint8,
)
from graphjit.tensor.backend import EAGER, register_device_runner
from graphjit.tensor.creation import (
    arange,
    as_tensor,
    empty,
    eye,
    from_dlpack,
    from_numpy,
    full,
    full_like,
    linspace,
    manual_seed,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    tensor,
    zeros,
    zeros_like,
)
from graphjit.torch_api import *  # noqa: F403
from graphjit.version import __version__ as __version__
from graphjit.viz import pprint, to_dot

register_eager(EAGER)  # ops given Tensors run eagerly through the Tensor's backend
register_device_runner(cuda_eager.RUNNER)  # ops on tensors in GPU memory: one-op CUDA programs
methods.install()  # operators and methods of Node and Tensor, from graphjit.methods' tables
register_lazy_caller(dask.CALLER)  # compiled functions called with Dask arrays: graphjit.dask

if _TYPE_CHECKING:  # the lazy names as the type checker sees them
    from graphjit import onnx, optim, testing
    from graphjit.io import load, save
    from graphjit.standalone import export

_LAZY_SUBMODULES = ("onnx", "optim", "testing")
_LAZY_FUNCTIONS = {"load": "graphjit.io", "save": "graphjit.io", "export": "graphjit.standalone"}


def __getattr__(name: str) -> _Any:
    """``gj.onnx``, ``gj.optim``, ``gj.testing``, ``gj.save``, ``gj.load`` and ``gj.export``:
    imported on first use (none of them is needed to build, differentiate or run graphs)."""
    if name in _LAZY_SUBMODULES:
        return _importlib.import_module(f"graphjit.{name}")
    home = _LAZY_FUNCTIONS.get(name)
    if home is None:
        raise AttributeError(f"module 'graphjit' has no attribute {name!r}")
    value = getattr(_importlib.import_module(home), name)
    globals()[name] = value  # later lookups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY_SUBMODULES, *_LAZY_FUNCTIONS})


__all__ = [
    *ops.__all__,
    *torch_api.__all__,
    *numpy_api.__all__,
    "Tensor",
    "arange",
    "as_tensor",
    "cuda",
    "dask",
    "device",
    "double",
    "empty",
    "enable_grad",
    "eye",
    "float32",
    "float64",
    "export",
    "from_dlpack",
    "from_numpy",
    "full",
    "int32",
    "int64",
    "is_grad_enabled",
    "jit",
    "linspace",
    "long",
    "manual_seed",
    "no_grad",
    "ones",
    "rand",
    "rand_like",
    "randint",
    "randn",
    "randn_like",
    "set_grad_enabled",
    "tensor",
    "zeros",
    "zeros_like",
    "ones_like",
    "full_like",
    "CompiledFunction",
    "IndexOutOfBoundsError",
    "IntegerOutOfRangeError",
    "TensorUsageError",
    "TracedValueError",
    "Node",
    "Storage",
    "TensorType",
    "Variable",
    "compile",
    "constant",
    "grad",
    "hvp",
    "load",
    "nn",
    "onnx",
    "optim",
    "save",
    "jvp",
    "ops",
    "optimize",
    "placeholder",
    "pprint",
    "testing",
    "to_dot",
    "variable",
    "vjp",
    "uint8",
    "int8",
    "int16",
    "get_default_dtype",
    "set_default_dtype",
]
