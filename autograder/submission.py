"""Copy a submission's ``cs_conv`` sources into a private folder: the only code that will run.

Only regular ``.py``/``.pyx``/``.pxd``/``.pxi`` files are copied; compiled files
(``.so``, ``.c``) are left behind and rebuilt from source, and notebooks and data
are not needed. Symbolic links are never followed (a link to the solved
``cs_conv`` would otherwise be copied in as the student's own work), and files
are opened with ``O_NOFOLLOW`` so one cannot be swapped for a link mid-copy.
Oversized, excess or deeply nested files are skipped with a note; a missing
file is simply missing, and the checks that need it fail with the import error.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE = "cs_conv"
SOURCE_SUFFIXES = (".py", ".pyx", ".pxd", ".pxi")
CYTHON_SUFFIXES = (".pyx", ".pxd", ".pxi")
MAX_FILES = 200
MAX_FILE_BYTES = 2 << 20
MAX_TOTAL_BYTES = 16 << 20
MAX_DEPTH = 4


@dataclass
class Staged:
    root: Path  # holds cs_conv/
    files: list[str] = field(default_factory=list)  # relative to cs_conv/
    notes: list[str] = field(default_factory=list)
    cython: dict[str, bytes] = field(default_factory=dict)  # top-level .pyx/.pxd/.pxi by name
    digest: str = ""
    problem: str | None = None  # set when there is nothing to grade


def stage(submission: Path, dest: Path) -> Staged:
    """Copy ``submission/cs_conv`` sources into ``dest/cs_conv``; ``dest`` must exist and be empty."""
    staged = Staged(dest)
    source = submission / PACKAGE
    try:
        info = os.lstat(source)
    except FileNotFoundError:
        staged.problem = f"the submission has no {PACKAGE}/ folder"
        return staged
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        staged.problem = f"{PACKAGE} in the submission is not a plain folder (a link or a file?)"
        return staged
    total = 0
    digest = hashlib.sha256()
    target_root = dest / PACKAGE
    target_root.mkdir(mode=0o755)
    for folder, dirs, files in os.walk(source, followlinks=False):
        relative_folder = Path(folder).relative_to(source)
        depth = len(relative_folder.parts)
        dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.startswith("."))
        if depth >= MAX_DEPTH:
            staged.notes.append(f"skipped {PACKAGE}/{relative_folder}: folders nest too deeply")
            dirs[:] = []
            continue
        for name in sorted(files):
            relative = relative_folder / name
            path = Path(folder) / name
            if not name.endswith(SOURCE_SUFFIXES):
                continue
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode) or not stat.S_ISREG(info.st_mode):
                staged.notes.append(f"ignored {PACKAGE}/{relative}: not a regular file (a link?)")
                continue
            if info.st_size > MAX_FILE_BYTES:
                staged.notes.append(f"ignored {PACKAGE}/{relative}: larger than {MAX_FILE_BYTES >> 20} MiB")
                continue
            if len(staged.files) >= MAX_FILES or total + info.st_size > MAX_TOTAL_BYTES:
                staged.notes.append(f"ignored {PACKAGE}/{relative}: the submission has too many files")
                continue
            data = _read_no_follow(path)
            if data is None:
                staged.notes.append(f"ignored {PACKAGE}/{relative}: could not be read")
                continue
            total += len(data)
            target = target_root / relative
            target.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
            target.write_bytes(data)
            target.chmod(0o644)
            staged.files.append(str(relative))
            digest.update(str(relative).encode() + b"\0" + hashlib.sha256(data).digest())
            if depth == 0 and name.endswith(CYTHON_SUFFIXES):
                staged.cython[name] = data
    staged.digest = digest.hexdigest()
    return staged


def _read_no_follow(path: Path) -> bytes | None:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        return handle.read(MAX_FILE_BYTES + 1)[:MAX_FILE_BYTES]
