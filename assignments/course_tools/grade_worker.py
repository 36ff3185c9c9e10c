"""A grading worker: nbgrader's own autograde and feedback, one student at a time, in a long-lived process.

``course_tools.grading`` runs a few of these in a process pool (``start`` is the initializer,
``grade_one`` the task). Each is nbgrader exactly as ``nbgrader autograde cnn --student S --force``
and ``nbgrader generate_feedback cnn --student S --force`` run it: the course folder's
``nbgrader_config.py``, nbgrader's ``Autograde`` and ``GenerateFeedback`` converters, driven the way
formgrader drives them (``nbgrader.apps.NbGraderAPI``). What a long-lived process saves is the
interpreter, nbgrader's imports and the config, about 3 s per student and command, which is more
than grading a submission costs once its notebooks are not re-run.

Student code never runs in this process: the autograder and the notebook kernels are sandboxed
processes of their own, as under plain ``nbgrader autograde``, which grades every student in one
process too. The worker's own standard streams go to a log file, so nothing a sandboxed process
inherits can write to the pool's channel (a private pipe) or read from it.
"""

from __future__ import annotations

import copy
import logging
import os
import sys
import time
import traceback

from nbgrader.apps import NbGraderAPI
from nbgrader.apps.nbgraderapp import NbGraderApp
from nbgrader.converters import Autograde, GenerateFeedback
from nbgrader.utils import temp_attrs
from traitlets.config import Config

# The per-student log's format: times to the millisecond, so a log shows where a student's time went.
LOG_FORMAT = "%(asctime)s.%(msecs)03d [%(levelname)s] %(message)s"
LOG_DATE = "%H:%M:%S"
_app: NbGraderApp | None = None


def start(course: str, execute: bool, log_file: str, seed: int) -> None:
    """Pool initializer: nbgrader's configuration for ``course``, loaded once; streams to ``log_file``;
    the autograder judges on the run's secret ``seed`` unless the course's configuration fixes one."""
    global _app
    handle = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(handle, 1)
    os.dup2(handle, 2)
    os.close(handle)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115 - lives as long as the process
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
    os.chdir(course)
    app = NbGraderApp()
    app.initialize([])  # reads nbgrader_config.py from the course folder, the working directory
    app.update_config(Config({"GradingMode": {"execute_notebooks": bool(execute)}}))
    if app.config.RunAutograder.get("seed", -1) < 0:
        app.update_config(Config({"RunAutograder": {"seed": seed}}))
    _app = app


def _run(converter: type, student: str, assignment: str, extra: Config | None = None) -> tuple[bool, str, float]:
    """Run one nbgrader converter for one student: (success, log with times, seconds)."""
    assert _app is not None, "start() has not run in this process"
    api = NbGraderAPI(_app.coursedir, parent=_app)
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Collect(logging.INFO)
    handler.setFormatter(logging.Formatter(LOG_FORMAT, LOG_DATE))
    started = time.perf_counter()
    with temp_attrs(api.coursedir, assignment_id=assignment, student_id=student):
        # A copy of the configuration for each run, as a fresh ``nbgrader`` process would load it:
        # nbgrader's converters write their defaults into the configuration they are given
        # (GenerateFeedback sets HTMLExporter's template folders), which would leak into the next run.
        app = converter(coursedir=api.coursedir, parent=api, config=copy.deepcopy(_app.config))
        if extra is not None:
            app.update_config(extra)
        app.force = True
        if converter is Autograde:
            app.create_student = True
        app.log.addHandler(handler)
        try:
            app.start()
            ok = True
        except BaseException:  # noqa: BLE001 - nbgrader signals a failed student by raising; report it
            lines.append(traceback.format_exc())
            ok = False
        finally:
            app.log.removeHandler(handler)
    return ok, "\n".join(lines) + "\n", time.perf_counter() - started


def grade_one(student: str, assignment: str, autograde: bool = True, feedback: bool = True) -> dict:
    """Autograde ``student`` (unless ``autograde`` is false), then write their feedback; return what happened."""
    result: dict = {"student": student, "ok": True, "log": "", "autograde_seconds": 0.0, "feedback_seconds": 0.0}
    if autograde:
        ok, log, seconds = _run(Autograde, student, assignment)
        if not ok and "database is locked" in log:
            # Another worker held the gradebook past sqlite's wait: nothing was half-written (nbgrader
            # commits per step), so grading this student again is safe.
            ok, log, more = _run(Autograde, student, assignment)
            seconds += more
        result.update(ok=ok, log=log, autograde_seconds=seconds)
        if not ok:
            return result
    if feedback:
        # As ``nbgrader generate_feedback`` runs it: the course config's template and steps for feedback.
        ok, log, seconds = _run(GenerateFeedback, student, assignment)
        result.update(ok=ok, feedback_seconds=seconds)
        result["log"] += log
    return result

