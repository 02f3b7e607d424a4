"""Neural-network modules that work eagerly on tensors and as graphs on nodes.

model = gj.nn.Sequential(gj.nn.Linear(2, 8), gj.nn.Tanh(), gj.nn.Linear(8, 1))
loss = gj.nn.MSELoss()(model(gj.tensor(X)), gj.tensor(Y))       # eager
loss = gj.nn.MSELoss()(model(xs), ys)                            # graph (placeholders)

``gj.nn.functional`` holds the same computations as functions (PyTorch's ``F``).
"""

from graphjit.nn import functional, utils
from graphjit.nn.activations import (
    CELU,
    ELU,
    GELU,
    GLU,
    SELU,
    Hardsigmoid,
    Hardswish,
    Hardtanh,
    LeakyReLU,
    LogSigmoid,
    LogSoftmax,
    Mish,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Softsign,
    Tanh,
)
from graphjit.nn.attention import MultiheadAttention
from graphjit.nn.batchnorm import BatchNorm1d, BatchNorm2d
from graphjit.nn.containers import ModuleDict, ModuleList
from graphjit.nn.conv import (
    Conv1d,
    Conv2d,
    Conv3d,
    ConvTranspose1d,
    ConvTranspose2d,
    ConvTranspose3d,
)
from graphjit.nn.layers import Dropout, Embedding, Flatten, Identity, Linear, Unflatten
from graphjit.nn.losses import (
    BCELoss,
    BCEWithLogitsLoss,
    CosineEmbeddingLoss,
    CrossEntropyLoss,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    MarginRankingLoss,
    MSELoss,
    NLLLoss,
    SmoothL1Loss,
)
from graphjit.nn.module import Module, Sequential, operand, random_updates
from graphjit.nn.normalization import GroupNorm, LayerNorm

__all__ = [
    "BCELoss",
    "BatchNorm1d",
    "BatchNorm2d",
    "BCEWithLogitsLoss",
    "CELU",
    "Conv1d",
    "Conv2d",
    "Conv3d",
    "ConvTranspose1d",
    "ConvTranspose2d",
    "ConvTranspose3d",
    "CosineEmbeddingLoss",
    "CrossEntropyLoss",
    "Dropout",
    "ELU",
    "Embedding",
    "Flatten",
    "GELU",
    "GLU",
    "GroupNorm",
    "Hardsigmoid",
    "Hardswish",
    "Hardtanh",
    "HuberLoss",
    "Identity",
    "KLDivLoss",
    "L1Loss",
    "LayerNorm",
    "LeakyReLU",
    "Linear",
    "LogSigmoid",
    "LogSoftmax",
    "MSELoss",
    "MarginRankingLoss",
    "Mish",
    "Module",
    "MultiheadAttention",
    "ModuleDict",
    "ModuleList",
    "NLLLoss",
    "ReLU",
    "ReLU6",
    "SELU",
    "Sequential",
    "SiLU",
    "Sigmoid",
    "SmoothL1Loss",
    "Softmax",
    "Softplus",
    "Softsign",
    "Tanh",
    "Unflatten",
    "functional",
    "operand",
    "random_updates",
    "utils",
]
