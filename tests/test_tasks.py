"""The table of tasks (``cs_conv.tasks``): plain data anyone can read, numbered as the notebooks are."""

import ast
import importlib.util
import sys
from itertools import groupby
from pathlib import Path

from cs_conv.tasks import TASKS

PACKAGE = Path(__file__).resolve().parent.parent / "cs_conv"
TABLE = PACKAGE / "tasks.py"


def imports(path: Path) -> set[str]:
    """The modules the Python file at ``path`` imports."""
    return {node.module if isinstance(node, ast.ImportFrom) else alias.name
            for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in node.names}


def test_the_table_is_plain_data_that_loads_without_the_kit():
    # The grader imports cs_conv.tasks (the Gradescope bundle carries it and the package's __init__.py):
    # neither may import the rest of the kit.
    assert imports(TABLE) <= {"__future__", "dataclasses"}, imports(TABLE)
    assert imports(PACKAGE / "__init__.py") == set()
    spec = importlib.util.spec_from_file_location("a_copy_of_the_table", TABLE)
    assert spec is not None and spec.loader is not None
    table = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = table  # dataclasses looks its module up while making the class
    try:
        spec.loader.exec_module(table)
    finally:
        del sys.modules[spec.name]
    assert [(t.function, t.module, t.label, t.tested_as) for t in table.TASKS.values()] == [
        (t.function, t.module, t.label, t.tested_as) for t in TASKS.values()]


def test_tasks_are_numbered_in_notebook_order_from_one():
    notebooks = [notebook for notebook, _ in groupby(task.notebook for task in TASKS.values())]
    assert notebooks == sorted(set(notebooks)), "a notebook's tasks are together, notebooks in order"
    for notebook, tasks in groupby(TASKS.values(), key=lambda task: task.notebook):
        numbers = [task.number for task in tasks]
        assert numbers == [f"{int(notebook[:2])}.{k}" for k in range(1, len(numbers) + 1)], notebook


def test_labels_and_test_names_tell_tasks_apart():
    tasks = list(TASKS.values())
    for attribute in ("label", "tested_as"):
        values = [getattr(task, attribute) for task in tasks]
        assert len(set(values)) == len(values), attribute
    conv = TASKS["conv_forward_naive"]
    assert (conv.label, conv.tested_as) == ("Notebook 02, task 2.1", "conv_forward_naive")
    assert TASKS["col2im_kernel"].tested_as == "col2im_cython"
