"""Plan the sandbox a student's process runs in: what it can see, who it runs as, its limits.

The protections are operating-system ones, because a student's ``.pyx`` compiles to
arbitrary C and any Python-level guard can be bypassed. Every piece of student code
(grader checks, extension builds, notebook kernels) starts through ``launcher.py`` with a
config written by ``Sandbox.command``. On Linux as root (the grading servers) each sandbox

- runs as an unprivileged uid of its own grading process (``claim_uid``), never a shared one,
- lives in a cgroup of its own bounding memory (shared memory and page cache included)
  and tasks for the sandbox as a whole,
- gets fresh mount, PID, network, IPC (SysV IPC off) and UTS namespaces, with a root that holds only
  the system libraries and compiler (``/usr``, ``/lib*``, ``/bin``) read-only, with Python's
  ``dist-packages``/``site-packages`` folders there covered up; the interpreter's own prefix
  (its ``site-packages`` covered up) read-only; allowlisted packages (numpy, threadpoolctl;
  Cython for builds) under ``/opt/site`` read-only; the student's staged ``cs_conv`` under
  ``/submission`` read-only; size-capped tmpfs scratch; no ``/proc``; nothing on the host disk
  writable (a writable folder the grader must read back is a size-capped tmpfs, ``host_tmpfs``).

Docker's default capabilities (Gradescope) forbid namespaces; root then still runs each
sandbox as its own uid, with limits, and refuses to grade unless the grader's own files are
unreadable to that uid (the Gradescope setup makes them root-only; the runner is copied
out). Where neither works (not root, not Linux) the grader refuses to run student code
unless told ``insecure``. ``Protections.summary`` lists what was active in every report.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pwd
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from autograder import bwrap
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
    cgroup: bool = False  # memory and tasks bounded for the sandbox as a whole
    cgroup_reason: str = ""
    exposed: tuple[str, ...] = ()  # without namespaces: grader files the sandbox user can read
    insecure: bool = False  # the instructor asked to grade without isolation
    backend: str = "launcher"  # who builds the namespaces: the launcher (root) or bubblewrap (not root)

    def summary(self, limits: Limits) -> list[str]:
        lines = []
        if self.namespaces:
            lines += [
                "filesystem: a fresh root with only the staged submission, the interpreter, system "
                "libraries and numpy, read-only; no /proc; size-capped tmpfs scratch (mount namespace"
                + (", built by bubblewrap in a user namespace)" if self.backend == "bwrap" else ")"),
                "network: none (network namespace)",
                "processes: own PID namespace, all killed with the sandbox",
                "shared memory: " + ("own IPC namespace, its SysV objects gone with the sandbox, no /dev/shm"
                                     if self.backend == "bwrap" else "SysV IPC off, no /dev/shm (IPC namespace)"),
            ]
        else:
            lines += [
                f"filesystem: NOT isolated ({self.reason}); sys.path: only the submission and its runtime packages",
                "network: NOT isolated",
                "processes: own process group" + (" and cgroup, all killed with the sandbox" if self.cgroup else
                                                   ", killed as a group"),
            ]
            if self.exposed:
                lines.append("WARNING: readable by the sandbox user (make them 0700): " + ", ".join(self.exposed))
        lines.append(f"user: {self.user}, of this grading process only" if self.user
                     else "user: unchanged (grader not running as root)")
        if self.cgroup:
            lines.append(f"cgroup: {limits.memory_bytes >> 20} MiB memory (shared memory and page cache "
                         f"included) and {limits.processes} tasks for the whole sandbox")
        else:
            lines.append(f"cgroup: none ({self.cgroup_reason}); memory bounded per process only")
        lines.append(
            f"limits: {limits.memory_bytes >> 20} MiB address space, {limits.processes} processes, "
            f"{limits.file_bytes >> 20} MiB files, {limits.case_seconds:g} s per case, "
            f"{limits.submission_seconds:g} s per submission, {limits.output_max_bytes >> 20} MiB output")
        if self.insecure:
            lines.append("WARNING: graded with --insecure: student code could read the grader's files")
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
    kernels once ran as nobody, a fork bomb in a concurrent grader) would use up the
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

    def __init__(self, limits: Limits, identity: Identity | None, namespaces: bool | None = None,
                 insecure: bool = False, backend: str | None = None):
        """``namespaces`` None uses them where they work; ``backend`` "bwrap" builds them with bubblewrap
        even as root (the path a grader that is not root takes; ``identity`` must then be None)."""
        self.limits = limits
        self.identity = identity
        found = probe(identity.uid if identity else None, identity.gid if identity else None)
        if backend == "bwrap":
            works, why = bwrap.works()
            found = Probe(works, why, False, "bubblewrap gives no cgroup", "bwrap")
        ok, reason = (found.namespaces, found.reason) if namespaces is None else (
            namespaces and found.namespaces, found.reason if namespaces else "turned off")
        exposed = () if ok else tuple(str(p) for p in GRADER_FILES if readable_by_others(p))
        self.protections = Protections(ok, identity.name if identity else None, reason, found.cgroup,
                                       found.cgroup_reason, exposed, insecure, found.backend)
        self.unusable = None if ok else self._refusal(insecure)

    def _refusal(self, insecure: bool) -> str | None:
        """Why student code cannot run here without namespaces (fail closed), or None if it can."""
        reason = self.protections.reason
        if self.identity is not None:
            if self.protections.exposed and not insecure:
                return (f"refusing to grade: namespaces are unavailable ({reason}) and the grader's files "
                        f"({', '.join(self.protections.exposed)}) are readable by the sandbox user; make them "
                        "root-only (chmod -R go-rwx) or pass --insecure (CS_CONV_INSECURE=1)")
            return unreachable_paths(self.identity)
        if not insecure:
            return (f"refusing to grade: student code cannot be isolated here ({reason}); grade as root on "
                    "Linux, or pass --insecure (CS_CONV_INSECURE=1) to run it with resource limits only")
        return None

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
                memory_bytes: int, cpu_seconds: float, *, env: dict[str, str] | None = None,
                work: tuple[Path, str, int] | None = None, cwd: str | None = None,
                log: Path | None = None) -> list[str]:
        """The launcher command running ``argv`` sandboxed; ``scratch`` is a private empty folder.

        ``work`` is ``(host folder, path inside, bytes)``: a size-capped tmpfs at that path holding
        a copy of the folder, owned by the sandbox user (bubblewrap binds the folder itself). ``log``
        takes the program's stdout and stderr (the grader then passes no pipes).
        """
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
        if self.identity is None:
            # Without a uid of its own NPROC counts every task of the grader's own user: allow
            # what that user runs now plus the sandbox's share (root ignores NPROC altogether).
            if os.path.exists("/proc/self/status"):
                rlimits["NPROC"] = tasks_of(os.getuid()) + self.limits.processes
            else:
                del rlimits["NPROC"]
        uid, gid = (self.identity.uid, self.identity.gid) if self.identity else (None, None)
        env = SANDBOX_ENV if env is None else env
        by_bwrap = self.isolated and self.protections.backend == "bwrap"
        if by_bwrap:
            if work is not None:
                binds = [*binds, Bind(str(work[0]), work[1], "rw")]
            argv = bwrap.command([(b.host, b.inside, b.mode) for b in binds], self.hidden(), self.limits.tmp_bytes,
                                 env, cwd, argv)
            env, cwd, work = {}, None, None
        config: dict[str, object] = {
            "namespaces": self.isolated and not by_bwrap,
            "root": str(root),
            "binds": [[b.host, b.inside, b.mode] for b in binds],
            "hide": self.hidden(),
            "tmp_bytes": self.limits.tmp_bytes,
            "rlimits": rlimits,
            "uid": uid,
            "gid": gid,
            "fds": fds,
            "argv": argv,
            "env": env,
            "cwd": cwd,
            "log": str(log) if log else None,
        }
        if work is not None and self.isolated:  # without namespaces it works in the host folder itself
            host, inside, size = work
            config["work"] = {"host": str(host), "inside": inside, "bytes": size, "uid": uid, "gid": gid}
        if self.protections.cgroup:
            config["cgroup"] = {"memory_bytes": memory_bytes, "tasks": self.limits.processes}
        return [str(interpreter()), "-I", "-S", "-B", str(LAUNCHER), json.dumps(config)]


@contextmanager
def host_tmpfs(folder: Path, size: int, identity: Identity | None) -> Iterator[Path]:
    """``folder`` as a size-capped tmpfs owned by the sandbox user, for the duration (root only).

    For the one kind of folder a sandbox must write and the grader must read back (a kernel's
    sockets, a build's library): what the student writes there stays in memory, charged to their
    cgroup and capped, never on the host disk. Without root it stays a plain folder (the sandbox
    is then not isolated anyway, and the report says so).
    """
    folder.mkdir(parents=True, exist_ok=True)
    mounted = identity is not None and _libc_mount(folder, size)
    if identity is not None:
        os.chown(folder, identity.uid, identity.gid)
    try:
        yield folder
    finally:
        if mounted:
            _libc().umount2(str(folder).encode(), 2)  # MNT_DETACH


def _libc():
    import ctypes

    return ctypes.CDLL(None, use_errno=True)


def _libc_mount(folder: Path, size: int) -> bool:
    flags = 2 | 4 | 8  # MS_NOSUID | MS_NODEV | MS_NOEXEC
    return _libc().mount(b"tmpfs", str(folder).encode(), b"tmpfs", flags,
                         f"size={size},nr_inodes=4096,mode=0755".encode()) == 0


def tasks_of(uid: int) -> int:
    """How many processes and threads ``uid`` runs now (what ``RLIMIT_NPROC`` counts)."""
    count = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
        except OSError:
            continue
        if fields.get("Uid", "").split()[:1] == [str(uid)]:
            count += int(fields.get("Threads", "1"))
    return count


def readable_by_others(path: Path) -> bool:
    """Whether a user with no relation to the file's owner could read ``path`` (and reach it)."""
    try:
        if not path.stat().st_mode & 0o004:
            return False
        return all(folder.stat().st_mode & 0o001 for folder in path.parents)
    except OSError:
        return False


def sandbox_reads() -> list[Path]:
    """What student code needs to read from the host when it has no mount namespace of its own:
    the interpreter, its standard library and numpy."""
    return [interpreter(), Path(os.path.realpath(sys.base_prefix)) / "lib", *package_dirs(("numpy",))]


def unreachable_paths(identity: Identity) -> str | None:
    """Without a mount namespace the sandbox user reaches files through the host's own folders;
    say so if it cannot (e.g. Python installed under root's 0700 home), else None."""
    for path in sandbox_reads():
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


@dataclass(frozen=True)
class Probe:
    namespaces: bool
    reason: str  # why not, when not
    cgroup: bool
    cgroup_reason: str
    backend: str = "launcher"


@lru_cache(maxsize=4)
def probe(uid: int | None, gid: int | None) -> Probe:
    """Which protections the launcher can set up here (namespaces, a cgroup), and why not."""
    if sys.platform != "linux":
        return Probe(False, f"namespaces need Linux, this is {sys.platform}", False, "not Linux")
    if os.geteuid() != 0:
        works, why = bwrap.works()
        reason = "" if works else f"namespaces need the grader to run as root or bubblewrap ({why})"
        return Probe(works, reason, False, "the grader is not root", "bwrap")
    namespaces, reason = _try_launcher(uid, gid, namespaces=True, cgroup=False)
    cgroup, cgroup_reason = _try_launcher(uid, gid, namespaces=False, cgroup=True)
    return Probe(namespaces, reason, cgroup, cgroup_reason)


def _try_launcher(uid: int | None, gid: int | None, namespaces: bool, cgroup: bool) -> tuple[bool, str]:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="csg-probe-") as scratch:
        root = Path(scratch) / "root"
        root.mkdir()
        config = {"namespaces": namespaces, "probe": True, "root": str(root), "binds": [], "hide": [],
                  "tmp_bytes": 1 << 20, "rlimits": {}, "uid": uid, "gid": gid, "fds": [], "argv": [], "env": {}}
        if cgroup:
            config["cgroup"] = {"memory_bytes": 64 << 20, "tasks": 4}
        result = subprocess.run([str(interpreter()), "-I", "-S", "-B", str(LAUNCHER), json.dumps(config)],
                                capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        return False, (result.stderr.strip() or f"launcher exited {result.returncode}")[:300]
    return True, ""
