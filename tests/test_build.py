"""Builds of a submission's ``.pyx`` against Cython's shared utility module (``autograder.build``).

The oracle for a library is the repository's own extension, built by ``setup.py`` with the
whole of Cython's utility code inside it: the grader's build of the same source, shared or
standalone, must compute the same columns.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from autograder_helpers import REPO, SOLVED, TEST_LIMITS

from autograder import build
from autograder.build import EXT_SUFFIX, SHARED_MODULE, BuildResult, build_extension, shared_library, source_key

SOURCES = {"im2col_cython.pyx": (SOLVED / "im2col_cython.pyx").read_bytes()}
# Run in a fresh interpreter against a package holding only the built files and the kit's Python.
COLUMNS = """
import sys
sys.path.insert(0, sys.argv[1])
import numpy as np
from cs_conv.im2col_cython import im2col_cython
x = np.arange(2 * 3 * 5 * 6, dtype=np.float64).reshape(2, 3, 5, 6) / 7
cols = im2col_cython(x, 3, 2, 1, 2)
kind = "shared" if "cs_conv._cython_shared" in sys.modules else "standalone"
print(kind, float(np.sum(cols * np.arange(cols.size).reshape(cols.shape))))
"""


@pytest.fixture
def scratch() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="test-build-"))
    os.chmod(folder, 0o755)  # the sandbox user reaches its build folder through it
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def columns_with(library: BuildResult | None, folder: Path) -> tuple[str, float]:
    """What ``COLUMNS`` prints with ``library`` installed (None: the repository's own extension)."""
    package = folder / "cs_conv"
    package.mkdir(parents=True)
    for source in SOLVED.glob("*.py"):
        shutil.copy(source, package / source.name)
    if library is None:
        shutil.copy(SOLVED / f"im2col_cython{EXT_SUFFIX}", package)
    else:
        library.install(package)
    run = subprocess.run([sys.executable, "-c", COLUMNS, str(folder)], capture_output=True, text=True, cwd=REPO)
    assert run.returncode == 0, run.stderr
    kind, value = run.stdout.split()
    return kind, float(value)


def test_a_build_against_the_shared_module_computes_what_setup_py_builds(grader_cache, sandbox, scratch):
    result = build_extension(SOURCES, grader_cache, sandbox, TEST_LIMITS, scratch / "build")
    assert result.ok, result.message
    assert result.shared is not None and result.shared.name == SHARED_MODULE + EXT_SUFFIX
    assert columns_with(result, scratch / "graded") == ("shared", columns_with(None, scratch / "kit")[1])


@pytest.mark.slow
def test_without_the_shared_module_every_build_carries_its_own(grader_cache, sandbox, scratch, monkeypatch):
    monkeypatch.setattr(build, "shared_library", lambda cache_dir: None)
    result = build_extension(SOURCES, grader_cache, sandbox, TEST_LIMITS, scratch / "build")
    assert result.ok and result.shared is None, result.message
    assert columns_with(result, scratch / "graded") == ("standalone", columns_with(None, scratch / "kit")[1])


def test_shared_and_standalone_builds_never_share_a_cache_entry():
    assert source_key(SOURCES, True) != source_key(SOURCES, False)
    assert source_key(SOURCES, True) == source_key(dict(SOURCES), True)


@pytest.mark.parametrize("compiler", [shutil.which("false") or "/bin/false", "/no/such/compiler"])
def test_a_shared_module_that_does_not_compile_is_none_and_nothing_is_cached(tmp_path, monkeypatch, compiler):
    monkeypatch.setattr(build, "compiler", lambda: compiler)
    assert shared_library(tmp_path) is None
    assert not list(tmp_path.rglob(f"*{EXT_SUFFIX}"))


def test_prepare_builds_the_shared_module_once(grader_cache):
    command = [sys.executable, "-m", "autograder", "prepare", "--cache", str(grader_cache)]
    first = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    assert first.returncode == 0, first.stderr
    library = Path(first.stdout.split(": ", 1)[1].strip())
    assert library.is_file() and library == shared_library(grader_cache)
    built = library.stat().st_mtime_ns
    again = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    assert again.returncode == 0 and library.stat().st_mtime_ns == built

