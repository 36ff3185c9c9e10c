"""Grade every submission under a folder, a few at a time, into one CSV.

Each worker is a long-lived ``python -m autograder serve`` process that grades one
submission after another, so the interpreter, the grader's imports and the speed
yardsticks are paid for once per worker, not once per submission. A worker that
outlives a submission's time limit, or dies, is killed and replaced; that
submission's row says why and the run goes on. Each worker claims a sandbox user
of its own (``autograder.sandbox.claim_uid``), so a fork bomb filling one user's
process limit cannot stop a neighbour's sandbox from starting.

The CSV has one row per student and test (``student, test, task, score, max_score,
status, output``), then a ``TOTAL`` row per student whose status is ``graded`` or
``error`` (and whose output then gives the reason).
"""

from __future__ import annotations

import csv
import json
import os
import queue
import selectors
import signal
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from autograder.cases import new_run_seed
from autograder.submission import PACKAGE

REPOSITORY = Path(__file__).resolve().parent.parent
FIELDS = ("student", "test", "task", "score", "max_score", "status", "output")


@dataclass(frozen=True)
class Outcome:
    student: str
    results: dict[str, Any] | None  # the submission's JSON report, when grading worked
    error: str | None


def find_submissions(folder: Path) -> list[tuple[str, Path]]:
    """``(student, submission folder)`` for each sub-folder; ``student/<one folder>/cs_conv`` also works."""
    found = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".") or not entry.is_dir():
            continue
        path = entry
        if not (entry / PACKAGE).exists():
            nested = [d for d in sorted(entry.iterdir()) if d.is_dir() and (d / PACKAGE).exists()]
            if len(nested) == 1:
                path = nested[0]
        found.append((entry.name, path))
    return found


class Worker:
    """One ``python -m autograder serve`` process."""

    def __init__(self, options: list[str], scratch: Path, seed: int):
        self.scratch = scratch
        self.seed = seed  # sent with each request, never on a command line that other users can read
        self.errors = tempfile.TemporaryFile()
        self.process = subprocess.Popen([sys.executable, "-m", "autograder", "serve", *options], cwd=REPOSITORY,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.errors,
                                        start_new_session=True)
        self.count = 0

    def grade(self, student: str, path: Path, timeout: float) -> tuple[Outcome, bool]:
        """The submission's outcome, and whether this worker can take another one."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.count += 1
        out = self.scratch / f"{self.count}.json"
        try:
            request = {"path": str(path), "out": str(out), "seed": self.seed}
            self.process.stdin.write(json.dumps(request).encode() + b"\n")
            self.process.stdin.flush()
        except OSError:
            return Outcome(student, None, f"the grading process died: {self._errors()}"), False
        line = self._answer(timeout)
        if line is None:
            return Outcome(student, None, f"grading took longer than {timeout:g} s and was stopped"), False
        if not line:
            return Outcome(student, None, f"the grading process died: {self._errors()}"), False
        answer = json.loads(line)
        if "error" in answer:
            return Outcome(student, None, f"the grader failed: {answer['error']}"), True
        results = json.loads(out.read_text())
        out.unlink()
        return Outcome(student, results, results.get("extra_data", {}).get("grader_error")), True

    def _answer(self, timeout: float) -> bytes | None:
        """The worker's answer line; None on a time-out, b"" if it died."""
        assert self.process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            if not selector.select(timeout):
                return None
        return self.process.stdout.readline()

    def _errors(self) -> str:
        self.stop()
        self.errors.seek(0)
        tail = self.errors.read().decode(errors="replace").strip().splitlines()[-3:]
        return " | ".join(tail) or f"exit {self.process.returncode}"

    def stop(self) -> None:
        if self.process.poll() is None:
            if self.process.stdin is not None:
                try:
                    self.process.stdin.close()
                except OSError:
                    pass
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)  # its sandboxes go with it (their supervisors' PDEATHSIG)
            self.process.wait()


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
    todo: queue.Queue[tuple[str, Path]] = queue.Queue()
    for item in submissions:
        todo.put(item)
    done: queue.Queue[Outcome] = queue.Queue()

    def slot(scratch: Path) -> None:
        worker: Worker | None = None
        try:
            while True:
                try:
                    student, path = todo.get_nowait()
                except queue.Empty:
                    return
                if worker is None:
                    worker = Worker(options, scratch, seed)
                outcome, usable = worker.grade(student, path, timeout)
                if not usable:
                    worker.stop()
                    worker = None
                done.put(outcome)
        finally:
            if worker is not None:
                worker.stop()

    outcomes: dict[str, Outcome] = {}
    with tempfile.TemporaryDirectory(prefix="csg-all-") as tmp:
        threads = []
        for k in range(min(workers, max(1, len(submissions)))):
            scratch = Path(tmp) / f"worker{k}"
            scratch.mkdir()
            threads.append(threading.Thread(target=slot, args=(scratch,), daemon=True))
        for thread in threads:
            thread.start()
        with tqdm(total=len(submissions), desc="grading", unit="submission") as bar:
            while len(outcomes) < len(submissions):
                try:
                    outcome = done.get(timeout=1.0)
                except queue.Empty:
                    if not any(t.is_alive() for t in threads) and done.empty():
                        break
                    continue
                outcomes[outcome.student] = outcome
                bar.update(1)
        for thread in threads:
            thread.join()
    ordered = [outcomes.get(student) or Outcome(student, None, "not graded (a worker failed)")
               for student, _ in submissions]
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
