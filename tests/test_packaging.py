"""The kit as a package and a repository: license, the wheel's contents, Cython's directives, the CI workflow."""

import re
import runpy
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import Cython.Build
import pytest
import setuptools
import yaml

from autograder.build import directives

REPO = Path(__file__).resolve().parent.parent
PYPROJECT = (REPO / "pyproject.toml").read_text()


def test_the_license_file_is_the_mit_license_pyproject_declares():
    assert '\nlicense = "MIT"\n' in PYPROJECT and '\nlicense-files = ["LICENSE"]\n' in PYPROJECT
    text = (REPO / "LICENSE").read_text()
    assert text.startswith("MIT License") and "Permission is hereby granted, free of charge" in text


@pytest.mark.slow
def test_an_installed_wheel_carries_its_data_and_no_grader(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md", "LICENSE"):
        shutil.copy(REPO / name, source / name)
    build_products = shutil.ignore_patterns("__pycache__", "*.so", "*.c", "*.html", "cifar-10-*")
    for name in ("cs_conv", "data"):
        shutil.copytree(REPO / name, source / name, ignore=build_products)
    subprocess.run([sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path / "dist")], cwd=source, check=True, capture_output=True)
    [wheel] = (tmp_path / "dist").glob("cs_conv-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "cs_conv/_data/digits.npz" in names and "cs_conv/_data/grace_hopper.jpg" in names
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names)
    assert not [name for name in names if name.startswith(("autograder", "data/", "tests"))]

    # Installed (not editable) and imported from elsewhere, the loaders find the wheel's data.
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, capture_output=True)
    script = ("import cs_conv.data as d; s = d.load_digits(); "
              "print(d.__file__, d.find_data_dir(), s['X_train'].shape, d.load_photo().shape)")
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True,
                          env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    module, data_dir, *_ = proc.stdout.split()
    assert module.startswith(str(target)) and data_dir == str(target / "cs_conv" / "_data")


@pytest.mark.parametrize("debug", [False, True])
def test_setup_py_compiles_with_the_autograders_directives_or_with_the_checks_back_on(monkeypatch, debug):
    passed = {}

    def cythonize(modules, compiler_directives):
        passed.update(compiler_directives)
        return modules

    monkeypatch.setattr(Cython.Build, "cythonize", cythonize)
    monkeypatch.setattr(setuptools, "setup", lambda **options: None)
    monkeypatch.setenv("CS_CONV_DEBUG", "1" if debug else "0")
    runpy.run_path(str(REPO / "setup.py"))
    checks = {name: passed[name] for name in ("boundscheck", "wraparound", "initializedcheck")}
    assert checks == dict.fromkeys(checks, debug)
    assert passed["cdivision"] is not debug and passed["language_level"] == 3
    if not debug:
        assert passed == directives()


def test_ci_pins_its_actions_and_holds_least_privilege():
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "ci.yml").read_text())
    assert workflow["permissions"] == {"contents": "read"}
    for job in workflow["jobs"].values():
        uses = [step for step in job["steps"] if "uses" in step]
        assert uses
        for step in uses:
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"]), step["uses"]
            if step["uses"].startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False
