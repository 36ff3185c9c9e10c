"""autograder/catalog.py: one check per task of ``cs_conv.tasks``, in order, and the selection by name."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from autograder import catalog
from autograder.grade import WITHOUT_EXTENSION
from cs_conv.tasks import TASKS

REPO = Path(__file__).resolve().parent.parent


def test_catalog_has_a_check_per_task_in_table_order_with_its_module_and_number():
    tasks = list(TASKS.values())
    assert [check.function for check in catalog.CATALOG] == [task.tested_as for task in tasks]
    for check, task in zip(catalog.CATALOG, tasks, strict=True):
        assert (check.module, check.task) == (task.module, task.number), task.function
        names = [case.name for case in check.cases]
        assert names and len(names) == len(set(names)), f"{check.function} has no or duplicate case names"
        assert all(":" not in name for name in names)
        assert {case.function for case in check.cases} == {check.function}, "a case's test name is its check's"


def test_a_task_without_cases_or_cases_without_a_task_stop_the_grader(monkeypatch):
    monkeypatch.setitem(catalog.CASES, "helper", ())
    with pytest.raises(RuntimeError, match=r"tasks without cases: \[\]; cases without a task: \['helper'\]"):
        catalog._catalog()
    monkeypatch.delitem(catalog.CASES, "helper")
    monkeypatch.delitem(catalog.CASES, "im2col_cython")
    with pytest.raises(RuntimeError, match=r"tasks without cases: \['im2col_cython'\]"):
        catalog._catalog()


def test_the_build_is_skipped_only_for_modules_that_never_load_the_compiled_kernels():
    """``grade.WITHOUT_EXTENSION`` comes from the table's ``compiled`` flags; importing shows they are true."""
    probe = "import importlib, sys; importlib.import_module(sys.argv[1]); print('cs_conv.im2col_cython' in sys.modules)"
    env = {key: value for key, value in os.environ.items() if key != "CS_CONV_LAYERS"}
    for module in sorted({task.module for task in TASKS.values()}):
        loaded = subprocess.run([sys.executable, "-c", probe, module], capture_output=True, text=True, check=True,
                                cwd=REPO, env=env).stdout.strip()
        assert (loaded == "False") == (module in WITHOUT_EXTENSION), module
    assert WITHOUT_EXTENSION, "the loop layers are graded without a build"


def test_only_selects_by_pattern_and_rejects_unknown_names():
    assert [c.function for c in catalog.select(["conv_*_naive"])] == ["conv_forward_naive", "conv_backward_naive"]
    with pytest.raises(ValueError, match="no check matches"):
        catalog.select(["conv_forward_navie"])
