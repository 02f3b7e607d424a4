"""Neural-network modules that work eagerly on tensors and as graphs on nodes.

model = gj.nn.Sequential(gj.nn.Linear(2, 8), gj.nn.Tanh(), gj.nn.Linear(8, 1))
loss = gj.nn.MSELoss()(model(gj.tensor(X)), gj.tensor(Y))       # eager
loss = gj.nn.MSELoss()(model(xs), ys)                            # graph (placeholders)

``gj.nn.functional`` holds the same computations as functions (PyTorch's ``F``).
"""

# The modules load when one of their names is first used (PEP 562): ``import graphjit`` does not
# pay for the layers, losses and functional forms of a program that never builds a network.

import importlib as _importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the names as the type checker and editors see them
    from graphjit.nn import functional, utils
    from graphjit.nn.activations import (
        CELU,
        ELU,
        GELU,
        GLU,
        SELU,
        Hardshrink,
        Hardsigmoid,
        Hardswish,
        Hardtanh,
        LeakyReLU,
        LogSigmoid,
        LogSoftmax,
        Mish,
        PReLU,
        ReLU,
        ReLU6,
        RReLU,
        Sigmoid,
        SiLU,
        Softmax,
        Softmax2d,
        Softmin,
        Softplus,
        Softshrink,
        Softsign,
        Tanh,
        Tanhshrink,
        Threshold,
    )
    from graphjit.nn.attention import MultiheadAttention
    from graphjit.nn.batchnorm import (
        BatchNorm1d,
        BatchNorm2d,
        BatchNorm3d,
    )
    from graphjit.nn.containers import (
        ModuleDict,
        ModuleList,
        ParameterDict,
        ParameterList,
    )
    from graphjit.nn.conv import (
        Conv1d,
        Conv2d,
        Conv3d,
        ConvTranspose1d,
        ConvTranspose2d,
        ConvTranspose3d,
    )
    from graphjit.nn.instancenorm import (
        InstanceNorm1d,
        InstanceNorm2d,
        InstanceNorm3d,
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
    from graphjit.nn.module import Module, Parameter, Sequential, operand, random_updates
    from graphjit.nn.normalization import (
        GroupNorm,
        LayerNorm,
        LocalResponseNorm,
        RMSNorm,
    )
    from graphjit.nn.padding import (
        ChannelShuffle,
        CircularPad1d,
        CircularPad2d,
        CircularPad3d,
        ConstantPad1d,
        ConstantPad2d,
        ConstantPad3d,
        Fold,
        PixelShuffle,
        PixelUnshuffle,
        ReflectionPad1d,
        ReflectionPad2d,
        ReflectionPad3d,
        ReplicationPad1d,
        ReplicationPad2d,
        ReplicationPad3d,
        Unfold,
        ZeroPad1d,
        ZeroPad2d,
        ZeroPad3d,
    )
    from graphjit.nn.pooling import (
        AdaptiveAvgPool1d,
        AdaptiveAvgPool2d,
        AdaptiveMaxPool1d,
        AdaptiveMaxPool2d,
        AvgPool1d,
        AvgPool2d,
        MaxPool1d,
        MaxPool2d,
        Upsample,
        UpsamplingBilinear2d,
        UpsamplingNearest2d,
    )


_SUBMODULES = ("functional", "utils")

# public name -> the module of graphjit.nn that defines it
_HOMES = {
    "activations": (
        "CELU",
        "ELU",
        "GELU",
        "GLU",
        "SELU",
        "Hardsigmoid",
        "Hardswish",
        "Hardtanh",
        "LeakyReLU",
        "LogSigmoid",
        "LogSoftmax",
        "Mish",
        "ReLU",
        "ReLU6",
        "Sigmoid",
        "SiLU",
        "Softmax",
        "Softplus",
        "Softsign",
        "Tanh",
        "PReLU",
        "RReLU",
        "Softmin",
        "Softmax2d",
        "Threshold",
        "Hardshrink",
        "Softshrink",
        "Tanhshrink",
    ),
    "attention": ("MultiheadAttention",),
    "batchnorm": (
        "BatchNorm1d",
        "BatchNorm2d",
        "BatchNorm3d",
    ),
    "containers": (
        "ModuleDict",
        "ModuleList",
        "ParameterDict",
        "ParameterList",
    ),
    "conv": ("Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"),
    "layers": ("Dropout", "Embedding", "Flatten", "Identity", "Linear", "Unflatten"),
    "losses": (
        "BCELoss",
        "BCEWithLogitsLoss",
        "CosineEmbeddingLoss",
        "CrossEntropyLoss",
        "HuberLoss",
        "KLDivLoss",
        "L1Loss",
        "MarginRankingLoss",
        "MSELoss",
        "NLLLoss",
        "SmoothL1Loss",
    ),
    "module": ("Module", "Parameter", "Sequential", "operand", "random_updates"),
    "normalization": (
        "GroupNorm",
        "LayerNorm",
        "RMSNorm",
        "LocalResponseNorm",
    ),
    "pooling": (
        "AdaptiveAvgPool1d",
        "AdaptiveAvgPool2d",
        "AdaptiveMaxPool1d",
        "AdaptiveMaxPool2d",
        "AvgPool1d",
        "AvgPool2d",
        "MaxPool1d",
        "MaxPool2d",
        "Upsample",
        "UpsamplingBilinear2d",
        "UpsamplingNearest2d",
    ),
    "padding": (
        "ZeroPad1d",
        "ZeroPad2d",
        "ZeroPad3d",
        "ConstantPad1d",
        "ConstantPad2d",
        "ConstantPad3d",
        "ReflectionPad1d",
        "ReflectionPad2d",
        "ReflectionPad3d",
        "ReplicationPad1d",
        "ReplicationPad2d",
        "ReplicationPad3d",
        "CircularPad1d",
        "CircularPad2d",
        "CircularPad3d",
        "PixelShuffle",
        "PixelUnshuffle",
        "ChannelShuffle",
        "Unfold",
        "Fold",
    ),
    "instancenorm": (
        "InstanceNorm1d",
        "InstanceNorm2d",
        "InstanceNorm3d",
    ),
}
_HOME_OF = {name: home for home, names in _HOMES.items() for name in names}


def __getattr__(name: str) -> object:
    """A public name of ``gj.nn``, imported from its module on first use."""
    if name in _SUBMODULES:
        return _importlib.import_module(f"graphjit.nn.{name}")
    home = _HOME_OF.get(name)
    if home is None:
        raise AttributeError(f"module 'graphjit.nn' has no attribute {name!r}")
    value = getattr(_importlib.import_module(f"graphjit.nn.{home}"), name)
    globals()[name] = value  # later lookups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = [
    "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d",
    "AdaptiveMaxPool1d",
    "AdaptiveMaxPool2d",
    "AvgPool1d",
    "AvgPool2d",
    "MaxPool1d",
    "MaxPool2d",
    "Upsample",
    "UpsamplingBilinear2d",
    "UpsamplingNearest2d",
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
    "PReLU",
    "RReLU",
    "Softmin",
    "Softmax2d",
    "Threshold",
    "Hardshrink",
    "Softshrink",
    "Tanhshrink",
    "ParameterDict",
    "ParameterList",
    "Parameter",
    "ZeroPad1d",
    "ZeroPad2d",
    "ZeroPad3d",
    "ConstantPad1d",
    "ConstantPad2d",
    "ConstantPad3d",
    "ReflectionPad1d",
    "ReflectionPad2d",
    "ReflectionPad3d",
    "ReplicationPad1d",
    "ReplicationPad2d",
    "ReplicationPad3d",
    "CircularPad1d",
    "CircularPad2d",
    "CircularPad3d",
    "PixelShuffle",
    "PixelUnshuffle",
    "ChannelShuffle",
    "Unfold",
    "Fold",
    "InstanceNorm1d",
    "InstanceNorm2d",
    "InstanceNorm3d",
    "RMSNorm",
    "LocalResponseNorm",
    "BatchNorm3d",
]
