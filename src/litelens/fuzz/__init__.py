"""``litelens fuzz``: random single-op cases and small converted graphs, compared bit for bit with the
official interpreter; mismatches are shrunk to a minimal case and saved (model, inputs, report)."""
