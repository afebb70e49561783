# litelens — set-up and everyday commands. Everything runs inside .venv, created on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip install --quiet --disable-pip-version-check
DEMO_MODEL := golden/models/mobilebert-tiny-int8.tflite
DEMO_FLOAT := golden/models/mobilebert-tiny-float32.tflite
DEMO_TEXT  := "Loving the new battery life on my Acme phone, best upgrade this year!"

.PHONY: demo test golden bench arm-test arm-record clean help

help:
	@echo "make demo    - create .venv, install litelens, run and inspect the shipped tiny MobileBERT int8 model"
	@echo "make test    - install what tests need (incl. the official converter/interpreter) and run them"
	@echo "make golden  - rebuild the committed models and re-record golden tensors (official interpreter)"
	@echo "make bench   - benchmarks: litelens vs the official interpreter, side by side"
	@echo "make arm-test - the golden tests under qemu emulation of a Raspberry Pi 4 and 5 (root; cached)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Core + light CLI extras (tokenizer, tables): no network-heavy packages.
$(VENV)/.installed-core: pyproject.toml | $(BIN)/python
	$(PIP) -e ".[cli]"
	@touch $@

# Everything tests need: the official converter (tensorflow-cpu) and interpreter (ai-edge-litert),
# and transformers + the local CPU torch 2.13.0 wheel for the faithfulness test.
$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(PIP) -e ".[cli,test,golden,hf]"
	@touch $@ $(VENV)/.installed-core

$(VENV)/.installed-bench: pyproject.toml $(VENV)/.installed-test
	$(PIP) -e ".[cli,test,golden,hf,bench]"
	@touch $@

demo: $(VENV)/.installed-core
	$(BIN)/litelens run $(DEMO_MODEL) --text $(DEMO_TEXT) --labels negative,neutral,positive
	$(BIN)/litelens inspect $(DEMO_MODEL) --float $(DEMO_FLOAT) --text $(DEMO_TEXT) \
		--text "The battery died after a day." --report out/inspect-mobilebert-tiny-int8.html
	@echo "Report written to out/inspect-mobilebert-tiny-int8.html (open it in a browser)"

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q

golden: $(VENV)/.installed-test
	$(BIN)/python golden/record.py

bench: $(VENV)/.installed-bench
	$(BIN)/python -m pytest -q benchmarks
	$(BIN)/python benchmarks/end_to_end.py
	$(BIN)/python benchmarks/int_gemm_rate.py
	$(BIN)/python benchmarks/startup.py

# litelens under qemu aarch64 emulation of a Raspberry Pi 4 and 5 (cached in ~/.cache/litelens-arm).
arm-test: $(VENV)/.installed-core
	bash arm/test.sh

# Re-record golden/arm64/ (the official interpreter's ARM64 outputs) after `make golden`.
arm-record: $(VENV)/.installed-core
	bash arm/record.sh

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
