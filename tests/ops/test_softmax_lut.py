"""The table-driven int8 softmax kernel gives the same bits as the step-by-step reference kernel."""
import numpy as np
import pytest

from litelens.kernels import softmax as k
from litelens.ops.softmax import calculate_input_radius, preprocess_softmax_scaling


@pytest.mark.parametrize("beta,scale", [(1.0, 0.1), (1.0, 0.0123), (0.5, 0.25), (2.0, 1.7), (1.0, 0.0004)])
@pytest.mark.parametrize("out_bits", [8, 16])
def test_lut_kernel_equals_reference_kernel(beta, scale, out_bits):
    rng = np.random.default_rng(int(scale * 1e4) + out_bits)
    _, (multiplier, shift) = preprocess_softmax_scaling(beta, scale, k.SCALED_DIFF_INTEGER_BITS)
    diff_min = -calculate_input_radius(k.SCALED_DIFF_INTEGER_BITS, shift)
    exp_table, acc_table = np.zeros(256, np.int64), np.zeros(256, np.int64)
    k.exp_tables(exp_table, acc_table, multiplier, shift, diff_min)
    out_min, out_max = (-128, 127) if out_bits == 8 else (-32768, 32767)
    for depth in (1, 2, 7, 128, 300):
        x = rng.integers(-128, 128, size=(9, depth)).astype(np.int8)
        x[0] = 127  # a row of ties at the maximum
        x[1, ::2] = -128  # the widest spread
        want = np.zeros(x.shape, np.int8 if out_bits == 8 else np.int16)
        got = np.zeros_like(want)
        r1 = k.softmax_quantized(want, x, multiplier, shift, diff_min, out_bits, out_min, out_max)
        r2 = k.softmax_quantized_lut(got, x, exp_table, acc_table, -diff_min, out_bits, out_min, out_max)
        assert r1 == r2
        if r1 < 0:
            np.testing.assert_array_equal(got, want)
