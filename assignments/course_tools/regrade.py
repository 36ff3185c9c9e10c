"""Incremental regrades: which students ``make grade`` must autograde again, and whose feedback is stale.

A student is autograded again when their submission, the grader or the grading mode changed since
their last successful grading, or when what that grading left (the autograded folder, the
gradebook's submission) is gone; ``--force`` regrades everyone. An unchanged student whose grades
changed in the gradebook since their feedback was written (a person graded the written answers)
gets fresh feedback only. The record is ``verdicts/<assignment>-graded.json``, beside the
autograder's results; deleting it regrades everyone.

Keys are digests:

- ``submission_digest``: every entry of ``submitted/<student>/<assignment>``, walked without
  following a link (``autograder.nofollow``): names as bytes, the type of each entry, and the
  content of each plain file with a single link. A link counts by its target's *name*, other
  refused entries by their size and time, so adding, removing or retargeting one also regrades;
- ``grader_version``: the source of everything that turns a submission into grades and feedback
  (the autograder, the course tools nbgrader runs while grading, ``cs_conv/tasks.py``, the course's
  ``nbgrader_config.py`` and source notebooks), and the versions of nbgrader and Python. Tools that
  only make releases, samples or bundles (``NOT_GRADING``) are left out, so editing them regrades
  nothing;
- ``gradebook_state``: every grade and comment of the student's submission in the gradebook.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import stat
from pathlib import Path

import nbgrader
from autograder import nofollow
from nbgrader.api import Gradebook, MissingEntry

from course_tools.paths import REPO
from course_tools.verdicts import GRADER_SOURCES, source_digest

# Largest file read into a submission's digest; a larger one counts by size and time (the
# autograder refuses files this large anyway).
DIGEST_FILE_BYTES = 256 * 1024 * 1024


def submission_digest(folder: Path) -> str | None:
    """A digest of the submission ``folder``; None when it cannot be opened as a plain folder."""
    digest = hashlib.sha256()
    try:
        root = nofollow.open_root(folder)
    except OSError:
        return None
    try:
        for entry in nofollow.walk(root):
            info = entry.info
            digest.update(os.fsencode(str(entry.relative)) + b"\0" + str(stat.S_IFMT(info.st_mode)).encode())
            if entry.problem is None and stat.S_ISREG(info.st_mode) and info.st_size <= DIGEST_FILE_BYTES:
                try:
                    digest.update(b"\0" + hashlib.sha256(nofollow.read_file(entry, DIGEST_FILE_BYTES)).digest())
                except OSError as error:
                    digest.update(f"\0unreadable {error.errno}".encode())
            elif stat.S_ISLNK(info.st_mode):
                try:
                    digest.update(b"\0" + os.fsencode(os.readlink(entry.name, dir_fd=entry.parent)))
                except OSError as error:
                    digest.update(f"\0unreadable {error.errno}".encode())
            elif not stat.S_ISDIR(info.st_mode):
                digest.update(f"\0{info.st_size} {info.st_mtime_ns} {info.st_ino}".encode())
            digest.update(b"\n")
    except OSError:
        return None
    finally:
        os.close(root)
    return digest.hexdigest()


# Course tools that never run while a submission is graded.
NOT_GRADING = ("assignments/course_tools/notebooks/", "assignments/course_tools/build_notebooks.py",
               "assignments/course_tools/demo.py", "assignments/course_tools/samples.py",
               "assignments/course_tools/gradescope.py", "assignments/course_tools/run_notebooks.py",
               "assignments/course_tools/hostile_files/", "assignments/course_tools/grading.py",
               "assignments/course_tools/regrade.py")


def grader_version(course: Path, assignment: str, execute: bool) -> str:
    """A digest of what turns a submission into grades and feedback, and of the grading mode."""
    digest = hashlib.sha256(f"nbgrader {nbgrader.__version__}; python {platform.python_version()}; "
                            f"execute {bool(execute)}\n".encode())
    digest.update(source_digest(REPO, (*GRADER_SOURCES, "assignments/course_tools/**/*.py",
                                       "assignments/nbgrader_config.py"), skip=NOT_GRADING).encode())
    digest.update(source_digest(course, ("nbgrader_config.py", f"source/{assignment}/*.ipynb")).encode())
    return digest.hexdigest()


def gradebook_state(gradebook: Gradebook, assignment: str, student: str) -> str | None:
    """A digest of the student's grades and comments in the gradebook; None without a submission."""
    try:
        submission = gradebook.find_submission(assignment, student)
    except MissingEntry:
        return None
    rows: list[list] = [[str(submission.timestamp), submission.extension and str(submission.extension)]]
    for notebook in sorted(submission.notebooks, key=lambda nb: nb.name):
        rows.append([notebook.name, notebook.late_submission_penalty, notebook.flagged])
        for grade in sorted(notebook.grades, key=lambda g: g.name):
            rows.append([grade.name, grade.auto_score, grade.manual_score, grade.extra_credit])
        for comment in sorted(notebook.comments, key=lambda c: c.name):
            rows.append([comment.name, comment.auto_comment, comment.manual_comment])
    return hashlib.sha256(json.dumps(rows, default=str).encode()).hexdigest()


def record_path(course: Path, assignment: str) -> Path:
    return course / "verdicts" / f"{assignment}-graded.json"


def load_record(course: Path, assignment: str) -> dict[str, dict]:
    """student -> {"key": submission and grader digest, "feedback": gradebook state its feedback shows}."""
    try:
        record = json.loads(record_path(course, assignment).read_text())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def save_record(course: Path, assignment: str, record: dict[str, dict]) -> None:
    path = record_path(course, assignment)
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_suffix(".tmp")
    scratch.write_text(json.dumps(record, indent=1, sort_keys=True))
    scratch.replace(path)  # a crash mid-write leaves the old record, never half of one
