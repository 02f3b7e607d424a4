"""Code generation: an optimised graph in, the source of a compiled program out.

The backend-neutral pipeline (``pipeline.lower``) runs once per graph:

* ``partition``: fusion groups (elementwise chains, reductions with their producers, views, ops);
* ``symdims``: call-time dims and checks, from each op's own ``OpDef.call_dims`` rule (it runs
  before scheduling in practice: the schedule asks it which shapes are equal at call time);
* ``schedule``: loop nests shared by groups over one space, their order, hoisting, parallelism;
* ``updates``: which new values of variables the program stores into the variables' arrays
  (those loops moved to the end, so a call that raises has written none);
* ``memory``: the buffer plan (liveness and reuse), decided before any code is written;

then an emitter (``numba_cpu/``; a CUDA one would sit beside it) writes the source through
``emit``, the only writer of generated source.
"""
