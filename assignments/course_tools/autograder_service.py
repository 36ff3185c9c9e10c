"""The autograder as the course's nbgrader pipeline calls it: long-lived, one per grader version.

``RunAutograder`` (``course_tools.verdicts``) asks for one submission's results at a time. Each
grading process (a ``make grade`` worker, a plain ``nbgrader autograde``, a formgrader server)
keeps one ``autograder serve`` process (``autograder.worker``) per command line, points table and
version of the grader's source, and hands it one submission after another: the interpreter, the
grader's imports and its speed yardsticks are paid for once, not once per student, and so are the
expected values (``autograder.memo``) wherever students share a seed (``make grade``'s run). An edited grader gets a new
process (the old one is stopped), so a fix judges the next regrade; a process that stalls past
the time limit, or dies, is replaced and that submission's grading fails with the reason.

Student code never runs in these processes: each grades in its own sandboxes, as before.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from autograder.worker import Worker
from cs_conv.tasks import TASKS


class AutograderError(RuntimeError):
    """The autograder itself failed (not the student's code): grading must stop and say why."""


@dataclass
class Service:
    command: list[str]
    worker: Worker
    scratch: Path
    lock: threading.Lock  # one submission at a time


_services: dict[str, Service] = {}
_registry = threading.Lock()


def grade(folder: Path, command: list[str], repo: Path, env: dict[str, str], grader_version: str,
          timeout: float, seed: int, table: dict | None) -> dict:
    """The autograder's JSON results for the submission ``folder``, judged on ``seed``, in the points of
    ``table`` (``--points``) when one is given. ``grader_version`` is a digest of the grader's source."""
    identity = json.dumps([command, str(repo), table, grader_version], sort_keys=True)
    service = _service(hashlib.sha256(identity.encode()).hexdigest(), command, repo, env, table)
    with service.lock:
        outcome, usable = service.worker.grade(folder.name, folder, timeout, seed)
        if not usable:
            _retire(service)
    if outcome.results is None:
        raise AutograderError(f"the autograder failed on {folder}: {outcome.error}")
    if not isinstance(outcome.results.get("tests"), list):
        raise AutograderError(f"the autograder's results for {folder} have no 'tests' list")
    return outcome.results


def _service(key: str, command: list[str], repo: Path, env: dict[str, str], table: dict | None) -> Service:
    with _registry:
        service = _services.get(key)
        if service is not None and service.worker.alive():
            return service
        for old_key, old in list(_services.items()):  # an older grader's, or one that died, once it is idle
            if old.command == command and old.lock.acquire(blocking=False):
                del _services[old_key]
                _stop(old)
        scratch = Path(tempfile.mkdtemp(prefix="cs-conv-autograder-"))
        options = []
        if table is not None:  # the gradebook's cells: grade what they ask for, in their points
            (scratch / "points.json").write_text(json.dumps(table))
            only = [TASKS[function].tested_as for function in table]
            options = ["--points", str(scratch / "points.json"), "--only", ",".join(only)]
        service = Service(command, Worker(command, options, scratch, cwd=repo, env=env), scratch, threading.Lock())
        _services[key] = service
        return service


def _retire(service: Service) -> None:
    with _registry:
        for key, known in list(_services.items()):
            if known is service:
                del _services[key]
    _stop(service)


def _stop(service: Service) -> None:
    service.worker.stop()
    shutil.rmtree(service.scratch, ignore_errors=True)


@atexit.register
def stop_all() -> None:
    """End every autograder process this one started (at exit, so none outlives its grader)."""
    with _registry:
        services = list(_services.values())
        _services.clear()
    for service in services:
        _stop(service)
