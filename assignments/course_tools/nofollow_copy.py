"""nbgrader's copy of a submission, made safe: nothing graded came through a link.

``nbgrader autograde`` (and so formgrader's buttons) copies every non-notebook file of
``submitted/<student>/<assignment>/`` into ``autograded/`` with ``shutil.copy``, which follows
links: a ``cs_conv/layers.py`` that is a link to the solved file arrives there as a plain copy of
the solution, and the autograder and the kernel would both grade it. Nothing in nbgrader's own
configuration can stop that copy, so ``RefuseLinks``, the first of
``Autograde.sanitize_preprocessors`` (see ``nbgrader_config.py``), runs after it and before
anything reads the copy: it surveys the submitted folder with ``autograder.nofollow`` (the rules
the autograder's own staging uses) and deletes from the copy whatever came from a symbolic link, a
special file, a file with more than one hard link, or a name that is not printable UTF-8
(nbgrader's copy itself already fails on a named pipe or a socket, for that student alone). A
submitted notebook that is one of those is graded as an empty notebook; a submission whose own
folder is a link (``submitted/alice -> bob``) is refused outright. ``submitted/`` is only ever
read, never changed.

The copy is judged by the submitted path it came from, so a file of ``source/<assignment>/`` that
nbgrader put at a refused path would be deleted too; this course's source folder holds notebooks
only (nbgrader never copies those). ``submitted/`` is the instructor's: students cannot change it
while grading runs.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from autograder import nofollow
from nbformat.notebooknode import NotebookNode
from nbgrader.converters import Autograde
from nbgrader.exchange.default.collect import ExchangeCollect
from nbgrader.preprocessors import NbGraderPreprocessor


class RefusedSubmission(RuntimeError):
    """The submission's own folder is a link (or not a folder): none of it is graded."""


@dataclass
class Survey:
    problem: str | None = None  # why none of the submission may be graded
    refused: dict[PurePosixPath, str] = field(default_factory=dict)  # entry (relative) -> why it is not graded

    def lines(self) -> list[str]:
        """One escaped line per refused entry."""
        return [f"{nofollow.shown(path)}: {why}" for path, why in self.refused.items()]


def survey(base: Path, folder: Path) -> Survey:
    """What of the submission ``folder`` may be graded; ``base`` (nbgrader's ``submitted/``) is trusted.

    Every component of ``folder`` below ``base`` is opened without following links, then every
    entry inside is judged by ``nofollow.problem``; nothing is read but names and ``lstat``.
    """
    relative = folder.relative_to(base)
    handle = os.open(base, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)  # the instructor's: may be a link
    try:
        for part in relative.parts:
            try:
                child = os.open(part, nofollow.FOLDER_FLAGS, dir_fd=handle)
            except OSError as error:
                return Survey(f"{nofollow.shown(relative)} is not graded: {nofollow.shown(part)} is a symbolic "
                              f"link or not a folder ({error.strerror}), and links are never followed")
            os.close(handle)
            handle = child
        try:
            entries = nofollow.walk(handle)
            return Survey(refused={entry.relative: entry.problem for entry in entries if entry.problem is not None})
        except OSError as error:
            return Survey(f"{nofollow.shown(relative)} could not be read ({error.strerror})")
    finally:
        os.close(handle)


def remove_from_copy(copy: Path, refused: dict[PurePosixPath, str]) -> list[PurePosixPath]:
    """Delete what nbgrader copied into ``copy`` from the ``refused`` entries; return what was there.

    Notebooks are left alone: nbgrader never copies them (its writer saves the sanitised notebook),
    and ``RefuseLinks`` empties a refused one instead.
    """
    removed = []
    for relative in refused:
        if relative.name.endswith(".ipynb"):
            continue
        target = copy / relative
        try:
            mode = os.lstat(target).st_mode
        except FileNotFoundError:
            continue
        if stat.S_ISDIR(mode):
            shutil.rmtree(target)
        else:
            target.unlink()
        removed.append(relative)
    return removed


class RefuseLinks(NbGraderPreprocessor):
    """First sanitising step of ``nbgrader autograde``: nothing in the graded copy came through a link."""

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        converter = self.parent.parent if self.parent is not None else None
        if not isinstance(converter, Autograde):
            raise RuntimeError("RefuseLinks must be one of Autograde.sanitize_preprocessors")
        coursedir = converter.coursedir
        info = resources["nbgrader"]
        folder = Path(resources["metadata"]["path"])
        found = survey(Path(coursedir.root) / coursedir.submitted_directory, folder)
        if found.problem is not None:
            raise RefusedSubmission(found.problem)
        copy = Path(coursedir.format_path(coursedir.autograded_directory, info["student"], info["assignment"]))
        removed = remove_from_copy(copy, found.refused)
        first = Path(converter.notebooks[0]).stem == info["notebook"]
        if first or removed:  # once per submission: every notebook's pass surveys it again
            for line in found.lines():
                self.log.warning("Not graded (kept out of autograded/; %s is left as it is): %s", folder, line)
        notebook = PurePosixPath(f"{info['notebook']}.ipynb")
        if notebook in found.refused:
            self.log.warning("%s/%s is graded as an empty notebook: %s", folder, nofollow.shown(notebook),
                             found.refused[notebook])
            nb.cells = []
        return nb, resources


class SafeCollect(ExchangeCollect):
    """``nbgrader collect`` (``c.ExchangeFactory.collect``) that never follows a link out of the exchange.

    nbgrader's own collect copies a student's inbound submission with ``copytree``, which follows
    links: a link to a file only the instructor may read would land in ``submitted/`` as a plain
    copy of it, where nothing could tell it apart from the student's work any more. Here a
    submission is surveyed first; if anything in it is refused (a link, a special file, a file with
    more than one hard link, an odd name), it is copied through a private staging copy without those
    entries, so nbgrader's copy only ever sees plain files. Each refusal is logged.
    """

    def do_copy(self, src, dest, log=None):
        source = Path(src)
        found = survey(source.parent, source)
        if found.problem is None and not found.refused:
            return super().do_copy(src, dest, log)
        if found.problem is not None:
            raise RefusedSubmission(found.problem)
        for line in found.lines():
            self.log.warning("Not collected from %s: %s", nofollow.shown(source), line)
        with tempfile.TemporaryDirectory(prefix="cs-conv-collect-") as staging:
            plain = Path(staging) / source.name
            shutil.copytree(source, plain, symlinks=True, ignore=_refused_in(source, found.refused))
            return super().do_copy(str(plain), dest, log)


def _refused_in(root: Path, refused: dict[PurePosixPath, str]):
    """A ``copytree`` ignore function that leaves out the ``refused`` entries (relative to ``root``)."""
    def ignore(folder: str, names: list[str]) -> set[str]:
        relative = PurePosixPath(os.path.relpath(folder, root))
        return {name for name in names if (relative / name if str(relative) != "." else PurePosixPath(name))
                in refused}
    return ignore
