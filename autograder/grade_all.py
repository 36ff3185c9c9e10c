"""Grade every submission under a folder, a few at a time, into one CSV.

Each worker is a long-lived ``python -m autograder serve`` process (``autograder.worker``)
that grades one submission after another on the run's one secret seed, so the interpreter,
the grader's imports, the speed yardsticks and the expected values are paid for once per
worker, not once per submission. A worker that outlives a submission's time limit, or dies,
is killed and replaced; that submission's row says why and the run goes on. Each worker claims a sandbox user
of its own (``autograder.sandbox.claim_uid``), so a fork bomb filling one user's
process limit cannot stop a neighbour's sandbox from starting.

Submissions are found with ``lstat`` alone: a student folder that is a symbolic link,
or whose way to ``cs_conv`` passes through one (``copy -> ../bob``, a link to the
repository), is refused and never followed, and so is a folder whose name is not
printable UTF-8; the other students are graded as usual.

The CSV has one row per student and test (``student, test, task, score, max_score,
status, output``), then a ``TOTAL`` row per student whose status is ``graded`` or
``error`` (and whose output then gives the reason, ``refused: ...`` for a refused
folder). Student names are the folder names, escaped to one printable line.
"""

from __future__ import annotations

import csv
import json
import os
import queue
import stat
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from autograder import nofollow
from autograder.cases import new_run_seed
from autograder.submission import PACKAGE
from autograder.worker import GRADER, Outcome, Worker

FIELDS = ("student", "test", "task", "score", "max_score", "status", "output")


@dataclass(frozen=True)
class Submission:
    student: str  # the folder's name as one printable line
    path: Path | None  # the folder that holds cs_conv; None when refused
    refused: str | None = None  # why it is not graded, when it is not


def find_submissions(folder: Path) -> list[Submission]:
    """One ``Submission`` per sub-folder (or link) of ``folder``; ``student/<one folder>/cs_conv`` also works.

    Hidden entries and plain files are nobody's submission and are left out.
    """
    found = []
    for name in sorted(os.listdir(folder)):
        info = os.lstat(folder / name)
        if not name.startswith(".") and (stat.S_ISDIR(info.st_mode) or stat.S_ISLNK(info.st_mode)):
            found.append(_submission(folder, name, info))
    return found


def _submission(top: Path, name: str, info: os.stat_result) -> Submission:
    """Where the folder ``top/name`` keeps cs_conv, each component on the way judged by lstat alone."""
    student = nofollow.shown(name)
    entry = top / name
    if nofollow.problem(name, info) is not None:
        return _refused(student, top, entry, info)
    package = _lstat(entry / PACKAGE)
    if package is None:
        candidates, links = [], []
        for child in sorted(os.listdir(entry)):
            child_info = os.lstat(entry / child)
            if stat.S_ISLNK(child_info.st_mode):
                links.append((entry / child, child_info))
            elif stat.S_ISDIR(child_info.st_mode) and _lstat(entry / child / PACKAGE) is not None:
                candidates.append((entry / child, child_info))
        if len(candidates) != 1:
            if not candidates and links:
                return _refused(student, top, *links[0])
            return Submission(student, entry)  # grading then reports that there is no cs_conv/
        entry, child_info = candidates[0]
        if nofollow.problem(entry.name, child_info) is not None:
            return _refused(student, top, entry, child_info)
        package = _lstat(entry / PACKAGE)
    if package is None or not stat.S_ISDIR(package.st_mode):
        return _refused(student, top, entry / PACKAGE, package)
    return Submission(student, entry)


def _refused(student: str, top: Path, path: Path, info: os.stat_result | None) -> Submission:
    """``student`` is not graded because of ``path`` (``info`` its lstat): the reason names both."""
    trouble = (nofollow.problem(path.name, info) if info is not None else None) or "not a folder"
    return Submission(student, None, f"refused: {nofollow.shown(path.relative_to(top))}: {trouble}")


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None


def rows(outcome: Outcome) -> list[dict[str, Any]]:
    table = []
    results = outcome.results or {}
    for test in results.get("tests", []):
        table.append({"student": outcome.student, "test": test["name"], "task": test.get("number", ""),
                      "score": test["score"], "max_score": test["max_score"], "status": test["status"],
                      "output": test["output"]})
    max_score = results.get("extra_data", {}).get("max_score", "")
    table.append({"student": outcome.student, "test": "TOTAL", "task": "",
                  "score": results.get("score", 0.0), "max_score": max_score,
                  "status": "error" if outcome.error else "graded", "output": outcome.error or ""})
    return table


def grade_all(folder: Path, workers: int, csv_path: Path, options: list[str], timeout: float,
              json_dir: Path | None = None, seed: int | None = None) -> list[Outcome]:
    seed = new_run_seed() if seed is None else seed
    submissions = find_submissions(folder)
    # Keyed by position: two folders' escaped names may coincide, their outcomes must not.
    outcomes: dict[int, Outcome] = {}
    todo: queue.Queue[tuple[int, Submission]] = queue.Queue()
    for index, submission in enumerate(submissions):
        if submission.path is None:
            outcomes[index] = Outcome(submission.student, None, submission.refused)
        else:
            todo.put((index, submission))
    done: queue.Queue[tuple[int, Outcome]] = queue.Queue()

    def slot(scratch: Path) -> None:
        worker: Worker | None = None
        try:
            while True:
                try:
                    index, submission = todo.get_nowait()
                except queue.Empty:
                    return
                assert submission.path is not None
                if worker is None:
                    worker = Worker(GRADER, options, scratch)
                outcome, usable = worker.grade(submission.student, submission.path, timeout, seed)
                if not usable:
                    worker.stop()
                    worker = None
                done.put((index, outcome))
        finally:
            if worker is not None:
                worker.stop()

    with tempfile.TemporaryDirectory(prefix="csg-all-") as tmp:
        threads = []
        for k in range(min(workers, max(1, todo.qsize()))):
            scratch = Path(tmp) / f"worker{k}"
            scratch.mkdir()
            threads.append(threading.Thread(target=slot, args=(scratch,), daemon=True))
        for thread in threads:
            thread.start()
        with tqdm(total=len(submissions), initial=len(outcomes), desc="grading", unit="submission") as bar:
            while len(outcomes) < len(submissions):
                try:
                    index, outcome = done.get(timeout=1.0)
                except queue.Empty:
                    if not any(t.is_alive() for t in threads) and done.empty():
                        break
                    continue
                outcomes[index] = outcome
                bar.update(1)
        for thread in threads:
            thread.join()
    ordered = [outcomes.get(index) or Outcome(submission.student, None, "not graded (a worker failed)")
               for index, submission in enumerate(submissions)]
    with open(csv_path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        for outcome in ordered:
            writer.writerows(rows(outcome))
    if json_dir is not None:
        json_dir.mkdir(parents=True, exist_ok=True)
        for outcome in ordered:
            if outcome.results is not None:
                (json_dir / f"{outcome.student}.json").write_text(json.dumps(outcome.results, indent=2))
    return ordered
