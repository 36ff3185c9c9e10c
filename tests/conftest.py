"""The suite's shared set-up: one pytest marker per notebook task (``pytest -m task2_1`` runs that
task's tests), and the autograder tests' fixtures.

The build cache is one folder for the whole session, so the solved and blank ``.pyx``
are each compiled once, cold, by the first test that needs them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from autograder_helpers import SOLVED, TEST_LIMITS, Patch, apply_patches, copy_solved
from course_tools.fences import write_student_copy

from autograder.grade import Settings, grade
from autograder.limits import Limits
from autograder.results import Report
from autograder.sandbox import Sandbox, default_identity
from cs_conv.tasks import TASKS


def pytest_configure(config):
    for task in TASKS.values():
        config.addinivalue_line("markers", f"task{task.number.replace('.', '_')}: {task.label}, {task.function}")


@pytest.fixture(scope="session")
def grader_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("grader-cache")


@pytest.fixture(scope="session")
def sandbox() -> Sandbox:
    return Sandbox(TEST_LIMITS, default_identity())


@pytest.fixture(scope="session")
def solved_submission(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_solved(tmp_path_factory.mktemp("solved"))


@pytest.fixture(scope="session")
def blank_submission(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("blank")
    write_student_copy(SOLVED, folder / "cs_conv")
    return folder


@pytest.fixture(scope="session")
def grade_with(grader_cache: Path, sandbox: Sandbox) -> Callable[..., Report]:
    """``grade_with(path, only=[...], limits=...)``: grade with the session's cache and sandbox."""
    def run(path: Path, only: list[str] | None = None, limits: Limits = TEST_LIMITS,
            uid: int | None = None) -> Report:
        box = sandbox if uid is None and limits == TEST_LIMITS else Sandbox(limits, default_identity(uid))
        return grade(path, Settings(limits=limits, cache_dir=grader_cache, only=only, uid=uid), sandbox=box)
    return run


@pytest.fixture
def make_submission(tmp_path: Path) -> Callable[[list[Patch]], Path]:
    """A fresh copy of the solved submission with ``patches`` applied."""
    def make(patches: list[Patch]) -> Path:
        return apply_patches(copy_solved(tmp_path / "submission"), patches)
    return make
