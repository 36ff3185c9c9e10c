"""Grade every submission in a course folder through nbgrader, then write feedback and CSVs.

    python -m course_tools.grading [--course DIR]

Steps, in order (``make grade`` runs them on ``assignments/``):

1. survey ``submitted/<student>/cnn/`` and list what will not be graded: a student folder that is a
   symbolic link is refused, and links, special files and files with more than one hard link inside
   are never graded. Nothing under ``submitted/`` is changed; the protection itself is
   ``course_tools.nofollow_copy.RefuseLinks``, in nbgrader's own pipeline, so that plain
   ``nbgrader autograde`` and formgrader are just as safe;
2. ``nbgrader autograde cnn --force`` for each student not refused: each notebook runs in a jailed
   kernel and every grade cell gets the sandboxed autograder's verdict (see ``nbgrader_config.py``);
3. ``nbgrader generate_feedback cnn --force``: HTML with the verdict messages;
4. ``exports/grades.csv`` (``nbgrader export``), ``exports/tests.csv`` (one row per student and
   autograder test) and ``exports/notebooks.csv`` (one row per student and notebook);
5. a table of scores per student and notebook on stdout.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sqlite3
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from course_tools.nofollow_copy import Survey, survey
from course_tools.release import ASSIGNMENT, COURSE, ReleaseError, nbgrader
from course_tools.verdicts import results_folder


@dataclass
class NotebookScore:
    student: str
    notebook: str
    auto: float
    auto_max: float
    manual: float | None  # None while a person has not graded the written answers
    manual_max: float


def survey_submissions(course: Path, who: list[str], assignment: str = ASSIGNMENT) -> dict[str, Survey]:
    """What of each student's submission ``RefuseLinks`` will keep out of grading; reads names only."""
    submitted = course / "submitted"
    return {student: survey(submitted, submitted / student / assignment) for student in who}


def students(course: Path, assignment: str = ASSIGNMENT) -> list[str]:
    """Every student with a ``submitted/<student>/<assignment>`` entry (a link too: it is refused later)."""
    submitted = course / "submitted"
    if not submitted.is_dir():
        return []
    return sorted(name for name in os.listdir(submitted) if os.path.lexists(submitted / name / assignment))


def notebook_scores(course: Path, assignment: str = ASSIGNMENT) -> list[NotebookScore]:
    """Autograded and hand-graded points of every student's every notebook, from the gradebook."""
    rows = []
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for student in students(course, assignment):
            try:
                submission = gradebook.find_submission(assignment, student)
            except MissingEntry:
                continue
            for notebook in sorted(submission.notebooks, key=lambda nb: nb.name):
                written = [grade for grade in notebook.grades if grade.cell_type == "markdown"]
                pending = any(grade.auto_score is None and grade.manual_score is None for grade in written)
                rows.append(NotebookScore(
                    student, notebook.name, float(notebook.code_score), float(notebook.max_code_score),
                    None if pending else float(notebook.written_score), float(notebook.max_written_score)))
    return rows


