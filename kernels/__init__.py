"""Numba kernels for litelens: arrays and scalars in, arrays out.

Every kernel is an undecorated Python function compiled once by :func:`litelens.kernels.config.jit`;
with ``NUMBA_DISABLE_JIT=1`` the very same code runs as plain Python. Kernels never check shapes:
the op's Prepare validates them before any kernel runs.
"""
