"""Hand-written numba kernel families, installed as ``graphjit.kernels``."""
