"""Plan the sandbox a student's process runs in: what it can see, who it runs as, its limits.

The protections are operating-system ones, because a student's ``.pyx`` compiles to
arbitrary C and any Python-level guard can be bypassed. On Linux as root (the
grading servers) ``launcher.py`` puts each process in fresh mount, PID, network,
IPC and UTS namespaces with a root that holds only

- the system libraries and compiler (``/usr``, ``/lib*``, ``/bin``), read-only,
  with Python's ``dist-packages``/``site-packages`` folders there covered up,
- the interpreter's own prefix (its ``site-packages`` covered up), read-only,
- allowlisted packages (numpy, threadpoolctl; Cython for builds) under ``/opt/site``, read-only,
- the student's staged ``cs_conv`` under ``/submission``, read-only,
- a private ``/tmp`` and, for builds only, a writable ``/build``,

and runs it as an unprivileged user of its own (``SANDBOX_UID``). Where that cannot
work (not root, not Linux, namespaces disabled) the grader degrades to resource limits, its own process group and a
``sys.path`` that holds only the staged package and symlinks to the allowlisted
packages, and ``Protections.summary`` says so in every report.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pwd
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from autograder.limits import Limits

LAUNCHER = Path(__file__).with_name("launcher.py")
# What a student must never read. Inside the namespaces none of it exists; without them,
# file permissions are the only guard, and the report says when they are not one.
GRADER_FILES = (Path(__file__).resolve().parent, Path(__file__).resolve().parent.parent / "cs_conv")
SETUP_FAILED = 121
SUBMISSION_DIR = "/submission"
SITE_DIR = "/opt/site"
BUILD_DIR = "/build"
CONTROL_FD = 3  # the fork server's control socket, inside the sandbox
SANDBOX_UIDS = range(64000, 64256)  # one per concurrent grading process, claimed with a lock
UID_LOCKS = (Path("/run/cs-conv-autograder-uids"), Path(os.path.expanduser("~/.cache/cs-conv-autograder/uids")))
SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc/ld.so.cache",
                "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives")
# Where a system or base interpreter keeps third-party packages: covered up inside the
# sandbox, in case someone installed the solved cs_conv into one of them.
PACKAGE_FOLDERS = ("/usr/lib/python3/dist-packages", "/usr/local/lib")


SANDBOX_ENV = {
    "PATH": "/usr/bin:/bin", "HOME": "/tmp", "TMPDIR": "/tmp", "LANG": "C.UTF-8",
    # One thread each: timings stay fair, and threads count against the process limit.
    "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
    # The sandwich layers and the model are judged on the student's loop layers (a documented
    # switch of cs_conv.layer_utils), so a slip in the fast layers costs points only there.
    "CS_CONV_LAYERS": "naive",
}


@dataclass(frozen=True)
class Bind:
    host: str
    inside: str
    mode: str  # "ro" or "rw"


@dataclass(frozen=True)
class Protections:
    namespaces: bool
    user: str | None
    reason: str  # why namespaces are off, when they are
    exposed: tuple[str, ...] = ()  # without namespaces: grader files the sandbox user can read

    def summary(self, limits: Limits) -> list[str]:
        lines = []
        if self.namespaces:
            lines += [
                "filesystem: a fresh root with only the staged submission, the interpreter, system "
                "libraries and numpy, read-only (mount namespace, pivot_root)",
                "network: none (network namespace)",
                "processes: own PID namespace, all killed with the sandbox",
            ]
        else:
            lines += [
                f"filesystem: NOT isolated ({self.reason}); sys.path: only the submission and its runtime packages",
                "network: NOT isolated",
                "processes: own process group, killed as a group",
            ]
            if self.exposed:
                lines.append("WARNING: readable by the sandbox user (make them 0700): " + ", ".join(self.exposed))
        lines.append(f"user: {self.user}" if self.user else "user: unchanged (grader not running as root)")
        lines.append(
            f"limits: {limits.memory_bytes >> 20} MiB address space, {limits.processes} processes, "
            f"{limits.file_bytes >> 20} MiB files, {limits.case_seconds:g} s per case, "
            f"{limits.submission_seconds:g} s per submission, {limits.output_max_bytes >> 20} MiB output")
        return lines


@dataclass(frozen=True)
class Identity:
    uid: int
    gid: int
    name: str


def default_identity(uid: int | None = None) -> Identity | None:
    """The unprivileged user sandboxes run as (a free one of ``SANDBOX_UIDS`` unless ``uid`` is given);
    None unless the grader is root.

    Not ``nobody``, and not one shared with another grading process: ``RLIMIT_NPROC``
    counts every process and thread of a user, so anyone else's processes (notebook
    kernels run as nobody, a fork bomb in a concurrent grader) would use up the
    sandbox's allowance and stop it from starting. A uid of its own, with no account,
    owns no files.
    """
    if os.name != "posix" or os.geteuid() != 0:
        return None
    uid = claim_uid() if uid is None else uid
    try:
        entry = pwd.getpwuid(uid)
        return Identity(uid, entry.pw_gid, entry.pw_name)
    except KeyError:
        return Identity(uid, uid, f"uid {uid}")


_claimed: dict[str, object] = {}  # lock files held open for the life of this process


def claim_uid() -> int:
    """A uid from ``SANDBOX_UIDS`` that no other running grader holds (an flock, released at exit)."""
    import fcntl

    if "uid" in _claimed:
        return int(_claimed["uid"])  # type: ignore[call-overload]
    for folder in UID_LOCKS:
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            info = os.lstat(folder)
        except OSError:
            continue
        if not os.path.isdir(folder) or os.path.islink(folder) or info.st_uid != os.geteuid():
            continue
        for uid in SANDBOX_UIDS:
            handle = open(folder / str(uid), "a")  # held open until the process exits
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.close()
                continue
            _claimed["uid"], _claimed["lock"] = uid, handle
            return uid
    raise RuntimeError(f"no free sandbox uid in {SANDBOX_UIDS.start}-{SANDBOX_UIDS.stop - 1}")


def package_dirs(names: tuple[str, ...]) -> list[Path]:
    """Where the allowlisted top-level packages or modules (and vendored ``.libs``) are installed here."""
    found = []
    for name in names:
        spec = importlib.util.find_spec(name)
        if spec is None:
            raise RuntimeError(f"the grader needs {name} installed")
        if spec.submodule_search_locations:
            folder = Path(next(iter(spec.submodule_search_locations))).resolve()
            found.append(folder)
            libs = folder.with_name(folder.name + ".libs")
            if libs.is_dir():
                found.append(libs)
        elif spec.origin:
            found.append(Path(spec.origin).resolve())
    return found


def interpreter() -> Path:
    """The real interpreter binary (a venv's python is a symlink to it)."""
    return Path(os.path.realpath(sys.executable))


class Sandbox:
    """Turns a program and its folders into a launcher command with every protection that works here."""

    def __init__(self, limits: Limits, identity: Identity | None, namespaces: bool | None = None):
        self.limits = limits
        self.identity = identity
        if namespaces is None:
            ok, reason = probe_namespaces(identity.uid if identity else None,
                                          identity.gid if identity else None)
        else:
            ok, reason = namespaces, "" if namespaces else "turned off"
        exposed = () if ok else tuple(str(p) for p in GRADER_FILES if readable_by_others(p))
        self.protections = Protections(ok, identity.name if identity else None, reason, exposed)
        self.unusable = None if ok or identity is None else unreachable_paths(identity)

    @property
    def isolated(self) -> bool:
        return self.protections.namespaces

    def binds(self, packages: list[Path], submission: Path | None, build: Path | None) -> list[Bind]:
        binds = [Bind(p, p, "ro") for p in SYSTEM_PATHS if os.path.lexists(p)]
        prefix = os.path.realpath(sys.base_prefix)
        binds.append(Bind(prefix, prefix, "ro"))
        binds += [Bind(str(p), f"{SITE_DIR}/{p.name}", "ro") for p in packages]
        if submission is not None:
            binds.append(Bind(str(submission), SUBMISSION_DIR, "ro"))
        if build is not None:
            binds.append(Bind(str(build), BUILD_DIR, "rw"))
        return binds

    def hidden(self) -> list[str]:
        site = sysconfig.get_path("purelib", vars={"base": sys.base_prefix, "platbase": sys.base_prefix})
        return [os.path.realpath(site), *PACKAGE_FOLDERS]

    def command(self, argv: list[str], fds: list[tuple[int, int]], scratch: Path, binds: list[Bind],
                memory_bytes: int, cpu_seconds: float) -> list[str]:
        """The launcher command running ``argv`` sandboxed; ``scratch`` is a private empty folder."""
        root = scratch / "root"
        root.mkdir(parents=True, exist_ok=True)
        rlimits = {
            "AS": memory_bytes,
            "CPU": int(cpu_seconds) + 1,
            "NPROC": self.limits.processes,
            "FSIZE": self.limits.file_bytes,
            "CORE": 0,
            "NOFILE": self.limits.open_files,
        }
        if not self.isolated or self.identity is None:
            # Without namespaces NPROC would count every process of the grader's own user.
            del rlimits["NPROC"]
        config = {
            "namespaces": self.isolated,
            "root": str(root),
            "binds": [[b.host, b.inside, b.mode] for b in binds],
            "hide": self.hidden(),
            "tmp_bytes": self.limits.tmp_bytes,
            "rlimits": rlimits,
            "uid": self.identity.uid if self.identity else None,
            "gid": self.identity.gid if self.identity else None,
            "fds": fds,
            "argv": argv,
            "env": SANDBOX_ENV,
        }
        return [str(interpreter()), "-I", "-S", "-B", str(LAUNCHER), json.dumps(config)]


def readable_by_others(path: Path) -> bool:
    """Whether a user with no relation to the file's owner could read ``path`` (and reach it)."""
    try:
        if not path.stat().st_mode & 0o004:
            return False
        return all(folder.stat().st_mode & 0o001 for folder in path.parents)
    except OSError:
        return False


def unreachable_paths(identity: Identity) -> str | None:
    """Without a mount namespace the sandbox user reaches files through the host's own folders;
    say so if it cannot (e.g. Python installed under root's 0700 home), else None."""
    needed = [interpreter(), Path(os.path.realpath(sys.base_prefix)) / "lib", *package_dirs(("numpy",))]
    for path in needed:
        for folder in [*reversed(path.parents), path]:
            try:
                mode = folder.stat().st_mode
            except OSError:
                continue
            if folder.stat().st_uid != identity.uid and not mode & 0o001:
                return (f"the sandbox user ({identity.name}) cannot reach {path}: {folder} is not open to "
                        "others; install Python and numpy where any user can read them, or grade where "
                        "Linux namespaces work (as root)")
    return None


@lru_cache(maxsize=4)
def probe_namespaces(uid: int | None, gid: int | None) -> tuple[bool, str]:
    """Whether the launcher can build a namespaced root here, and why not if it cannot."""
    if sys.platform != "linux":
        return False, f"namespaces need Linux, this is {sys.platform}"
    if os.geteuid() != 0:
        return False, "namespaces need the grader to run as root"
    import tempfile

    with tempfile.TemporaryDirectory(prefix="csg-probe-") as scratch:
        root = Path(scratch) / "root"
        root.mkdir()
        config = {"namespaces": True, "probe": True, "root": str(root), "binds": [], "hide": [],
                  "tmp_bytes": 1 << 20, "rlimits": {}, "uid": uid, "gid": gid, "fds": [], "argv": [], "env": {}}
        result = subprocess.run([str(interpreter()), "-I", "-S", "-B", str(LAUNCHER), json.dumps(config)],
                                capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        return False, (result.stderr.strip() or f"launcher exited {result.returncode}")[:300]
    return True, ""
