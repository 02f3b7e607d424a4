"""CUDA kernel families (to come)."""
