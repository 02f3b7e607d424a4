"""Hand-written CUDA kernels and device functions for the CUDA backend's generated modules:
``scalar`` (the scalar math the elementwise templates call), ``launch`` (launch configuration),
``memory`` (fills and copies), ``matmul`` (a tiled, register-blocked matrix product), ``rows``
(softmax-like row kernels) and ``select`` (the positions of true elements, for eager ``nonzero``
and ``masked_select``, imported by ``graphjit.cuda_eager``). Imported only by generated CUDA
modules and the eager CUDA runner, after graphjit has loaded numba's CUDA target (see
``graphjit.cuda_compat``)."""
