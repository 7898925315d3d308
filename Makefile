# One command each: `make train` (install + default CAN pretraining) and `make test` (install + all tests).
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
# Tests run on 8 fake CPU devices so that the sharded train step is exercised without a pod. The persistent
# compilation cache lets the many tiny runs of the same config (resume tests, notebooks) compile once.
TEST_ENV = $(RUN_ENV) XLA_FLAGS=--xla_force_host_platform_device_count=8 JAX_COMPILATION_CACHE_DIR=$(CURDIR)/.cache/jax
# XLA:CPU allocates a step's temporaries (~430 MiB for the default CAN step) afresh at every call; glibc returns
# blocks that large to the kernel on free, so each step page-faults them in again: a third of the step's time
# on this machine (results/benchmark/README.md). tcmalloc keeps and reuses them. Resolved when a recipe runs,
# i.e. after `sysdeps` installed it; empty (plain malloc) where it is not available.
RUN_ENV = LD_PRELOAD=$(shell /sbin/ldconfig -p 2>/dev/null | awk '/libtcmalloc_minimal\.so\.4 /{print $$NF; exit}')

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
FASHION_MNIST := /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz

.PHONY: install sysdeps test train benchmark accel-bundle accel-check accel-reproduce export figures reproduce notebooks docs docs-test

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt settings.ini setup.py
	python3 -m venv $(VENV)
	$(BIN)/pip install -q -r requirements.txt
	$(BIN)/pip install -q --no-deps -e .
	touch $@

# Two test processes: most tests wait on subprocesses, process start-up and single-threaded compilation, so two at once
# use the 2 cores better (pytest: 1,290 s -> 839 s here, beside two training runs; nbdev_test: 675 s for 1,322 s of
# notebooks); pytest gives each process whole files (`--dist loadfile`): a fault-injection file makes its reference run once
# (the faults are two files, test_resume.py and test_faults.py, so that the two processes share the longest tests).
test: install sysdeps
	$(TEST_ENV) $(BIN)/nbdev_test --n_workers 2
	$(TEST_ENV) $(BIN)/pytest -q -n 2 --dist loadfile

export: install
	$(BIN)/nbdev_export && $(BIN)/nbdev_clean

# The offline dataset and tcmalloc, from Debian packages.
sysdeps:
	@{ test -f $(FASHION_MNIST) && /sbin/ldconfig -p | grep -q libtcmalloc_minimal.so.4; } || \
	  { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq dataset-fashion-mnist libtcmalloc-minimal4; }

train: install sysdeps
	mkdir -p runs
	$(RUN_ENV) $(BIN)/papermill nbs/train.ipynb runs/train-can.ipynb -p method can --log-output

# Step time, MFU, memory and input pipeline of the default preset on this machine -> results/benchmark/.
benchmark: install sysdeps
	mkdir -p runs
	$(RUN_ENV) $(BIN)/papermill nbs/benchmark.ipynb runs/benchmark.ipynb --log-output

# The first run on a GPU/TPU host (scripts/accel_check.py: ViT-B/16 bf16 step, MFU, memory, the 200-step default run and
# its probe, sharded == unsharded) -> results/benchmark/<device>.json. `accel-bundle` (here, with a registry) puts the
# wheels and data a host without one needs into .accel/; carry .accel/ there, then run `bash scripts/accel_check.sh`.
accel-bundle: install sysdeps
	PYTHON=$(BIN)/python bash scripts/accel_bundle.sh

accel-check:
	PYTHON=$$( [ -x $(BIN)/python ] && echo $(BIN)/python || echo python3 ) bash scripts/accel_check.sh

# The reproduction on an accelerator host (scripts/accel_reproduce.sh): as much of the plan as fits in the call, several
# jobs at once, every result in $(OUT)/reproduce-<commit>.tar.gz; then here: run_all.py --import <archive> --commit.
accel-reproduce:
	PYTHON=$$( [ -x $(BIN)/python ] && echo $(BIN)/python || echo python3 ) bash scripts/accel_reproduce.sh

# The paper's tables and figures from the committed results (paper_figures/README.md); no training. Each artefact is a
# papermill notebook executed in place; one whose results are missing or were made with another config fails.
# IN_PROGRESS artefacts still wait for some of their runs: rendered with `-p partial True`, they judge what is in and
# list what is missing (the command that makes it); an artefact moves to ARTEFACTS when its last result is committed.
# `-p partial False` explicitly: a notebook executed in place keeps its last injected parameters when none are given.
# normalise.py drops the run's times from the notebooks: the same results give the same files on any machine.
ARTEFACTS = table1 fig1 table2 table3 fig4 fig5 table4 table5
IN_PROGRESS = fig6 fig7
figures: install
	for a in $(ARTEFACTS); do $(BIN)/papermill --cwd paper_figures paper_figures/$$a.ipynb paper_figures/$$a.ipynb -p partial False || exit 1; done
	for a in $(IN_PROGRESS); do $(BIN)/papermill --cwd paper_figures paper_figures/$$a.ipynb paper_figures/$$a.ipynb -p partial True || exit 1; done
	$(BIN)/python paper_figures/normalise.py $(foreach a,$(ARTEFACTS) $(IN_PROGRESS),paper_figures/$(a).ipynb)
	$(BIN)/python paper_figures/summary.py $(IN_PROGRESS)
	$(BIN)/python paper_figures/compute.py

# Every run the artefacts need (skipping finished ones, resumable), then `make figures`. Hours on 2 cores: see
# paper_figures/README.md; `--max-hours 2` makes a chunk.
reproduce: install sysdeps
	$(RUN_ENV) $(BIN)/python paper_figures/run_all.py

# The method notebooks executed in place (as nbdev_test runs them: `slow` cells skipped), so that GitHub, Jupyter and
# the docs site show their outputs. Minutes; run it after changing a notebook, then commit the outputs.
notebooks: install sysdeps
	$(TEST_ENV) $(BIN)/python docs/execute.py
	$(BIN)/nbdev_clean

# The documentation site, offline: the README, the notebooks with their committed outputs, paper figures, results and
# the API from the docstrings (mkdocs-material + mkdocs-jupyter + mkdocstrings; MathJax from npm) -> _build/site/.
# Users with Quarto can still run `nbdev_docs`. `make docs-test` opens the built site in headless Chromium.
MATHJAX := _build/mathjax/package
docs: install $(VENV)/.docs-installed
	@command -v npm >/dev/null || $(SUDO) apt-get install -y -qq npm
	test -d $(MATHJAX) || { mkdir -p _build/mathjax && cd _build/mathjax && npm pack -q mathjax@3.2.2 && tar xzf mathjax-3.2.2.tgz; }
	$(BIN)/python docs/stage.py $(MATHJAX)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build -q

$(VENV)/.docs-installed: requirements-docs.txt
	$(BIN)/pip install -q -r requirements-docs.txt
	touch $@

docs-test: docs
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  $(SUDO) apt-get install -y -qq chromium chromium-driver
	$(BIN)/pytest -q -p no:cacheprovider docs/test_site.py
