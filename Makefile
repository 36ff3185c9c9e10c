# The README's two commands are `make demo` and `make test`; the other targets are their steps.
# Each works from a fresh clone: the first run creates .venv and installs the project into it.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

.PHONY: test bench demo build lint clean

$(INSTALLED): pyproject.toml setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

# Recompiles cs_conv/im2col_cython.pyx in place when it changed (Cython skips it otherwise).
build: $(INSTALLED)
	$(PY) setup.py --quiet build_ext --inplace

lint: $(INSTALLED)
	$(PY) -m ruff check .

test: build lint
	$(PY) -m pytest

bench: build
	$(PY) bench/bench_conv.py

demo: build
	$(PY) -m cs_conv.tour

clean:
	rm -rf build cs_conv/*.so cs_conv/im2col_cython.c .pytest_cache .hypothesis
