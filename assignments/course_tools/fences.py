"""Solution fences: the one parser of ``### BEGIN SOLUTION`` / ``### END SOLUTION``, and what is made from it.

A fence is nbgrader's pair of delimiters, in ``.py`` and ``.pyx`` files alike, around the solution of
one student function (``cs_conv.tasks.TASKS``). From the fences of the solved kit come

- the student's copy (``write_student_copy``, ``student_text``): every fence becomes its stub,
  ``raise NotImplementedError("Notebook 02, task 2.1: conv_forward_naive")``, or
  ``pass  # YOUR CODE HERE (Notebook 04, task 4.1: im2col_kernel)`` inside a ``nogil`` function,
  which cannot raise; everything outside the fences (signature, docstring, shape checks) is kept;
- the sample students' copies (``student_text`` with ``unfinished``): only some fences stubbed;
- the leak scan's solution text (``solution_lines``);
- the files that hold tasks (``fenced_files``).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from cs_conv.tasks import TASKS

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
SOURCE_SUFFIXES = (".py", ".pyx")
_DEF = re.compile(r"^(\s*)(?:async\s+)?(?:c?p?def|cdef)\b[^(]*?\b(\w+)\s*\(")
# Compiled or generated files a student copy must never carry.
_SKIPPED_SUFFIXES = {".so", ".pyd", ".c", ".html", ".pyc"}


class FenceError(ValueError):
    """A fence that is unbalanced, nested, or outside a registered student function."""


@dataclass(frozen=True)
class Fence:
    """The solution of ``function``: from its BEGIN line ``begin`` to its END line ``end`` (0-based)."""

    function: str
    nogil: bool  # the function runs without the GIL, so its stub cannot raise
    begin: int
    end: int


def source_files(package: Path) -> list[Path]:
    """The ``.py`` and ``.pyx`` files of ``package``, the only ones that hold fences."""
    return sorted(path for path in Path(package).rglob("*")
                  if path.suffix in SOURCE_SUFFIXES and "__pycache__" not in path.parts)


def find_fences(source: str, path: str = "<source>") -> list[Fence]:
    """Every fence of ``source``, in order; ``FenceError`` (naming ``path`` and the line) if one is malformed."""
    lines = source.splitlines()
    fences: list[Fence] = []
    begin_at: int | None = None
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith(BEGIN):
            if begin_at is not None:
                raise FenceError(f"{path}:{index + 1}: fence opened inside the fence of line {begin_at + 1}")
            begin_at = index
        elif stripped.startswith(END):
            if begin_at is None:
                raise FenceError(f"{path}:{index + 1}: END SOLUTION without a BEGIN")
            function, nogil = _enclosing_function(lines, begin_at, path)
            fences.append(Fence(function, nogil, begin_at, index))
            begin_at = None
    if begin_at is not None:
        raise FenceError(f"{path}:{begin_at + 1}: BEGIN SOLUTION is never closed")
    return fences


def _enclosing_function(lines: list[str], index: int, path: str) -> tuple[str, bool]:
    """Name of the function whose body holds line ``index``, and whether it is ``nogil``."""
    indent = len(lines[index]) - len(lines[index].lstrip())
    for k in range(index - 1, -1, -1):
        match = _DEF.match(lines[k])
        if match and len(match.group(1)) < indent:
            signature_end = k
            while not lines[signature_end].rstrip().endswith(":"):
                signature_end += 1
            signature = " ".join(lines[k:signature_end + 1])
            return match.group(2), "nogil" in signature
    raise FenceError(f"{path}:{index + 1}: solution fence is not inside a function")


def _stub(fence: Fence, line: str, path: str) -> str:
    """The line that stands for ``fence`` in a student's copy, indented as the fence's BEGIN ``line``."""
    if fence.function not in TASKS:
        raise FenceError(f"{path}:{fence.begin + 1}: {fence.function} has a solution fence but no entry in TASKS")
    label = f"{TASKS[fence.function].label}: {fence.function}"
    indent = line[: len(line) - len(line.lstrip())]
    stub = f"pass  # YOUR CODE HERE ({label})" if fence.nogil else f'raise NotImplementedError("{label}")'
    return f"{indent}{stub}\n"


def student_text(source: str, path: str = "<source>", unfinished: Collection[str] | None = None) -> str:
    """``source`` as a student has it: the fence of every function in ``unfinished`` (default: every fence)
    becomes its stub; the other fences keep their solution and lose their delimiter lines."""
    lines = source.splitlines(keepends=True)
    out = []
    start = 0
    for fence in find_fences(source, path):
        out += lines[start:fence.begin]
        if unfinished is None or fence.function in unfinished:
            out.append(_stub(fence, lines[fence.begin], path))
        else:
            out += lines[fence.begin + 1:fence.end]
        start = fence.end + 1
    out += lines[start:]
    return "".join(out)


def solution_lines(package: Path) -> set[str]:
    """Stripped, non-blank lines inside the fences of ``package`` that never appear outside one."""
    inside, outside = set(), set()
    for path in source_files(package):
        text = path.read_text()
        fences = find_fences(text, str(path))
        solution = {index for fence in fences for index in range(fence.begin + 1, fence.end)}
        delimiters = {index for fence in fences for index in (fence.begin, fence.end)}
        for index, line in enumerate(line.strip() for line in text.splitlines()):
            if line and index not in delimiters:
                (inside if index in solution else outside).add(line)
    return inside - outside


def fenced_files(package: Path) -> list[Path]:
    """The source files of ``package`` that hold at least one fence (a student task)."""
    return [path for path in source_files(package) if find_fences(path.read_text(), str(path))]


def write_student_copy(package: Path, dest: Path) -> list[Path]:
    """Copy the package at ``package`` to ``dest`` with every fence stubbed.

    Source files (``.py``, ``.pyx``) are stubbed, other files copied as they are;
    compiled and generated files are left out. Returns the files written.
    """
    package, dest = Path(package), Path(dest)
    if dest.exists():
        shutil.rmtree(dest)
    written = []
    for source in sorted(package.rglob("*")):
        relative = source.relative_to(package)
        if source.is_dir() or "__pycache__" in relative.parts or source.suffix in _SKIPPED_SUFFIXES:
            continue
        target = dest / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.suffix in SOURCE_SUFFIXES:
            target.write_text(student_text(source.read_text(), str(source)))
        else:
            shutil.copy2(source, target)
        written.append(target)
    return written
