"""The WordPiece tokenizer, its committed vocabulary and the sample corpus."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tokenizers")

from litelens import tokenizer  # noqa: E402
from litelens.tokenizer import SPECIAL_TOKENS, corpus_texts, encode, encode_batch, tokens, vocab_size  # noqa: E402

PAD, UNK, CLS, SEP = 0, 1, 2, 3


def test_corpus_is_150_distinct_ascii_lines():
    texts = corpus_texts()
    assert len(texts) >= 150
    assert len(set(texts)) == len(texts)
    assert all(text.isascii() for text in texts)


def test_vocab_starts_with_special_tokens_and_has_no_duplicates():
    lines = tokenizer.VOCAB_PATH.read_text(encoding="utf-8").splitlines()
    assert tuple(lines[:5]) == SPECIAL_TOKENS
    assert len(set(lines)) == len(lines) == vocab_size()
    assert 1000 < len(lines) < 8000


def test_encode_pads_with_cls_sep_template():
    out = encode("Lumio headphones fit well.", seq=16)
    assert set(out) == {"input_ids", "input_mask", "segment_ids"}
    for value in out.values():
        assert value.dtype == np.int32 and value.shape == (1, 16)
    ids, mask = out["input_ids"][0], out["input_mask"][0]
    n = int(mask.sum())
    assert 4 < n < 16
    assert ids[0] == CLS and ids[n - 1] == SEP
    assert np.all(mask[:n] == 1) and np.all(mask[n:] == 0)
    assert np.all(ids[n:] == PAD)
    assert np.all(out["segment_ids"] == 0)
    assert UNK not in ids[:n]


def test_truncation_keeps_sep_last():
    long_text = " ".join(corpus_texts()[:5])
    out = encode(long_text, seq=12)
    assert np.all(out["input_mask"] == 1)
    assert out["input_ids"][0, 0] == CLS and out["input_ids"][0, -1] == SEP


def test_lowercase_normalization_and_wordpiece_split():
    assert np.array_equal(encode("LUMIO Speakers", 8)["input_ids"], encode("lumio speakers", 8)["input_ids"])
    pieces = tokens("zyxquality!", 16)
    assert "[UNK]" not in pieces  # the ASCII alphabet is in the vocabulary
    assert any(piece.startswith("##") for piece in pieces)
    assert pieces[-1] == "[PAD]"


def test_batch_equals_single():
    texts = ["Crestbank ATM ate my card.", "Kettle & Co is great", "x"]
    batch = encode_batch(texts, seq=10)
    for row, text in enumerate(texts):
        single = encode(text, seq=10)
        for name in single:
            assert np.array_equal(batch[name][row:row + 1], single[name])
    assert batch["input_ids"].shape == (3, 10)


def test_too_short_seq_is_rejected():
    with pytest.raises(ValueError, match="seq"):
        encode("hi", seq=1)


def test_retraining_gives_a_similar_vocabulary(tmp_path):
    out = tmp_path / "vocab.txt"
    size = tokenizer.train_vocab(out_path=out)
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == size
    assert tuple(lines[:5]) == SPECIAL_TOKENS
    # The trainer breaks ties in hash order, so sizes vary by a few tokens between runs.
    assert abs(size - vocab_size()) < 0.05 * vocab_size()
    assert np.all(encode("Brightcell", 8, vocab_path=out)["input_ids"][0, 1:3] != UNK)


def test_command_line_tokenizes(capsys):
    assert tokenizer.main(["Orbital Motors", "--seq", "8"]) == 0
    printed = capsys.readouterr().out
    assert "[CLS] orbital motors [SEP]" in printed
    assert "input_ids: [2," in printed
