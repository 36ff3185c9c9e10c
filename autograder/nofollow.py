"""Reading a student's folder without ever following a link.

A submission is hostile in every path component: a folder may be a link to the repository or to
another student's folder, a file may be a hard link to something only root may read, a name may
hold a newline or bytes that are not UTF-8. So nothing here resolves a path through the file
system's names more than one component at a time: each folder is opened with
``O_NOFOLLOW | O_DIRECTORY`` relative to its parent's descriptor, each entry is ``lstat``-ed
relative to that descriptor, and a file is opened with ``O_NOFOLLOW`` and checked again on the
open descriptor (the same inode, still a regular file with a single link) before a byte of it is
read. A link is never followed, whatever it points to: only its name is reported.

Both the autograder's staging (``autograder.submission``) and nbgrader's copy protection
(``course_tools.nofollow_copy``) walk with ``walk`` and judge entries with ``problem``, so the
two can never disagree about what is safe to grade.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import PurePosixPath

from autograder.results import one_line

FOLDER_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: a file swapped for a named pipe between lstat and open must not hang the grader.
FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
SHOWN_CHARS = 160


@dataclass(frozen=True)
class Entry:
    relative: PurePosixPath  # from the folder the walk started in
    info: os.stat_result  # of the entry itself (lstat), never of a link's target
    problem: str | None  # why it must not be copied or entered; None for a plain file or folder
    parent: int  # descriptor of the folder that holds it; open only while the walk is at this entry

    @property
    def name(self) -> str:
        return self.relative.name

    @property
    def is_folder(self) -> bool:
        """A plain folder: one that may be entered."""
        return self.problem is None and stat.S_ISDIR(self.info.st_mode)


def problem(name: str, info: os.stat_result) -> str | None:
    """Why the entry called ``name`` whose ``lstat`` is ``info`` must not be copied; None if it may."""
    try:
        os.fsencode(name).decode("utf-8")
    except UnicodeDecodeError:
        return "its name is not valid UTF-8"
    if not name.isprintable():
        return "its name holds a control character (a newline?)"
    mode = info.st_mode
    if stat.S_ISLNK(mode):
        return "a symbolic link, not a regular file or folder: links are never followed"
    if stat.S_ISDIR(mode):
        return None
    if not stat.S_ISREG(mode):
        return "not a regular file: a named pipe, socket or device"
    if info.st_nlink > 1:
        return (f"has {info.st_nlink} hard links; only a file with a single link is graded "
                "(a hard link can name a file its student may not read)")
    return None


def shown(path: str | os.PathLike[str]) -> str:
    """A student's file name as one printable line of at most ``SHOWN_CHARS`` characters.

    Bytes that are not UTF-8 become ``\\xNN`` and control characters their escapes (``\\n``), so a
    name can neither break a report's lines nor forge one (``x\\nScore: 999 / 999.py``).
    """
    return one_line(os.fsencode(path).decode("utf-8", "backslashreplace"), SHOWN_CHARS)


def open_root(path: str | os.PathLike[str]) -> int:
    """A descriptor of the folder ``path``; OSError (ELOOP, ENOTDIR) when its last component is a
    link or not a folder. The components above it are the caller's, not the student's."""
    return os.open(path, FOLDER_FLAGS)


def walk(folder: int, enter: Callable[[Entry], bool] = lambda entry: True) -> Iterator[Entry]:
    """Every entry under the open folder ``folder``, sorted by name, a folder before its contents.

    Only plain folders for which ``enter(entry)`` is true are entered. One that cannot be opened or
    listed (its permissions, or it was swapped for something else after ``lstat``) is yielded with
    that problem instead. ``folder`` itself is listed at once (OSError if it cannot be), and stays
    the caller's to close.
    """
    return _walk(folder, _entries(folder, PurePosixPath()), enter)


def _walk(folder: int, entries: list[Entry], enter: Callable[[Entry], bool]) -> Iterator[Entry]:
    for entry in entries:
        if not (entry.is_folder and enter(entry)):
            yield entry
            continue
        try:
            child = os.open(entry.name, FOLDER_FLAGS, dir_fd=folder)
        except OSError as error:
            yield replace(entry, problem=f"could not be opened ({error.strerror or error})")
            continue
        try:
            if not _same(os.fstat(child), entry.info):
                raise OSError("it changed while it was being read")
            inside = _entries(child, entry.relative)
        except OSError as error:
            os.close(child)
            yield replace(entry, problem=f"could not be read ({error.strerror or error})")
            continue
        try:
            yield entry
            yield from _walk(child, inside, enter)
        finally:
            os.close(child)


def _entries(folder: int, parent: PurePosixPath) -> list[Entry]:
    """The entries of the open folder ``folder``, sorted by name; one that vanished meanwhile is left out."""
    entries = []
    for name in sorted(os.listdir(folder)):
        try:
            info = os.stat(name, dir_fd=folder, follow_symlinks=False)
        except FileNotFoundError:
            continue
        entries.append(Entry(parent / name, info, problem(name, info), folder))
    return entries


def read_file(entry: Entry, limit: int) -> bytes:
    """Up to ``limit`` bytes of the plain file ``entry`` (see ``walk``); OSError if it cannot be
    opened or is no longer the file that was ``lstat``-ed."""
    handle = os.open(entry.name, FILE_FLAGS, dir_fd=entry.parent)
    with os.fdopen(handle, "rb") as reader:
        info = os.fstat(handle)
        if not _same(info, entry.info) or problem(entry.name, info) is not None:
            raise OSError(f"{shown(entry.relative)} changed while it was being read")
        return reader.read(limit)


def _same(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino, stat.S_IFMT(a.st_mode)) == (b.st_dev, b.st_ino, stat.S_IFMT(b.st_mode))
