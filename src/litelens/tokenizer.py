"""BERT WordPiece tokenizer for the factory models: text -> ``input_ids``, ``input_mask``, ``segment_ids``.

Built with the ``tokenizers`` library (the ``cli`` extra, imported inside functions): BertNormalizer
(lowercase), BertPreTokenizer, WordPiece with ``##`` continuations, the ``[CLS] A [SEP]`` template, then
padding with ``[PAD]`` (id 0) and truncation to ``seq``.

The vocabulary ``litelens/data/vocab.txt`` is trained on the sample corpus ``litelens/data/corpus.txt``
with the ``tokenizers`` WordPiece trainer; retrain it with ``python -m litelens.tokenizer --train``.
It is small (under two thousand pieces), made for the random-weight factory models, not for real
checkpoints. The trainer breaks ties in hash-map order, so retraining gives a slightly different
vocabulary each run: the committed file is the reference, and models record the size they were built with.
"""
from __future__ import annotations

import argparse
from functools import lru_cache
from pathlib import Path

import numpy as np

DATA_DIR = Path(__file__).resolve().parent / "data"
VOCAB_PATH = DATA_DIR / "vocab.txt"
CORPUS_PATH = DATA_DIR / "corpus.txt"
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")  # ids 0..4, in this order
TRAIN_VOCAB_LIMIT = 8000  # upper bound handed to the trainer; the corpus yields fewer pieces
# Every lowercase printable ASCII character starts in the vocabulary, so ASCII text never maps to [UNK].
INITIAL_ALPHABET = sorted(set("abcdefghijklmnopqrstuvwxyz0123456789!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"))
DEFAULT_SEQ = 128


def corpus_texts(path: str | Path = CORPUS_PATH) -> list[str]:
    """Non-empty lines of a text file (the sample corpus by default)."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip()]


def vocab_size(vocab_path: str | Path = VOCAB_PATH) -> int:
    """Number of entries in a WordPiece vocabulary file (one token per line)."""
    return len(Path(vocab_path).read_text(encoding="utf-8").splitlines())


def _configure(tokenizer) -> None:
    from tokenizers import decoders, normalizers, pre_tokenizers

    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.decoder = decoders.WordPiece(prefix="##")


@lru_cache(maxsize=8)
def _load(vocab_path: str, seq: int):
    from tokenizers import Tokenizer, models, processors

    if seq < 2:
        raise ValueError(f"seq must be at least 2 (room for [CLS] and [SEP]), got {seq}")
    tokenizer = Tokenizer(models.WordPiece.from_file(vocab_path, unk_token="[UNK]"))
    _configure(tokenizer)
    cls_id, sep_id = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    if tokenizer.token_to_id("[PAD]") != 0 or cls_id is None or sep_id is None:
        raise ValueError(f"{vocab_path}: needs [PAD] at id 0 and [CLS], [SEP] entries")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    tokenizer.enable_truncation(max_length=seq)
    tokenizer.enable_padding(length=seq, pad_id=0, pad_token="[PAD]")
    return tokenizer


def get_tokenizer(seq: int = DEFAULT_SEQ, vocab_path: str | Path = VOCAB_PATH):
    """The configured ``tokenizers.Tokenizer`` (cached per vocabulary and length)."""
    return _load(str(Path(vocab_path).resolve()), int(seq))


def encode_batch(texts: list[str], seq: int = DEFAULT_SEQ,
                 vocab_path: str | Path = VOCAB_PATH) -> dict[str, np.ndarray]:
    """Tokenize several texts: ``input_ids``, ``input_mask``, ``segment_ids``, each int32 [len(texts), seq]."""
    encodings = get_tokenizer(seq, vocab_path).encode_batch(list(texts))
    return {
        "input_ids": np.array([e.ids for e in encodings], dtype=np.int32).reshape(len(texts), seq),
        "input_mask": np.array([e.attention_mask for e in encodings], dtype=np.int32).reshape(len(texts), seq),
        "segment_ids": np.array([e.type_ids for e in encodings], dtype=np.int32).reshape(len(texts), seq),
    }


def encode(text: str, seq: int = DEFAULT_SEQ, vocab_path: str | Path = VOCAB_PATH) -> dict[str, np.ndarray]:
    """Tokenize one text: ``input_ids``, ``input_mask``, ``segment_ids``, each int32 [1, seq]."""
    return encode_batch([text], seq, vocab_path)


def tokens(text: str, seq: int = DEFAULT_SEQ, vocab_path: str | Path = VOCAB_PATH) -> list[str]:
    """The word pieces of ``text`` as the model sees them (with [CLS], [SEP], [PAD])."""
    return get_tokenizer(seq, vocab_path).encode(text).tokens


def train_vocab(corpus_path: str | Path = CORPUS_PATH, out_path: str | Path = VOCAB_PATH,
                limit: int = TRAIN_VOCAB_LIMIT) -> int:
    """Train a WordPiece vocabulary on ``corpus_path`` and write it to ``out_path``; returns its size."""
    from tokenizers import Tokenizer, models, trainers

    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    _configure(tokenizer)
    trainer = trainers.WordPieceTrainer(vocab_size=limit, special_tokens=list(SPECIAL_TOKENS),
                                        initial_alphabet=INITIAL_ALPHABET, continuing_subword_prefix="##",
                                        show_progress=False)
    tokenizer.train_from_iterator(corpus_texts(corpus_path), trainer)
    vocab = sorted(tokenizer.get_vocab().items(), key=lambda item: item[1])
    if [tok for tok, _ in vocab[:len(SPECIAL_TOKENS)]] != list(SPECIAL_TOKENS):
        raise RuntimeError(f"trainer did not put the special tokens first: {vocab[:5]}")
    Path(out_path).write_text("".join(f"{tok}\n" for tok, _ in vocab), encoding="utf-8")
    _load.cache_clear()
    return len(vocab)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m litelens.tokenizer",
                                     description="Tokenize a text, or retrain the WordPiece vocabulary.")
    parser.add_argument("text", nargs="?", help="text to tokenize")
    parser.add_argument("--seq", type=int, default=32, help="sequence length (default 32)")
    parser.add_argument("--train", action="store_true", help=f"retrain {VOCAB_PATH.name} on the corpus")
    parser.add_argument("--corpus", default=str(CORPUS_PATH), help="corpus for --train")
    parser.add_argument("--out", default=str(VOCAB_PATH), help="vocabulary file written by --train")
    args = parser.parse_args(argv)
    if args.train:
        size = train_vocab(args.corpus, args.out)
        print(f"wrote {args.out}: {size} tokens")
    if args.text is not None:
        arrays = encode(args.text, args.seq)
        print(" ".join(tokens(args.text, args.seq)))
        for name, value in arrays.items():
            print(f"{name}: {value[0].tolist()}")
    if not args.train and args.text is None:
        parser.print_help()
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
