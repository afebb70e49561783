"""`litelens inspect` end to end, and the verbose trace of `litelens run` (-v / -vv / -vvv)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from litelens.cli import main

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "models"
MODEL = str(GOLDEN / "mobilebert-tiny-int8.tflite")
FLOAT = str(GOLDEN / "mobilebert-tiny-float32.tflite")
OPS = 111


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch):
    monkeypatch.setenv("COLUMNS", "120")


def test_inspect_prints_the_tables_and_writes_every_file(tmp_path, capsys):
    out = {name: tmp_path / "out" / name for name in ("r.html", "r.json", "r.csv", "me.json")}  # dir made
    code = main(["inspect", MODEL, "--float", FLOAT, "--text", "The battery died after a day.",
                 "--report", str(out["r.html"]), "--json", str(out["r.json"]), "--csv", str(out["r.csv"]),
                 "--model-explorer", str(out["me.json"]), "--explain", "29", "--explain", "6:0,3,5"])
    text = capsys.readouterr().out
    assert code == 0
    assert text.index("Ops ranked by local error") < text.index("SQNR along the depth")
    assert "attention.self/truediv" in text and "39.2/127" in text
    assert "output 'logits': propagated SQNR" in text and "vs float" in text
    assert "2 tensor(s) have no same-name twin in the float model: 'tfl.quantize', 'logits1'" in text
    assert "op 29 MUL" in text and "op 6 FULLY_CONNECTED, output tensor 114" in text and "element [0, 3, 5]" in text
    assert text.count(": matches") == 2
    for path in out.values():
        assert path.stat().st_size > 0 and str(path) in text
    assert len(json.loads(out["r.json"].read_text())) == OPS


def test_inspect_pools_several_texts(capsys):
    assert main(["inspect", MODEL, "--text", "one", "--text", "two", "--top", "3", "--depth-rows", "4"]) == 0
    text = capsys.readouterr().out
    assert "text 'one'; text 'two'" in text and "(worst 3 of" in text and "4 of" in text


def test_inspect_takes_npz_inputs(tmp_path, capsys):
    ids = np.zeros((1, 16), np.int32)
    ids[0, :4] = [2, 100, 200, 3]
    mask = (ids != 0).astype(np.int32)
    path = tmp_path / "in.npz"
    np.savez(path, input_ids=ids, input_mask=mask, segment_ids=np.zeros_like(ids))
    assert main(["inspect", MODEL, "--inputs", str(path)]) == 0
    assert "1 given input sample(s)" in capsys.readouterr().out


def test_inspect_errors_are_one_line(capsys):
    assert main(["inspect", MODEL, "--explain", "999"]) == 2
    assert "litelens: error: --explain 999: op 999 does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["inspect", MODEL, "--explain", "x:1"])


@pytest.mark.parametrize("level", [1, 2, 3])
def test_run_verbose_levels(level, capsys):
    assert main(["run", MODEL, "--text", "hello world", "-" + "v" * level]) == 0
    lines = capsys.readouterr().out.splitlines()
    op_lines = [line for line in lines if line.startswith("op ")]
    assert len(op_lines) == OPS
    assert op_lines[0].startswith("op 0 GATHER(t107 ")
    assert op_lines[0].endswith("-> t108 'embeddings.word_embeddings/Gather'")
    ranges = [line for line in lines if line.startswith("    t")]
    firsts = [line for line in lines if line.strip().startswith("first values:")]
    assert len(ranges) == (OPS if level >= 2 else 0)
    assert len(firsts) == (OPS if level >= 3 else 0)
    if level >= 2:
        assert "    t137 int8[1, 4, 16, 16] in [127, 127], real [0, 0] (scale 39.2157, zero point 127)" in lines
    assert any(line.startswith("output 'logits' float32[1, 3]") for line in lines)


def test_run_without_verbose_is_unchanged(capsys):
    assert main(["run", MODEL, "--text", "hello world", "--labels", "a,b,c"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert not any(line.startswith("op ") for line in lines)
    assert lines[0].startswith(f"{MODEL}: {OPS} ops, invoke ") and "tracing" not in lines[0]
    assert lines[1] == "output 'logits' float32[1, 3]" and lines[-1].startswith("  class: ")


def test_inspect_takes_a_vocabulary(tmp_path, capsys):
    from litelens.tokenizer import VOCAB_PATH

    vocab = tmp_path / "vocab.txt"
    words = Path(VOCAB_PATH).read_text().splitlines()
    vocab.write_text("\n".join(words[:200] + ["battery"] * 0 + words[200:]) + "\n")  # same vocabulary, a copy
    assert main(["inspect", MODEL, "--text", "The battery died.", "--vocab", str(vocab)]) == 0
    assert "text 'The battery died.'" in capsys.readouterr().out
    assert main(["inspect", MODEL, "--text", "x", "--vocab", str(tmp_path / "missing.txt")]) == 2
    assert "vocabulary file not found" in capsys.readouterr().err
