"""Hand-written CUDA kernels and device functions for the CUDA backend's generated modules:
``scalar`` (the scalar math the elementwise templates call), ``launch`` (launch configuration),
``memory`` (fills and copies), ``matmul`` (a tiled, register-blocked matrix product), ``rows``
(softmax-like row kernels), ``select`` (the positions of true elements, for eager ``nonzero``
and ``masked_select``, imported by ``graphjit.cuda_eager``) and ``assign`` (``t[index] = value``
on cuda tensors, imported by ``graphjit.tensor.assign``). Imported only by generated CUDA
modules, the eager CUDA runner and the eager assignment, after graphjit has loaded numba's CUDA
target (see ``graphjit.cuda_compat``)."""
