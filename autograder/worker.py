"""A long-lived ``autograder serve`` process, driven one submission at a time.

``grade-all`` keeps a few of these, and so does the course's nbgrader pipeline
(``course_tools.verdicts``): the interpreter, the grader's imports, the speed yardsticks and
the expected values it has computed (``autograder.memo``) are paid for once per process, not
once per submission. Each request carries its secret seed over the process's stdin, never on
a command line other users can read. A worker that outlives a submission's time limit, or
dies, says so in that submission's ``Outcome`` and must be replaced (``grade`` returns False).
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPOSITORY = Path(__file__).resolve().parent.parent
GRADER = [sys.executable, "-m", "autograder"]


@dataclass(frozen=True)
class Outcome:
    student: str
    results: dict[str, Any] | None  # the submission's JSON report, when grading worked
    error: str | None


class Worker:
    """One ``<command> serve <options>`` process, started in ``cwd`` (default: the repository)."""

    def __init__(self, command: list[str], options: list[str], scratch: Path, cwd: Path = REPOSITORY,
                 env: dict[str, str] | None = None):
        self.scratch = scratch
        self.errors = tempfile.TemporaryFile()
        self.process = subprocess.Popen([*command, "serve", *options], cwd=cwd, env=env,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.errors,
                                        start_new_session=True)
        self.count = 0

    def alive(self) -> bool:
        return self.process.poll() is None

    def grade(self, student: str, path: Path, timeout: float, seed: int) -> tuple[Outcome, bool]:
        """The submission's outcome, and whether this worker can take another one."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.count += 1
        out = self.scratch / f"{self.count}.json"
        try:
            request = {"path": str(path), "out": str(out), "seed": seed}
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
