"""The sandbox's filesystem plan as a bubblewrap command, for graders that are not root.

Only root can build the launcher's own namespaced root (``launcher.py``) and give a sandbox a
uid and a cgroup of its own. Debian's ``bubblewrap`` builds the same kind of root without
privileges, in a user namespace: an instructor grading on their own laptop gets the same view
(only the system, the interpreter, the allowlisted packages and the staged submission, read-only;
a size-capped private ``/tmp``; no ``/proc``; no network; own PID and IPC namespaces), though not
the uid or the cgroup, which ``Protections.summary`` then says. The launcher still runs first,
without namespaces, to set the resource limits and hand over the pipes, then execs ``bwrap``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from functools import lru_cache

DEVICES = ("null", "zero", "random", "urandom")


def executable() -> str | None:
    return shutil.which("bwrap")


def command(binds: Sequence[tuple[str, str, str]], hidden: Sequence[str], tmp_bytes: int, env: dict[str, str],
            cwd: str | None, argv: list[str]) -> list[str]:
    """``bwrap`` arguments: the sandbox root from ``(host, inside, "ro" or "rw")`` binds, then ``argv``."""
    found = executable()
    if found is None:
        raise RuntimeError("bubblewrap (bwrap) is not installed")
    # --as-pid-1: the program is PID 1 of its namespace, as under the launcher (the runner relies on it).
    args = [found, "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent", "--new-session",
            "--as-pid-1", "--clearenv",
            "--size", str(tmp_bytes), "--tmpfs", "/tmp"]  # /tmp first: binds below it stay visible
    for host, inside, mode in binds:
        if host == inside and os.path.islink(host):
            # /bin -> usr/bin on merged-/usr systems: recreate the link, its target is bound on its own.
            args += ["--symlink", os.readlink(host), inside]
        else:
            args += ["--ro-bind" if mode == "ro" else "--bind", host, inside]
    for folder in hidden:
        if os.path.isdir(folder):
            args += ["--tmpfs", folder, "--remount-ro", folder]
    for device in DEVICES:
        args += ["--dev-bind", f"/dev/{device}", f"/dev/{device}"]
    for key, value in env.items():
        args += ["--setenv", key, value]
    args += ["--remount-ro", "/", "--chdir", cwd or "/", "--", *argv]
    return args


@lru_cache(maxsize=1)
def works() -> tuple[bool, str]:
    """Whether bubblewrap can build a root here (unprivileged user namespaces may be off), and why not."""
    if executable() is None:
        return False, "bubblewrap (bwrap) is not installed"
    binds = [(path, path, "ro") for path in ("/usr", "/bin", "/lib", "/lib64") if os.path.lexists(path)]
    try:
        probe = subprocess.run(command(binds, [], 1 << 20, {}, None, ["/bin/true"]), capture_output=True,
                               text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as error:
        return False, f"bwrap: {error}"
    if probe.returncode != 0:
        return False, (probe.stderr.strip() or f"bwrap exited {probe.returncode}")[:300]
    return True, ""
