"""The PyTorch-named public functions: ``gj.mul``, ``gj.clamp``, ``gj.t``, ``gj.cat``, ...

Tutorials written for PyTorch call ``torch.mul``, ``torch.clamp`` or ``torch.unsqueeze``; with these
the same lines work with ``gj.`` in front, on graph nodes and eager tensors alike. Where the name is
only an alias, it is the numpy-named function itself. Each name is defined once, in one of the
modules below; the methods of the same names (:mod:`graphjit.methods`) call these.

* :mod:`~graphjit.torch_api.arithmetic`: arithmetic, ``mm`` and elementwise math;
* :mod:`~graphjit.torch_api.reductions`: reductions, scans and sorting (pairs as named tuples);
* :mod:`~graphjit.torch_api.shapes`: shapes and joining;
* :mod:`~graphjit.torch_api.indexing`: indexing, gathers and scatters;
* :mod:`~graphjit.torch_api.products`: matrix products (``bmm``, ``addmm``, ...).

The five never import each other.
"""

from graphjit.torch_api import arithmetic, indexing, products, reductions, shapes
from graphjit.torch_api.arithmetic import *  # noqa: F403
from graphjit.torch_api.indexing import *  # noqa: F403
from graphjit.torch_api.products import *  # noqa: F403
from graphjit.torch_api.reductions import *  # noqa: F403
from graphjit.torch_api.shapes import *  # noqa: F403

__all__ = [
    *arithmetic.__all__,
    *reductions.__all__,
    *shapes.__all__,
    *indexing.__all__,
    *products.__all__,
]
