"""Differential fuzzing: random programs over the whole op registry, run by every evaluator.

``generate(seed)`` draws a program (:mod:`graphjit.fuzz.generate`, by the per-op rules of
:mod:`graphjit.fuzz.rules` on a :mod:`graphjit.fuzz.draw` of values); ``check(program)`` runs it on
the reference interpreter, the compiled backends, eager Tensors and through gradients, and returns
the disagreements (:mod:`graphjit.fuzz.check`); ``shrink`` reduces a failing program while the
disagreement persists and ``reproducer`` prints it as a Python script
(:mod:`graphjit.fuzz.shrink`). ``graphjit fuzz`` runs them for a while.
"""
