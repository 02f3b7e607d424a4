"""Neural-network modules that work eagerly on tensors and as graphs on nodes.

model = gj.nn.Sequential(gj.nn.Linear(2, 8), gj.nn.Tanh(), gj.nn.Linear(8, 1))
loss = gj.nn.MSELoss()(model(gj.tensor(X)), gj.tensor(Y))       # eager
loss = gj.nn.MSELoss()(model(xs), ys)                            # graph (placeholders)
"""

from graphjit.nn.layers import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    Flatten,
    Identity,
    L1Loss,
    Linear,
    LogSoftmax,
    MSELoss,
    ReLU,
    Sigmoid,
    Softmax,
    Softplus,
    Tanh,
)
from graphjit.nn.module import Module, Sequential, operand

__all__ = [
    "BCELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "Flatten",
    "Identity",
    "L1Loss",
    "Linear",
    "LogSoftmax",
    "MSELoss",
    "Module",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Softplus",
    "Tanh",
    "operand",
]
