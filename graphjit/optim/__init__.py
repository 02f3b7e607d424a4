"""Optimisers that step eagerly (``opt.step()`` after ``loss.backward()``) and also emit the same
update as graph nodes (``gj.compile(..., updates=opt.updates(loss))``), and learning-rate
schedulers (``gj.optim.lr_scheduler``) that move both."""

from graphjit.optim import lr_scheduler
from graphjit.optim.optimizers import SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop

__all__ = ["SGD", "Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "lr_scheduler"]
