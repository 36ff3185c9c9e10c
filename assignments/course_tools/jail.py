"""Start commands in the jail of ``kernel_jail.py``, and find out how strong a jail this machine allows.

``detect_jail`` tries, once per process, the strongest confinement first (namespaces as ``nobody``)
and keeps the first under which Python with ipykernel starts. ``jail_spec`` lists the only host paths
the jail's fresh root holds (an allow-list: the system, the interpreter, the kernel's own scratch
files), so no copy of the repository, the grader or a gradebook anywhere on the machine is visible;
``run_jailed`` runs one command in it (the extension builds of ``prebuild``);
``course_tools.kernel`` starts notebook kernels with the same spec.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from functools import cache
from pathlib import Path

# The system's programs and libraries: the same host paths the autograder's sandbox may read.
from autograder.sandbox import SYSTEM_PATHS

JAIL = Path(__file__).with_name("kernel_jail.py")
REPO = Path(__file__).resolve().parents[2]
# The autograder's sandbox launcher: kernel_jail.py builds its root with the same code.
LAUNCHER = REPO / "autograder" / "launcher.py"
# Scratch entries that stay out of the jail: its own root and its setup files.
SCRATCH_PRIVATE = ("root", "spec.json", "output.log")
# The interpreter by its environment's path (not the symlink's target): it must find its venv.
PYTHON = os.path.abspath(sys.executable)
SANDBOX_USER = "nobody"
# Resource limits of every jailed process, and the size of its private working folder.
LIMITS = {"cpu_seconds": 900, "address_space": 3 * 2**30, "file_size": 256 * 2**20,
          "processes": 256, "open_files": 1024, "core": 0}
WORK_SIZE = "768m"
TMP_BYTES = 256 * 2**20


class Jail:
    """How kernels are confined on this machine, decided once by starting a probe in the jail."""

    def __init__(self, namespaces: bool, user: str | None, reason: str):
        self.namespaces, self.user, self.reason = namespaces, user, reason

    @property
    def summary(self) -> str:
        if self.namespaces:
            return f"kernels run in namespaces as {self.user or 'the grader'}, repository hidden, no network"
        return f"kernels run with resource limits only ({self.reason})"


def jail_spec(scratch: Path, work: Path, env: dict[str, str], namespaces: bool, user: str | None,
              limits: dict[str, int], work_size: str) -> dict:
    """The jail's settings; ``binds`` are the only host paths its root will hold (when namespaces work)."""
    interpreters = sorted({os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix), sys.prefix})
    binds = [[path, path, "ro"] for path in SYSTEM_PATHS if os.path.lexists(path)]
    binds += [[prefix, prefix, "ro"] for prefix in interpreters]
    binds += [[str(entry), str(entry), "rw"] for entry in sorted(scratch.iterdir())
              if entry.name not in SCRATCH_PRIVATE]
    (scratch / "root").mkdir(exist_ok=True)
    return {
        "namespaces": namespaces, "user": user, "work": str(work), "work_size": work_size,
        "root": str(scratch / "root"), "binds": binds, "tmp_bytes": TMP_BYTES, "launcher": str(LAUNCHER),
        "limits": limits, "env": env, "log": str(scratch / "output.log"),
    }


@cache
def detect_jail() -> Jail:
    """Try the strongest confinement first and keep the first one under which Python starts."""
    candidates: list[tuple[bool, str | None]] = []
    if sys.platform.startswith("linux") and os.geteuid() == 0:
        candidates += [(True, SANDBOX_USER), (True, None), (False, SANDBOX_USER)]
    candidates.append((False, None))
    reasons = []
    for namespaces, user in candidates:
        with tempfile.TemporaryDirectory(prefix="cs-conv-probe-") as tmp:
            scratch = Path(tmp)
            work = scratch / "work"
            work.mkdir()
            spec = jail_spec(scratch, work, {"PATH": "/usr/bin:/bin"}, namespaces, user, {}, "16m")
            check = (f"import ipykernel, numpy, matplotlib, os; assert not os.path.exists({str(JAIL)!r})"
                     if namespaces else "import ipykernel, numpy, matplotlib")
            probe = _launch(spec, [PYTHON, "-c", check], timeout=60)
        if probe.returncode == 0:
            reason = "; ".join(reasons) or "namespaces unavailable"
            return Jail(namespaces, user, reason if not namespaces else "")
        last = ((probe.stderr + probe.stdout).strip().splitlines() or [f"exit {probe.returncode}"])[-1]
        reasons.append(f"{'namespaces' if namespaces else 'limits'} as {user or 'grader'}: {last}")
    raise RuntimeError("cannot start a Python kernel even without a jail: " + "; ".join(reasons))


def run_jailed(command: list[str], work: Path, timeout: float) -> subprocess.CompletedProcess:
    """Run ``command`` in the jail, in a copy of ``work`` (inside ``scratch = work.parent``)."""
    jail = detect_jail()
    scratch = work.parent
    env = {"PATH": os.pathsep.join([str(Path(PYTHON).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
           "HOME": str(work), "PYTHONNOUSERSITE": "1", "LANG": "C.UTF-8"}
    spec = jail_spec(scratch, work, env, jail.namespaces, jail.user, LIMITS, WORK_SIZE)
    return _launch(spec, command, timeout)


def _launch(spec: dict, command: list[str], timeout: float) -> subprocess.CompletedProcess:
    """Start the jail on ``spec``; the command's output (its log) comes back as ``stdout``."""
    scratch = Path(spec["log"]).parent
    (scratch / "spec.json").write_text(json.dumps(spec))
    os.chmod(scratch, 0o755)
    proc = subprocess.run([PYTHON, str(JAIL), str(scratch / "spec.json"), "--", *command],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
    log = Path(spec["log"])
    output = log.read_text(errors="replace") if log.is_file() else ""
    return subprocess.CompletedProcess(proc.args, proc.returncode, output + proc.stdout, proc.stderr)


