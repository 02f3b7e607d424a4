"""Hand-written CUDA kernels and device functions for the CUDA backend's generated modules:
``scalar`` (the scalar math the elementwise templates call), ``launch`` (launch configuration),
``memory`` (fills and copies), ``matmul`` (a tiled, register-blocked matrix product) and ``rows``
(softmax-like row kernels). Imported only by generated CUDA modules, after graphjit has loaded
numba's CUDA target (see ``graphjit.cuda_compat``)."""
