"""The metrics against hand-computed values (see litelens/inspect/metrics.py for the definitions)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from litelens.inspect.metrics import (
    CodeStats, ErrorStats, SaturationStats, cosine_similarity, max_abs_error, mean_abs_error, rmse_over_scale,
    saturation_share, sqnr_db, utilisation,
)

TEST = [1.0, 2.0, 3.0]
REF = [1.0, 2.0, 4.0]  # error [0, 0, -1]


def test_sqnr_by_hand():
    # signal 1 + 4 + 16 = 21, noise 1
    assert sqnr_db(TEST, REF) == pytest.approx(10 * math.log10(21.0), abs=1e-12)
    assert sqnr_db([2.0, 0.0], [1.0, 0.0]) == pytest.approx(0.0, abs=1e-12)  # error as large as the signal
    assert sqnr_db([1.1, 2.2], [1.0, 2.0]) == pytest.approx(20.0, abs=1e-9)  # 10 % error everywhere: 20 dB


def test_sqnr_limits():
    assert sqnr_db([1.0, -2.0], [1.0, -2.0]) == math.inf
    assert sqnr_db([0.5], [0.0]) == -math.inf
    assert sqnr_db([0.0], [0.0]) == math.inf


def test_cosine_by_hand():
    assert cosine_similarity(TEST, REF) == pytest.approx(17.0 / math.sqrt(14.0 * 21.0), abs=1e-15)
    assert cosine_similarity([1.0, 0.0], [0.0, 1.0]) == pytest.approx(0.0)
    assert cosine_similarity([-1.0, -2.0], [1.0, 2.0]) == pytest.approx(-1.0)
    assert cosine_similarity([0.0, 0.0], [0.0, 0.0]) == 1.0
    assert cosine_similarity([0.0, 0.0], [1.0, 0.0]) == 0.0


def test_absolute_errors_and_rmse_over_scale_by_hand():
    assert max_abs_error(TEST, REF) == 1.0
    assert mean_abs_error(TEST, REF) == pytest.approx(1.0 / 3.0)
    # RMSE = sqrt(1/3); in units of a 0.5 scale: 2 * sqrt(1/3)
    assert rmse_over_scale(TEST, REF, 0.5) == pytest.approx(2.0 * math.sqrt(1.0 / 3.0))
    stats = ErrorStats.of(TEST, REF, 0.25)
    assert stats.max_abs_error_lsb == pytest.approx(4.0)
    assert stats.mean_abs_error_lsb == pytest.approx(4.0 / 3.0)
    assert ErrorStats.of(TEST, REF).rmse_over_scale is None  # a float tensor has no LSB


def test_per_channel_lsb():
    test = np.array([[1.0, 1.0], [1.0, 1.0]])
    ref = np.array([[0.0, 0.0], [0.5, 0.5]])
    scales = np.array([[1.0], [0.25]])  # row 0: error 1 = 1 LSB; row 1: error 0.5 = 2 LSB
    stats = ErrorStats.of(test, ref, scales)
    assert stats.max_abs_error_lsb == pytest.approx(2.0)
    assert stats.rmse_over_scale == pytest.approx(math.sqrt((1 + 1 + 4 + 4) / 4))


def test_accumulates_like_one_call():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 50)), rng.standard_normal((2, 50))
    split = ErrorStats()
    split.update(a[0], b[0], 0.1)
    split.update(a[1], b[1], 0.1)
    whole = ErrorStats.of(a, b, 0.1)
    for field in ("sqnr_db", "cosine", "max_abs_error", "mean_abs_error", "rmse", "rmse_over_scale"):
        assert getattr(split, field) == pytest.approx(getattr(whole, field), rel=1e-12)


def test_non_finite_values():
    same = ErrorStats.of([np.nan, np.inf, 1.0], [np.nan, np.inf, 1.0])
    assert same.exact and same.count == 1
    different = ErrorStats.of([np.nan, 2.0], [0.0, 1.0])
    assert different.nonfinite_mismatch == 1 and not different.exact and different.count == 1


def test_utilisation_by_hand():
    assert utilisation(np.array([-128, 0, 0, 127], np.int8), np.int8) == 3 / 256
    assert utilisation(np.array([0, 255], np.uint8), np.uint8) == 2 / 256
    assert utilisation(np.array([-32768, 1, 1], np.int16), np.int16) == 2 / 65536
    with pytest.raises(ValueError):
        CodeStats(np.int32)


def test_code_histogram_and_bounds():
    stats = CodeStats(np.int8)
    stats.update(np.array([-128, -128, 5, 127], np.int8))
    stats.update(np.array([5], np.int8))
    assert stats.histogram[0] == 2 and stats.histogram[5 + 128] == 2 and stats.histogram[255] == 1
    assert stats.at_bounds_share == 3 / 5 and stats.distinct == 3
    wide = CodeStats(np.int16)
    wide.update(np.array([-32768, -32767, 32767], np.int16))
    assert wide.histogram.size == 256 and wide.histogram[0] == 2 and wide.histogram[-1] == 1


def test_saturation_by_hand():
    # scale 2**-4, zero point 0: the exact values sit at codes 0, 100, 127.25, 127.5, -128.5, -200
    scale = 0.0625
    exact = scale * np.array([0.0, 100.0, 127.25, 127.5, -128.5, -200.0])
    assert saturation_share(exact, scale, 0, np.int8) == pytest.approx(3 / 6)
    stats = SaturationStats()
    stats.update(exact, scale, 0, np.int8)
    stats.update(np.array([0.0, 0.0]), scale, 0, np.int8)
    assert stats.share == pytest.approx(3 / 8)
    # a zero point moves the range: with zp -128 the codes hold [0, 255 * scale]
    assert saturation_share(scale * np.array([0.0, 255.0, 256.0, -1.0]), scale, -128, np.int8) == pytest.approx(2 / 4)
