"""Registers one pytest marker per notebook task, so ``pytest -m task2_1`` runs that task's tests."""

from cs_conv.tasks import TASKS, marker


def pytest_configure(config):
    for name, task in TASKS.items():
        config.addinivalue_line("markers", f"{marker(name)}: {task}, {name}")
