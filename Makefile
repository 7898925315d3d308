# One command each: `make train` (install + default CAN pretraining) and `make test` (install + all tests).
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
# Tests run on 8 fake CPU devices so that the sharded train step is exercised without a pod. The persistent
# compilation cache lets the many tiny runs of the same config (resume tests, notebooks) compile once.
TEST_ENV := XLA_FLAGS=--xla_force_host_platform_device_count=8 JAX_COMPILATION_CACHE_DIR=$(CURDIR)/.cache/jax

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
FASHION_MNIST := /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz

.PHONY: install data test train export

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt settings.ini setup.py
	python3 -m venv $(VENV)
	$(BIN)/pip install -q -r requirements.txt
	$(BIN)/pip install -q --no-deps -e .
	touch $@

test: install data
	$(TEST_ENV) $(BIN)/nbdev_test --n_workers 1
	$(TEST_ENV) $(BIN)/pytest -q

export: install
	$(BIN)/nbdev_export && $(BIN)/nbdev_clean

data:
	@test -f $(FASHION_MNIST) || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq dataset-fashion-mnist; }

train: install data
	mkdir -p runs
	$(BIN)/papermill nbs/train.ipynb runs/train-can.ipynb -p method can --log-output
