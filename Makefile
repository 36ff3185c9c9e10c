# The README's two commands are `make demo` and `make test`; the other targets are their steps.
# Each works from a fresh clone: the first run creates .venv and installs the project into it.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
EXTENSION := cs_conv/im2col_cython$(shell $(PYTHON) -c "import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))")

.PHONY: test test-fast bench demo build lint clean notebooks release grade gradescope

# Debian packages the kit uses: bubblewrap isolates student code when the grader is not root.
# Installed when make runs as root with apt-get (CI, a fresh machine); otherwise the grader says
# what is missing and refuses to run student code unisolated unless told CS_CONV_INSECURE=1.
SYSTEM_PACKAGES := bubblewrap

$(INSTALLED): pyproject.toml setup.py
	@if ! command -v bwrap >/dev/null && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get install -y --no-install-recommends $(SYSTEM_PACKAGES) >/dev/null 2>&1 || \
		{ apt-get update >/dev/null && apt-get install -y --no-install-recommends $(SYSTEM_PACKAGES) >/dev/null; }; \
	fi
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

# The kit's extension, and the grader's shared Cython utility module in its build cache (a no-op once built).
build: $(EXTENSION)
	$(PY) -m autograder prepare

# Compiles cs_conv/im2col_cython.pyx in place only when it, its directives or setup.py changed:
# copying a new .so over one that a running kernel has loaded would crash that kernel.
$(EXTENSION): cs_conv/im2col_cython.pyx cs_conv/cython_directives.json setup.py | $(INSTALLED)
	$(PY) setup.py --quiet build_ext --inplace
	touch $@

lint: $(INSTALLED)
	$(PY) -m ruff check .
	$(PY) -m mypy

# One pytest worker per core; a test file stays on one worker, so its module fixtures (the demo
# course of the end-to-end tests) are built once.
test: build lint
	$(PY) -m pytest -n auto --dist loadfile

# The quick tier: everything but the end-to-end and attack tests marked slow.
test-fast: build
	$(PY) -m pytest -n auto --dist loadfile -m "not slow"

# Speed and memory figures; run on an idle machine (each script says what it measures).
bench: build
	$(PY) bench/bench_conv.py
	$(PY) bench/bench_train.py
	$(PY) bench/bench_grader.py
	$(PY) bench/bench_course.py

# The course (assignments/, see assignments/course_tools): run from the course folder.
COURSE := cd assignments && PYTHONPATH=$(CURDIR) ../$(PY) -m course_tools

# Release, sample submissions, grading through nbgrader, feedback and CSVs, in demo_output/.
demo: build
	$(COURSE).demo

# Rewrite assignments/source/cnn/*.ipynb from the percent-format sources in course_tools/notebooks/.
notebooks: $(INSTALLED)
	$(COURSE).build_notebooks

# assignments/release/cnn: the student release, scanned for leaks.
release: build
	$(COURSE).release

# Autograde assignments/submitted/*/cnn, then feedback, grades.csv and the per-test CSV.
grade: build
	$(COURSE).grading

# assignments/gradescope/autograder.zip: the same autograder as a Gradescope bundle.
gradescope: build
	$(COURSE).gradescope

clean:
	rm -rf build cs_conv/*.so cs_conv/im2col_cython.c .pytest_cache .hypothesis
