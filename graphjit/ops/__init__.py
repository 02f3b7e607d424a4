"""The op registry and the public numpy-named functions, one module per op family.

Importing this package registers every op in :data:`OPS` and binds the operator methods shared by
graph nodes and eager tensors.
"""

from graphjit import _methods
from graphjit.ops import (  # noqa: F401
    aliases,
    creation,
    elementwise,
    indexing,
    joining,
    leaves,
    linalg,
    normalize,
    reductions,
    shape,
)
from graphjit.ops.aliases import *  # noqa: F403
from graphjit.ops.base import OPS, OpDef, apply, astype, defop, lift, result_dtype
from graphjit.ops.creation import *  # noqa: F403
from graphjit.ops.elementwise import *  # noqa: F403
from graphjit.ops.indexing import *  # noqa: F403
from graphjit.ops.joining import *  # noqa: F403
from graphjit.ops.leaves import Storage, Variable, constant, placeholder, variable
from graphjit.ops.linalg import *  # noqa: F403
from graphjit.ops.normalize import *  # noqa: F403
from graphjit.ops.reductions import *  # noqa: F403
from graphjit.ops.shape import *  # noqa: F403

_methods.bind(__import__("sys").modules[__name__])

__all__ = [
    "OPS", "OpDef", "apply", "astype", "defop", "lift", "result_dtype", "Storage", "Variable",
    "constant", "placeholder", "variable",
    *elementwise.__all__, *reductions.__all__, *shape.__all__, *joining.__all__,
    *indexing.__all__, *linalg.__all__, *creation.__all__, *aliases.__all__, *normalize.__all__,
]  # fmt: skip