def write_exports(course: Path, assignment: str = ASSIGNMENT) -> dict[str, Path]:
    """grades.csv (nbgrader's), tests.csv and notebooks.csv in ``course/exports``."""
    exports = course / "exports"
    exports.mkdir(exist_ok=True)
    nbgrader(course, "export", "--to", str(exports / "grades.csv"))
    with open(exports / "tests.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "test", "task", "score", "max_score", "status"])
        for path in sorted((results_folder(f"sqlite:///{course / 'gradebook.db'}") / assignment).glob("*.json")):
            for test in json.loads(path.read_text())["tests"]:
                extra = test.get("extra_data") or {}
                writer.writerow([path.stem, test.get("name"), extra.get("task", test.get("number", "")),
                                 test.get("score"), test.get("max_score"), test.get("status")])
    with open(exports / "notebooks.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "notebook", "autograded", "autograded_max", "written", "written_max"])
        for row in notebook_scores(course, assignment):
            writer.writerow([row.student, row.notebook, row.auto, row.auto_max,
                             "" if row.manual is None else row.manual, row.manual_max])
    return {name: exports / f"{name}.csv" for name in ("grades", "tests", "notebooks")}


def table(rows: list[NotebookScore]) -> str:
    """Students down, notebooks across: autograded points / maximum, and the written answers' state."""
    notebooks = sorted({row.notebook for row in rows})
    by_student: dict[str, dict[str, NotebookScore]] = {}
    for row in rows:
        by_student.setdefault(row.student, {})[row.notebook] = row
    width = max([len("student")] + [len(s) for s in by_student])
    header = f"{'student':<{width}}  " + "  ".join(f"{nb[:14]:>14}" for nb in notebooks) + "    autograded   written"
    lines = [header, "-" * len(header)]
    for student, cells in sorted(by_student.items()):
        parts, auto, auto_max, written, written_max, pending = [], 0.0, 0.0, 0.0, 0.0, False
        for nb in notebooks:
            row = cells.get(nb)
            if row is None:
                parts.append(f"{'-':>14}")
                continue
            parts.append(f"{row.auto:>7.2f}/{row.auto_max:<6g}")
            auto, auto_max, written_max = auto + row.auto, auto_max + row.auto_max, written_max + row.manual_max
            if row.manual is None:
                pending = True
            else:
                written += row.manual
        manual = f"pending/{written_max:g}" if pending else f"{written:g}/{written_max:g}"
        lines.append(f"{student:<{width}}  " + "  ".join(parts) + f"   {auto:>7.2f}/{auto_max:<5g} {manual:>9}")
    return "\n".join(lines)


def use_wal(gradebook: Path) -> None:
    """Write-ahead logging: readers never block the writer, so graders can share the sqlite file."""
    with sqlite3.connect(gradebook) as db:
        db.execute("PRAGMA journal_mode=WAL")


def autograde_all(course: Path, who: list[str], assignment: str, workers: int, logs: Path) -> list[str]:
    """``nbgrader autograde`` for each student, ``workers`` at a time; return the failures.

    One nbgrader process per student: each runs the autograder on its submission and then its
    notebooks' kernels, so two of them keep two cores busy. They share the gradebook (in WAL mode)
    and a cache of compiled extensions (identical .pyx files are compiled once).
    """
    use_wal(course / "gradebook.db")

    def one(student: str) -> str | None:
        log = logs / f"autograde-{student}.log"
        try:
            proc = nbgrader(course, "autograde", assignment, "--force", "--student", student)
            log.write_text(proc.stderr)
            return None
        except ReleaseError as error:
            log.write_text(error.log)
            return f"{student}: {error}"
        except Exception as error:  # noqa: BLE001 - one student's trouble must not stop the others
            log.write_text(f"{type(error).__name__}: {error}\n")
            return f"{student}: {type(error).__name__}: {error}"

    with tempfile.TemporaryDirectory(prefix="cs-conv-builds-") as cache:
        os.environ["CS_CONV_BUILD_CACHE"] = cache
        try:
            with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
                results = list(pool.map(one, who))
        finally:
            os.environ.pop("CS_CONV_BUILD_CACHE", None)
    (logs / "autograde.log").write_text("\n".join(
        (logs / f"autograde-{student}.log").read_text() for student in who))
    return [failure for failure in results if failure]


def grade(course: Path = COURSE, assignment: str = ASSIGNMENT, log=print, workers: int | None = None) -> dict:
    """Autograde, feedback and exports for every submission; return a summary."""
    course = Path(course).resolve()
    if not (course / "gradebook.db").exists():
        raise ReleaseError(f"{course} has no gradebook: make the release first (make release)")
    who = students(course, assignment)
    if not who:
        raise ReleaseError(f"nothing to grade: {course / 'submitted'} has no <student>/{assignment}/ folder")
    surveys = survey_submissions(course, who, assignment)
    refused = [f"{student}: {found.problem}" for student, found in surveys.items() if found.problem]
    for student, found in surveys.items():
        for line in found.lines():
            log(f"not graded in {student}'s submission (submitted/ is left as it is): {line}")
    for line in refused:
        log(f"refused: {line}")
    logs = course / "logs"
    logs.mkdir(exist_ok=True)
    start = time.perf_counter()
    graded = [student for student in who if surveys[student].problem is None]
    failures = refused + autograde_all(course, graded, assignment, workers or os.cpu_count() or 1, logs)
    autograde_seconds = time.perf_counter() - start
    proc = nbgrader(course, "generate_feedback", assignment, "--force")
    (logs / "feedback.log").write_text(proc.stderr)
    exports = write_exports(course, assignment)
    rows = notebook_scores(course, assignment)
    return {"students": who, "rows": rows, "exports": exports, "feedback": course / "feedback",
            "autograde_seconds": autograde_seconds, "failures": failures,
            "not_graded": {student: found.lines() for student, found in surveys.items() if found.refused},
            "log": logs / "autograde.log"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--course", type=Path, default=COURSE, help="the nbgrader course folder")
    parser.add_argument("--workers", type=int, default=None, help="students graded at once (default: CPUs)")
    args = parser.parse_args(argv)
    try:
        summary = grade(args.course, workers=args.workers)
    except ReleaseError as error:
        print(f"grading failed: {error}", file=sys.stderr)
        return 1
    print(table(summary["rows"]))
    print(f"\nautograded {len(summary['students'])} submission(s) in {summary['autograde_seconds']:.0f} s")
    print(f"feedback:  {summary['feedback']}/<student>/{ASSIGNMENT}/*.html")
    for name, path in summary["exports"].items():
        print(f"{name + '.csv':14s} {path}")
    print(f"nbgrader log: {summary['log']}")
    for failure in summary["failures"]:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if summary["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
