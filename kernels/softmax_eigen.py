"""float32 SOFTMAX on the optimized path: ``optimized_ops::SoftmaxImpl`` (optimized_ops.h), Eigen
expressions on a column-major [depth, rows] map of the input.

Bit-exact with the official x86-64 wheel under these assumptions (all checked on this machine): Eigen
vectorizes with SSE Packet4f without FMA, the tensors start 16-byte aligned (the arena aligns to 64),
and one thread runs the whole batch (``SoftmaxWorkerTask`` splits rows across threads; another split
moves which elements take the scalar exp).
"""
import numpy as np

from litelens.kernels.config import jit
from litelens.kernels.lut import eigen_expf, expf
from litelens.kernels.reduce import _eigen_sum_sse


@jit(error_model="numpy")  # float division by zero gives inf/NaN, as in C
def softmax_float_eigen(output, x, beta):
    """[rows, depth] -> [rows, depth].

    1. out = (x - row max) * beta (float32);
    2. out = exp(out) over the whole buffer as one vector: Eigen's ``pexp`` for the elements in whole
       packets of 4, the C library's expf (litelens's glibc-exact one) for the last size % 4 elements;
    3. per row: s = Eigen's SSE column sum of out (row r starts r * depth floats past an aligned base),
       out *= float32(1 / s).
    """
    rows, depth = x.shape
    beta = np.float32(beta)
    for r in range(rows):
        row_max = x[r, 0]
        for c in range(1, depth):
            if x[r, c] > row_max:
                row_max = x[r, c]
        for c in range(depth):
            output[r, c] = np.float32(np.float32(x[r, c] - row_max) * beta)
    vector_end = ((rows * depth) // 4) * 4
    for r in range(rows):
        for c in range(depth):
            if r * depth + c < vector_end:
                output[r, c] = eigen_expf(output[r, c])
            else:
                output[r, c] = expf(output[r, c])
    for r in range(rows):
        inv = np.float32(np.float32(1.0) / _eigen_sum_sse(output, r, r * depth))
        for c in range(depth):
            output[r, c] = np.float32(output[r, c] * inv)
