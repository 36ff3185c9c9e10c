"""Turn the solved ``cs_conv`` into the student's copy: every solution fence becomes a stub.

A fence is the nbgrader pair ``### BEGIN SOLUTION`` / ``### END SOLUTION``, in ``.py``
and ``.pyx`` files alike. The lines between them are replaced by

- ``raise NotImplementedError("Notebook 02, task 2.1: conv_forward_naive")``, or
- ``pass  # YOUR CODE HERE (Notebook 04, task 4.1: im2col_kernel)`` inside a ``nogil``
  function, which cannot raise,

where the task comes from ``cs_conv.tasks.TASKS`` for the function the fence sits in.
Everything outside the fences (signature, docstring, shape checks) is kept.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from cs_conv.tasks import TASKS

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
_DEF = re.compile(r"^(\s*)(?:async\s+)?(?:c?p?def|cdef)\b[^(]*?\b(\w+)\s*\(")
# Compiled or generated files a student copy must never carry.
_SKIPPED_SUFFIXES = {".so", ".pyd", ".c", ".html", ".pyc"}


class FenceError(ValueError):
    """A fence that is unbalanced, nested, or outside a registered student function."""


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


def stub_text(source: str, path: str = "<source>") -> str:
    """Return ``source`` with every solution fence replaced by its stub."""
    lines = source.splitlines(keepends=True)
    out: list[str] = []
    begin_at: int | None = None
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith(BEGIN):
            if begin_at is not None:
                raise FenceError(f"{path}:{index + 1}: fence opened inside the fence of line {begin_at + 1}")
            begin_at = index
            name, nogil = _enclosing_function(lines, index, path)
            if name not in TASKS:
                raise FenceError(f"{path}:{index + 1}: {name} has a solution fence but no entry in TASKS")
            label = f"{TASKS[name]}: {name}"
            indent = line[: len(line) - len(line.lstrip())]
            stub = f"pass  # YOUR CODE HERE ({label})" if nogil else f'raise NotImplementedError("{label}")'
            out.append(f"{indent}{stub}\n")
        elif stripped.startswith(END):
            if begin_at is None:
                raise FenceError(f"{path}:{index + 1}: END SOLUTION without a BEGIN")
            begin_at = None
        elif begin_at is None:
            out.append(line)
    if begin_at is not None:
        raise FenceError(f"{path}:{begin_at + 1}: BEGIN SOLUTION is never closed")
    return "".join(out)


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
        if source.suffix in {".py", ".pyx"}:
            target.write_text(stub_text(source.read_text(), str(source)))
        else:
            shutil.copy2(source, target)
        written.append(target)
    return written
