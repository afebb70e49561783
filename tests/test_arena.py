"""The activation arena: its plan never lets two live tensors overlap, and the Interpreter refuses to
read a shared intermediate instead of returning a stale value."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import litelens
from litelens.arena import ALIGNMENT, Lifetime, aligned_bytes, plan_offsets
from litelens.goldens import golden_dir

TINY_INT8 = golden_dir() / "models" / "mobilebert-tiny-int8.tflite"


@st.composite
def lifetimes(draw):
    count = draw(st.integers(1, 40))
    out = []
    for t in range(count):
        first = draw(st.integers(0, 30))
        out.append(Lifetime(t, draw(st.integers(0, 5000)), first, first + draw(st.integers(0, 10))))
    return out


@given(lifetimes())
@settings(max_examples=300, deadline=None)
def test_tensors_alive_at_the_same_op_never_overlap(lives):
    offsets, total = plan_offsets(lives)
    assert set(offsets) == {life.tensor for life in lives}
    for life in lives:
        assert offsets[life.tensor] % ALIGNMENT == 0
        assert offsets[life.tensor] + life.nbytes <= total
    for a in lives:
        for b in lives:
            if a.tensor < b.tensor and a.first <= b.last and b.first <= a.last:  # both alive at some op
                a0, b0 = offsets[a.tensor], offsets[b.tensor]
                assert a0 + max(a.nbytes, 1) <= b0 or b0 + max(b.nbytes, 1) <= a0, (a, b, a0, b0)


def test_a_chain_reuses_memory():
    # op i reads tensor i-1 and writes tensor i: two buffers suffice however long the chain
    lives = [Lifetime(t, 1000, t, t + 1) for t in range(50)]
    _, total = plan_offsets(lives)
    assert total == 2 * 1024


def test_aligned_bytes():
    buf = aligned_bytes(100)
    assert buf.nbytes == 100 and buf.ctypes.data % ALIGNMENT == 0 and not buf.any()


def _run(preserve: bool):
    interp = litelens.Interpreter(model_path=TINY_INT8, preserve_all_tensors=preserve)
    interp.allocate_tensors()
    for d in interp.get_input_details():  # token ids 0..1, segment 0..1, mask 1 / 0: valid everywhere
        interp.set_tensor(d["index"], (np.arange(np.prod(d["shape"])) % 2).reshape(d["shape"]).astype(d["dtype"]))
    interp.invoke()
    return interp


def test_intermediates_share_an_arena_unless_preserved():
    plain, kept = _run(False), _run(True)
    outputs = [d["index"] for d in plain.get_output_details()]
    for index in outputs:
        assert np.array_equal(plain.get_tensor(index), kept.get_tensor(index))
    intermediate = plain.graph.operators[0].outputs[0]
    assert intermediate not in outputs
    with pytest.raises(litelens.InputError, match="preserve_all_tensors=True"):
        plain.get_tensor(intermediate)
    kept.get_tensor(intermediate)  # readable
    every = sum(a.nbytes for i, a in kept._arrays.items() if i not in kept.graph.inputs and i not in outputs)
    assert 0 < plain.arena_bytes < every / 4, (plain.arena_bytes, every)
    assert kept.arena_bytes == 0


def test_preserved_intermediates_lie_end_to_end_in_one_block_without_overlap():
    kept = _run(True)
    own = set(kept.graph.inputs) | set(kept.graph.outputs)
    arrays = [a for i, a in kept._arrays.items() if i not in own]
    starts = sorted((a.ctypes.data, a.ctypes.data + a.nbytes) for a in arrays)
    assert all(start % ALIGNMENT == 0 for start, _ in starts)
    assert all(end <= nxt for (_, end), (nxt, _) in zip(starts, starts[1:]))  # no two overlap
    span = starts[-1][1] - starts[0][0]
    assert span < sum(a.nbytes for a in arrays) + ALIGNMENT * len(arrays)  # one block, end to end


def test_reshape_outputs_are_views_of_their_input_unless_kept_or_model_outputs():
    from litelens import build

    x = build.Tensor([2, 6], "float32", "x")
    mid = build.Tensor([3, 4], "float32", "mid")
    y = build.Tensor([3, 4], "float32", "y")
    out = build.Tensor([12], "float32", "out")
    ops = [build.Operator("RESHAPE", [0], [1], {"new_shape": [3, 4]}),
           build.Operator("TANH", [1], [2]),
           build.Operator("RESHAPE", [2], [3], {"new_shape": [12]})]
    content = build.graph([x, mid, y, out], ops, inputs=[0], outputs=[3]).to_bytes()
    value = np.linspace(-3, 3, 12, dtype=np.float32).reshape(2, 6)
    results = {}
    for preserve in (False, True):
        interp = litelens.Interpreter(model_content=content, preserve_all_tensors=preserve)
        interp.allocate_tensors()
        interp.set_tensor(0, value)
        interp.invoke()
        arrays = interp._arrays
        assert np.shares_memory(arrays[1], arrays[0]) is not preserve  # a view of the model input
        assert not np.shares_memory(arrays[3], arrays[2])  # a model output keeps its own buffer
        results[preserve] = interp.get_tensor(3)
    assert np.allclose(results[False], np.tanh(value).reshape(12), rtol=1e-6)  # (numpy's tanh is not libm's)
    assert np.array_equal(results[False], results[True])
