"""Inspection of the committed golden models: what it reads is the official run, and what it finds.

The tensors an inspection measures are checked against the official interpreter's recordings
(golden/recordings, BUILTIN_REF) for the same texts, so the figures describe the official arithmetic.
The findings asserted here are the ones the README explains.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import litelens
from litelens.errors import ModelError
from litelens.goldens import golden_dir, load_recording
from litelens.inspect.shadow import DATA_MOVEMENT
from litelens.inspect.values import real_values


def inspect_recorded(model: str, twin: bool = True):
    recording = load_recording(f"{model}-int8/reference")
    models = golden_dir() / "models"
    try:
        result = litelens.inspect(models / f"{model}-int8.tflite",
                                  models / f"{model}-float32.tflite" if twin else None, inputs=recording.inputs)
    except ModelError as err:
        if "unsupported op" in str(err):
            pytest.skip(str(err).split(".")[0])
        raise
    return result, recording


@pytest.mark.parametrize("model", ["mobilebert-tiny", "bert-tiny"])
def test_inspection_reads_the_official_tensors(model):
    result, recording = inspect_recorded(model, twin=False)
    assert result.samples == len(recording.texts) == 3
    last = recording.tensors[-1]
    for t in result.tensors():
        np.testing.assert_array_equal(result.interpreter.get_tensor(t.index), last[t.index], err_msg=t.name)
        recorded = [real_values(values[t.index], t.dtype, t.quantization) for values in recording.tensors]
        assert t.real_min == pytest.approx(min(float(r.min()) for r in recorded), abs=0)
        assert t.real_max == pytest.approx(max(float(r.max()) for r in recorded), abs=0)
        if t.codes is not None:
            codes = np.concatenate([values[t.index].ravel() for values in recording.tensors])
            assert t.codes.distinct == np.unique(codes).size and t.codes.count == codes.size


def check_lost_attention_mask(result, sub: int, mul: int, padded: dict) -> None:
    """``1 - mask`` gets the scale of ``(1 - mask) * -10000`` (39.2 = 10000 / 255): 1.0 is 0.03 of a step,
    every output is the zero point, the padding mask is lost and the MUL after it is locally exact but
    propagates the loss (0 dB)."""
    op = result.op(sub)
    t = op.output
    assert op.opcode == "SUB" and t.name == "extended_attention_mask/sub"
    assert t.scale == pytest.approx(39.2, rel=1e-3) and t.codes.distinct == 1
    assert t.exact_max == pytest.approx(1.0) and op.local_sqnr_db == pytest.approx(0.0, abs=1e-6)
    alone = litelens.inspect(result.model, inputs=padded)  # explanations read the last input run
    explanation = alone.explain(sub)  # the worst element: a padded position, exact value 1
    assert explanation.element[-1] >= int(padded["input_mask"].sum())
    assert explanation.matches and explanation.exact_real == pytest.approx(1.0) and explanation.output_real == 0.0
    masked = result.op(mul)
    assert masked.local_sqnr_db == math.inf and masked.propagated_sqnr_db == pytest.approx(0.0, abs=1e-6)


def check_attention_scores_lost(result) -> list:
    """The scores x 1/sqrt(d) share the scale of the -10000 mask they are added to: all code 127 (real 0)."""
    ops = [op for op in result.ops if op.output.name.endswith("attention.self/truediv")]
    assert len(ops) == 2
    for op in ops:
        t = op.output
        assert op.opcode == "MUL" and t.scale == pytest.approx(39.2, rel=1e-3) and t.codes.distinct == 1
        assert op.local_sqnr_db == pytest.approx(0.0, abs=1e-3) and t.range_used < 1e-3
    return ops


def test_mobilebert_tiny_findings():
    result, recording = inspect_recorded("mobilebert-tiny")  # 3 texts, the first two padded
    assert [name for _, name, _ in result.unmatched] == ["tfl.quantize", "logits1"]
    assert not result.without_shadow()
    for op in result.ops:
        if op.opcode in DATA_MOVEMENT:
            assert op.local_sqnr_db == math.inf, (op.index, op.opcode)
    check_lost_attention_mask(result, 12, 13, recording.inputs[0])
    scores = check_attention_scores_lost(result)
    assert {op.index for op in result.ranked()[:3]} == {12} | {op.index for op in scores}
    # Without scores and mask every softmax row is uniform over all 16 positions, padding included.
    for op in result.ops:
        if op.opcode == "SOFTMAX":
            assert op.local_sqnr_db == math.inf and op.propagated_sqnr_db < 10 and op.output.codes.distinct == 1
    (logits,) = result.final_outputs()
    assert 25 < logits.sqnr("float_twin") < 45


def test_bert_tiny_findings():
    result, recording = inspect_recorded("bert-tiny")
    assert [name for _, name, _ in result.unmatched] == ["tfl.quantize", "embedding1"]
    assert not result.without_shadow()
    check_lost_attention_mask(result, 5, 6, recording.inputs[0])
    check_attention_scores_lost(result)
    # The worst op is the pooling SUM: the official int8 SUM reads its int8 input as uint8 bytes
    # (reduce.cc), so every negative code counts as code + 256. Tens of LSBs off, negative SQNR.
    worst = result.ranked()[0]
    assert worst.opcode == "SUM" and worst.output.name == "pooling/Sum"
    assert worst.local_sqnr_db < 0 and worst.output.local.max_abs_error_lsb > 50
    (embedding,) = result.final_outputs()
    assert embedding.sqnr("float_twin") < 0  # the model's output is lost
    # The decomposed LayerNorm: x - mean gets the scale of the normalised output it is multiplied into.
    sub = result.op(19)
    assert sub.output.name == "embeddings.LayerNorm/sub" and sub.output.scale == result.op(20).output.scale
    assert sub.output.range_used < 0.05 and sub.local_sqnr_db < 15


def test_a_run_that_stops_is_measured_up_to_the_failing_op():
    """bert-tiny int8 on a 9-token sentence: the int8 SUM that counts the mask reads it as uint8 and
    gives 0, and the official DIV refuses the zero divisor (div.cc) - as litelens does. The ops before
    it are measured, the failure is reported, later ops have no figure."""
    text = "The battery died after a day."
    model = golden_dir() / "models" / "bert-tiny-int8.tflite"
    try:
        result = litelens.inspect(model, text=text)
    except ModelError as err:
        if "unsupported op" in str(err):
            pytest.skip(str(err).split(".")[0])
        raise
    assert len(result.failures) == 1
    sample, op_index, message = result.failures[0]
    assert (sample, op_index) == (0, 105) and "DIV: division by zero" in message
    assert all(op.output.local is not None for op in result.ops[:op_index])
    assert all(op.output.local is None and op.local_sqnr_db is None for op in result.ops[op_index:])
    count = result.op(9)  # pooling/Sum_1: the number of real tokens, 0 here instead of 9
    assert count.output.name == "pooling/Sum_1" and count.local_sqnr_db == pytest.approx(0.0, abs=1e-6)
    pytest.importorskip("ai_edge_litert")
    from litelens.inputs import text_inputs
    from litelens.official import run_official

    with pytest.raises(RuntimeError, match="DIV"):
        run_official(model.read_bytes(), text_inputs(result.interpreter, text), "reference")
