"""``Student.precompile``: the staged sources' bytecode, made once in a fresh sandboxed process.

The oracles are Python's own: ``py_compile`` for the header that ties bytecode to its source,
``compile`` for the code, and the import system, which must take the stored files as they are.
"""

from __future__ import annotations

import importlib.util
import marshal
import os
import py_compile
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from autograder_helpers import TEST_LIMITS

from autograder.sandbox import Sandbox
from autograder.student import Deadline, Student, StudentFailure

SOURCES = {
    "cs_conv/__init__.py": "",
    "cs_conv/values.py": "VALUE = 1  # from source\n\ndef value():\n    return VALUE\n",
    "cs_conv/classifiers/__init__.py": "",
    "cs_conv/classifiers/deep.py": "from cs_conv.values import value\n\ndef twice():\n    return value() * 2\n",
}


def deadline() -> Deadline:
    return Deadline(time.monotonic() + 60, "test")


@pytest.fixture
def package() -> Iterator[Path]:
    """A staged package root the sandbox user can read (as ``grade`` makes one)."""
    folder = Path(tempfile.mkdtemp(prefix="test-student-"))
    os.chmod(folder, 0o755)
    root = folder / "staged"
    for name, text in SOURCES.items():
        (root / name).parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        (root / name).write_text(text)
        (root / name).chmod(0o644)
    yield root
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def student(package: Path, sandbox: Sandbox) -> Iterator[Student]:
    st = Student(sandbox, package, package.parent / "scratch", TEST_LIMITS)
    yield st
    st.close()


def bytecode_of(source: Path) -> Path:
    return Path(importlib.util.cache_from_source(str(source), optimization=""))


def test_each_source_gets_the_bytecode_and_header_python_itself_would_write(package, student, tmp_path):
    assert student.precompile(list(SOURCES), deadline()) == len(SOURCES)
    for name in SOURCES:
        source = package / name
        stored = bytecode_of(source).read_bytes()
        reference = tmp_path / "reference.pyc"
        py_compile.compile(str(source), cfile=str(reference), doraise=True,
                           invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP)
        assert stored[:16] == reference.read_bytes()[:16]  # magic, flags, source mtime and size
        assert marshal.loads(stored[16:]) == compile(source.read_bytes(), str(source), "exec", dont_inherit=True)


def test_a_check_imports_the_stored_bytecode_without_compiling(package, student):
    student.precompile(list(SOURCES), deadline())
    # Bytecode that says something else, under the real source's header: if the check compiled the
    # source itself, twice() would be 2.
    other = compile("VALUE = 21  # from bytecode\n\ndef value():\n    return VALUE\n", "values.py", "exec")
    stored = bytecode_of(package / "cs_conv/values.py")
    stored.write_bytes(stored.read_bytes()[:16] + marshal.dumps(other))
    student.start_check()
    student.import_module("cs_conv.classifiers.deep", deadline())
    assert student.call("cs_conv.classifiers.deep", "twice", [], deadline()).value.value == 42


def test_compiling_runs_nothing_of_the_student(package, student):
    # Run, this module would end the process: compiled, it is just code.
    (package / "cs_conv/values.py").write_text("import os\nos._exit(3)\n")
    assert student.precompile(list(SOURCES), deadline()) == len(SOURCES)
    student.start_check()
    with pytest.raises(StudentFailure, match="exited with code 3 while importing cs_conv.values"):
        student.import_module("cs_conv.values", deadline())


def test_a_file_that_does_not_compile_is_left_to_its_check_which_reports_it(package, student):
    (package / "cs_conv/values.py").write_text("def value(:\n    return 1\n")
    assert student.precompile(list(SOURCES), deadline()) == len(SOURCES) - 1
    assert not bytecode_of(package / "cs_conv/values.py").exists()
    assert bytecode_of(package / "cs_conv/classifiers/deep.py").exists()
    student.start_check()
    with pytest.raises(StudentFailure, match="SyntaxError"):
        student.import_module("cs_conv.classifiers.deep", deadline())


def test_a_source_changed_after_compiling_is_compiled_again_by_its_check(package, student):
    student.precompile(list(SOURCES), deadline())
    (package / "cs_conv/values.py").write_text("VALUE = 12345  # edited, longer\n\ndef value():\n    return VALUE\n")
    student.start_check()
    student.import_module("cs_conv.values", deadline())
    assert student.call("cs_conv.values", "value", [], deadline()).value.value == 12345
