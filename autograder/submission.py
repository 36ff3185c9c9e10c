"""Copy a submission's ``cs_conv`` sources into a private folder: the only code that will run.

Only regular ``.py``/``.pyx``/``.pxd``/``.pxi`` files are copied; compiled files
(``.so``, ``.c``) are left behind and rebuilt from source, and notebooks and data
are not needed. The folder is read with ``autograder.nofollow``: no link is ever
followed, neither the submission folder itself, nor ``cs_conv``, nor any folder or
file inside it (a link to the solved ``cs_conv`` would otherwise be graded as the
student's own work), and a file with more than one hard link is never read (it
could be a file only root may read, printed back in feedback). Links, special
files, hard links, names that are not printable UTF-8, and oversized, excess or
deeply nested files are skipped with a one-line note (names escaped, so a name
cannot forge a report line); a missing file is simply missing, and the checks that
need it fail with the import error.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from autograder import nofollow

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
    """Copy ``submission/cs_conv`` sources into ``dest/cs_conv``; ``dest`` must exist and be empty.

    Nothing is graded when the submission folder or its ``cs_conv`` is a link: ``problem`` says so.
    """
    staged = Staged(dest)
    try:
        root = nofollow.open_root(submission)
    except OSError as error:
        staged.problem = (f"the submission folder {nofollow.shown(submission.name)} could not be opened "
                          f"({error.strerror}): is it a symbolic link? Links are never followed")
        return staged
    try:
        package = os.open(PACKAGE, nofollow.FOLDER_FLAGS, dir_fd=root)
    except FileNotFoundError:
        staged.problem = f"the submission has no {PACKAGE}/ folder"
        return staged
    except OSError:
        staged.problem = f"{PACKAGE} in the submission is not a plain folder (a symbolic link or a file?)"
        return staged
    finally:
        os.close(root)
    try:
        _copy_sources(package, staged)
    finally:
        os.close(package)
    return staged


def _copy_sources(package: int, staged: Staged) -> None:
    """Copy the source files under the open ``cs_conv`` folder ``package`` into ``staged.root``."""
    total = 0
    digest = hashlib.sha256()
    target_root = staged.root / PACKAGE
    target_root.mkdir(mode=0o755)

    def enter(folder: nofollow.Entry) -> bool:
        if folder.name == "__pycache__" or folder.name.startswith("."):
            return False
        if len(folder.relative.parts) >= MAX_DEPTH:
            staged.notes.append(f"skipped {_shown(folder)}: folders nest too deeply")
            return False
        return True

    try:
        entries = nofollow.walk(package, enter)
    except OSError as error:
        staged.problem = f"{PACKAGE}/ in the submission could not be read ({error.strerror})"
        return
    for entry in entries:
        regular = stat.S_ISREG(entry.info.st_mode)
        if entry.is_folder or (regular and not entry.name.endswith(SOURCE_SUFFIXES)):
            continue  # folders are entered (or skipped) by enter; other plain files are not needed
        if entry.problem is not None:
            staged.notes.append(f"ignored {_shown(entry)}: {entry.problem}")
            continue
        size = entry.info.st_size
        if size > MAX_FILE_BYTES:
            staged.notes.append(f"ignored {_shown(entry)}: larger than {MAX_FILE_BYTES >> 20} MiB")
            continue
        if len(staged.files) >= MAX_FILES or total + size > MAX_TOTAL_BYTES:
            staged.notes.append(f"ignored {_shown(entry)}: the submission has too many files")
            continue
        try:
            data = nofollow.read_file(entry, MAX_FILE_BYTES)
        except OSError as error:
            staged.notes.append(f"ignored {_shown(entry)}: could not be read ({error.strerror or error})")
            continue
        total += len(data)
        relative = str(entry.relative)
        target = target_root / relative
        target.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        target.write_bytes(data)
        target.chmod(0o644)
        staged.files.append(relative)
        digest.update(relative.encode() + b"\0" + hashlib.sha256(data).digest())
        if len(entry.relative.parts) == 1 and entry.name.endswith(CYTHON_SUFFIXES):
            staged.cython[entry.name] = data
    staged.digest = digest.hexdigest()


def _shown(entry: nofollow.Entry) -> str:
    return nofollow.shown(f"{PACKAGE}/{entry.relative}")
