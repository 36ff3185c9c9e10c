"""Attacks on the sandbox itself: memory, shared memory, host paths, cgroups, failing closed, builds.

Issue 11's defects 2 (no namespaces exposed the grader), 3 (memory limits bypassed across
processes and through shared memory) and 9 (host paths inside), written as a hostile student
would. Each plants the attack in the solved sources, as ``test_autograder_hostile`` does: the
attacked function scores 0 with a clear reason, ``adam`` keeps its points, and nothing outside
the sandbox changed (no segment, process or cgroup left, nothing written to the host disk).

The no-namespace path (Docker's default capabilities, as on Gradescope) is forced by running the
grader in a subprocess: in a private mount namespace whose ``/root`` is a tmpfs with only the
interpreter's branch bound back (here the interpreter lives under root's 0700 home, which the
sandbox user could not enter), and under ``setpriv`` with Docker's capability set. Assertions
are about containment, never about how fast anything ran: the machine is shared and loaded.
"""

from __future__ import annotations

import ctypes
import dataclasses
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from autograder_helpers import (
    REPO,
    TEST_LIMITS,
    apply_patches,
    assert_contained,
    copy_solved,
    processes_of,
)

from autograder.grade import Settings, grade
from autograder.sandbox import (
    GRADER_FILES,
    SYSTEM_PATHS,
    Bind,
    Sandbox,
    default_identity,
    host_tmpfs,
    interpreter,
    readable_by_others,
    sandbox_reads,
)

pytestmark = pytest.mark.slow

GiB, MiB = 1 << 30, 1 << 20
LIMITS = dataclasses.replace(TEST_LIMITS, case_seconds=6.0, import_seconds=6.0, memory_bytes=GiB, processes=16)
RELU = "def relu_forward(x):\n"
RELU_BACKWARD = "def relu_backward(dout, cache):\n"
IS_ROOT = os.name == "posix" and os.geteuid() == 0
BOX = Sandbox(LIMITS, default_identity())
needs_isolation = pytest.mark.skipif(not BOX.isolated,
                                     reason="needs the namespace sandbox (Linux, grader running as root)")
needs_cgroup = pytest.mark.skipif(not BOX.protections.cgroup,
                                  reason=f"needs a cgroup per sandbox ({BOX.protections.cgroup_reason})")
needs_root = pytest.mark.skipif(not IS_ROOT, reason="needs the grader to run as root (sandbox uids, setpriv)")
# Docker's default capability set (Gradescope, most CI containers): no CAP_SYS_ADMIN, so no
# namespaces, no mounts and no removing another user's SysV IPC objects.
DOCKER_CAPS = ("-all,+chown,+dac_override,+fowner,+fsetid,+kill,+setgid,+setuid,+setpcap,+net_bind_service,"
               "+net_raw,+sys_chroot,+mknod,+audit_write,+setfcap")
# What a student can do with SysV shared memory through ctypes.
SYSV = """
import ctypes, errno
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
def sysv(size):
    shmid = libc.shmget(0, ctypes.c_size_t(size), 0o1000 | 0o600)  # IPC_PRIVATE, IPC_CREAT
    if shmid < 0:
        return "sysv: " + errno.errorcode[ctypes.get_errno()]
    address = libc.shmat(shmid, None, 0)
    if address in (None, ctypes.c_void_p(-1).value):
        return f"sysv: made segment {shmid}, shmat " + errno.errorcode[ctypes.get_errno()]
    ctypes.memset(address, 1, size)
    return f"sysv: made segment {shmid} and held {size >> 20} MiB"
"""


def in_function(header: str, code: str) -> list[tuple[str, str, str]]:
    """A patch that runs ``code`` first thing in the layers.py function that starts with ``header``."""
    body = "".join(f"    {line}\n" for line in code.strip("\n").splitlines())
    return [("layers.py", header, header + body)]


def segments_of(uid: int) -> list[dict[str, str]]:
    """SysV shared memory segments in the host's IPC namespace that ``uid`` owns or created."""
    with open("/proc/sysvipc/shm") as handle:
        header = handle.readline().split()
        rows = [dict(zip(header, line.split(), strict=False)) for line in handle]
    return [row for row in rows if str(uid) in (row.get("uid"), row.get("cuid"))]


def remove_segments(rows: list[dict[str, str]]) -> None:
    """Tidy up after a failed assertion, so a leak does not keep memory on a shared machine."""
    libc = ctypes.CDLL(None, use_errno=True)
    for row in rows:
        libc.shmctl(int(row["shmid"]), 0, None)  # IPC_RMID


def sandbox_cgroups() -> set[Path]:
    """Every sandbox cgroup folder there is now below this process's memory and pids cgroups (v1:
    ``cs-conv-sandbox-<supervisor pid>-<random>`` per controller) or in v2's ``cs-conv-sandbox``."""
    found = set(Path("/sys/fs/cgroup/cs-conv-sandbox").glob("*-*"))
    for parent in own_cgroups().values():
        found.update(parent.glob("cs-conv-sandbox-*"))
    return found


def own_cgroups() -> dict[str, Path]:
    folders = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in ("memory", "pids"):
            if controller in controllers.split(","):
                folders[controller] = Path("/sys/fs/cgroup", controller, path.lstrip("/"))
    return folders


def started_here(pid: int) -> bool:
    """Whether ``pid`` is a descendant of this process (a launcher this test started, maybe via a grader)."""
    for _ in range(16):
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return False
        if pid == os.getpid():
            return True
        if pid <= 1:
            return False
    return False


@contextmanager
def watching_cgroups() -> Iterator[tuple[set[Path], set[Path]]]:
    """``(seen, left)``: the sandbox cgroups of launchers this process started, seen while the block
    ran, and, once it is over, those still there. Other engineers' and CI's graders share the
    hierarchy (pids often at its root, and pytest-xdist's workers share one memory cgroup), so a
    folder counts as ours if its supervisor was seen to descend from this process, or if it appeared
    below our own memory cgroup while the block ran and no other process's supervisor still holds it
    (a supervisor removes its cgroup before it exits, so a folder that outlives its supervisor is a
    leak whoever started it)."""
    before = sandbox_cgroups()
    seen: set[Path] = set()
    left: set[Path] = set()
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.02):
            for folder in sandbox_cgroups() - before - seen:
                supervisor = folder.name.removeprefix("cs-conv-sandbox-").split("-")[0]
                if supervisor.isdigit() and started_here(int(supervisor)):
                    seen.add(folder)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        yield seen, left
    finally:
        done.set()
        thread.join()
        names = {folder.name for folder in seen}
        memory = own_cgroups().get("memory")
        left.update(folder for folder in sandbox_cgroups() - before
                    if folder.name in names
                    or (memory is not None and folder.parent == memory and not held_by_another(folder)))


def held_by_another(folder: Path) -> bool:
    """Whether the supervisor named in a sandbox cgroup ``folder`` is alive and not ours: another
    test's (or another worker's) sandbox that is still running."""
    supervisor = folder.name.removeprefix("cs-conv-sandbox-").split("-")[0]
    if not supervisor.isdigit() or started_here(int(supervisor)):
        return False
    alive = Path(f"/proc/{supervisor}").exists()
    return alive or not folder.exists()  # gone since it was listed: removed by its own supervisor


def graded(grade_with, submission: Path, uid: int | None = None, only=("relu_forward", "adam")):
    return grade_with(submission, only=list(only), limits=LIMITS, uid=uid)


def assert_graded_normally(grade_with, solved_submission: Path, uid: int | None = None) -> None:
    after = graded(grade_with, solved_submission, uid=uid)
    assert after.error is None and after.score == after.max_score, [r.message for r in after.results]


# -- 1. memory across processes


MEMORY_ATTACK = """
import os, select
import numpy as np
share = int(0.6 * (1 << 30)) // 8  # 60% of the sandbox's 1 GiB, per child
held_r, held_w = os.pipe()
go_r, go_w = os.pipe()
children = []
for index in range(3):
    pid = os.fork()
    if pid == 0:
        os.close(go_w)
        try:
            ballast = np.ones(share)  # written, so every page is really there
            os.write(held_w, bytes([index]))
            os.read(go_r, 1)  # hold it until the parent has counted
        finally:
            os._exit(0)
    children.append(pid)
os.close(held_w)
alive, holding = set(children), set()
while alive - holding:  # until every child still alive holds its share
    ready, _, _ = select.select([held_r], [], [], 0.2)
    if ready:
        holding.update(children[i] for i in os.read(held_r, 8))
    alive = {pid for pid in alive if not os.waitpid(pid, os.WNOHANG)[0]}
os.close(go_w)
for pid in alive:
    os.waitpid(pid, 0)
raise RuntimeError(f"children holding 60% of the memory at once: {len(alive)} of 3")
"""


@needs_cgroup
def test_memory_shared_out_over_child_processes_never_exceeds_the_sandbox_limit(make_submission, grade_with,
                                                                              solved_submission):
    # RLIMIT_AS is per process: three children of 60% each would hold 180% of the limit without
    # a cgroup. The cgroup bounds their sum: the OOM killer ends a child (or the check), and the
    # report can never say that all three held their share.
    report = graded(grade_with, make_submission(in_function(RELU, MEMORY_ATTACK)))
    found = assert_contained(report, "")
    assert not any("at once: 3 of 3" in m or "at once: 2 of 3" in m for m in found), found
    assert any("at once: 1 of 3" in m or "at once: 0 of 3" in m or "killed" in m for m in found), found
    assert_graded_normally(grade_with, solved_submission)


# -- 2. shared memory


SHM_ATTACK = SYSV + """
import os, mmap
import numpy as np
outcomes = [sysv(512 << 20), sysv(4096)]
try:
    fd = os.open("/dev/shm/cs-conv-attack", os.O_CREAT | os.O_RDWR, 0o600)
    os.ftruncate(fd, 512 << 20)
    np.frombuffer(mmap.mmap(fd, 512 << 20), np.uint8)[:] = 1
    outcomes.append("/dev/shm: held 512 MiB")
except OSError as error:
    outcomes.append("/dev/shm: " + type(error).__name__)
try:
    from multiprocessing import shared_memory
    block = shared_memory.SharedMemory(create=True, size=512 << 20)
    np.frombuffer(block.buf, np.uint8)[:] = 1
    outcomes.append("shared_memory: held 512 MiB")
except Exception as error:
    outcomes.append("shared_memory: " + type(error).__name__)
raise RuntimeError("shared memory: " + "; ".join(outcomes))
"""


@needs_isolation
def test_sysv_and_posix_shared_memory_are_impossible_in_the_sandbox(make_submission, grade_with, solved_submission):
    report = graded(grade_with, make_submission(in_function(RELU, SHM_ATTACK)))
    found = " ".join(assert_contained(report, "shared memory: sysv: E"))
    assert "made segment" not in found and "held" not in found, found
    assert "/dev/shm: FileNotFoundError" in found and "shared_memory: FileNotFoundError" in found, found
    assert_graded_normally(grade_with, solved_submission)


# -- 3. nothing names a host path


def host_path_attack(needles: list[str]) -> str:
    pruned = sorted({*SYSTEM_PATHS, "/etc"})
    return f"""
import os, sys
needles = {needles!r}
leaks = ["/proc/self/mountinfo"] if os.path.exists("/proc/self/mountinfo") else []
strings = [sys.executable, os.getcwd(), sys.prefix, sys.base_prefix, *sys.path, *sys.argv,
           *os.environ.keys(), *os.environ.values()]
strings += [str(getattr(module, "__file__", "")) for module in list(sys.modules.values())]
# System folders are the host's own, bound read-only at their own paths: not worth the walk.
for folder, dirs, files in os.walk("/"):
    dirs[:] = [d for d in dirs if os.path.join(folder, d) not in {pruned!r}]
    for name in dirs + files:
        path = os.path.join(folder, name)
        strings.append(path)
        if os.path.islink(path):
            strings.append(os.readlink(path))
leaks += [s for s in strings if any(needle in s for needle in needles)]
raise RuntimeError(f"host paths: {{leaks[:3]!r}} among {{len(strings)}} names")
"""


@needs_isolation
def test_nothing_inside_names_the_repository_or_the_grader_cache(make_submission, grade_with, grader_cache):
    needles = [str(REPO), str(grader_cache), str(grader_cache.resolve())]
    report = graded(grade_with, make_submission(in_function(RELU, host_path_attack(needles))))
    found = assert_contained(report, "host paths: [] among ")
    counted = [int(m.split(" among ")[1].split()[0]) for m in found if " among " in m]
    assert counted and min(counted) > 50, found  # the walk really looked around
    assert not any(needle in m for needle in needles for m in found)


# -- 4. the cgroup


FORK_BOMB = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"


@needs_cgroup
def test_no_cgroup_or_process_is_left_after_a_fork_bomb_and_the_memory_attack(make_submission, grade_with,
                                                                            solved_submission):
    uid = 64921
    patches = in_function(RELU, FORK_BOMB) + in_function(RELU_BACKWARD, MEMORY_ATTACK)
    with watching_cgroups() as (seen, left):
        report = graded(grade_with, make_submission(patches), uid=uid, only=("relu_forward", "relu_backward", "adam"))
    assert_contained(report, "timed out")
    assert_contained(report, "", lose="relu_backward")
    assert seen, "no sandbox cgroup was seen while grading"
    assert left == set(), f"left behind: {sorted(map(str, left))}"
    assert processes_of(uid) == []
    with watching_cgroups() as (seen, left):
        assert_graded_normally(grade_with, solved_submission, uid=uid)
    assert seen and left == set(), f"left behind: {sorted(map(str, left))}"


# -- 5. failing closed without namespaces


@needs_root
def test_without_namespaces_readable_grader_files_refuse_to_grade(make_submission):
    exposed = [str(p) for p in GRADER_FILES if readable_by_others(p)]
    if not exposed:
        pytest.skip("the repository is not readable by other users here, so nothing is exposed")
    box = Sandbox(LIMITS, default_identity(), namespaces=False)
    assert box.unusable is not None
    assert all(path in box.unusable for path in exposed) and "--insecure" in box.unusable, box.unusable
    assert any("WARNING: readable by the sandbox user" in line for line in box.protections.summary(LIMITS))
    report = grade(make_submission([]), Settings(limits=LIMITS, only=["relu_forward", "adam"]), sandbox=box)
    assert report.error == box.unusable
    assert report.results == [] and report.score == 0


def private_python(argv: list[str], keep: Path) -> list[str]:
    """``argv`` run in a private mount namespace in which any user can reach what student code
    reads without a mount namespace of its own (``sandbox_reads``: the interpreter, its library, numpy).

    Each folder on the way that is closed to others (pyenv under root's 0700 home, a clone under
    a 0700 ``mktemp -d``) is covered by a tmpfs there, with only the branches that lead on bound
    back: the host's own mount table does not change. ``keep`` is an empty folder outside them.
    """
    branches: dict[Path, set[Path]] = {}
    for path in sandbox_reads():
        for folder in reversed(path.parents):
            if folder != path and not folder.stat().st_mode & 0o001:
                branches.setdefault(folder, set()).add(folder / path.relative_to(folder).parts[0])
    if not branches:
        return argv
    q = shlex.quote
    steps = ["set -e", "mount --make-rprivate /"]
    for number, closed in enumerate(sorted(branches, key=lambda folder: len(folder.parts))):
        held = {branch: keep / f"{number}-{index}" for index, branch in enumerate(sorted(branches[closed]))}
        steps += [f"mkdir -p {q(str(hold))}; mount --rbind {q(str(branch))} {q(str(hold))}"
                  for branch, hold in held.items()]
        steps.append(f"mount -t tmpfs -o mode=0755,size=1m cs-conv-test {q(str(closed))}")
        steps += [f"mkdir -p {q(str(branch))}; mount --move {q(str(hold))} {q(str(branch))}"
                  for branch, hold in held.items()]
    return ["unshare", "-m", "sh", "-c", "; ".join(steps) + '; exec "$@"', "sh", *argv]


def _private_namespaces_work() -> str:
    if not IS_ROOT or not shutil.which("unshare") or not shutil.which("setpriv"):
        return "needs root with unshare and setpriv (util-linux)"
    with tempfile.TemporaryDirectory() as keep:
        command = private_python([sys.executable, "-c", "pass"], Path(keep))
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as error:
            return f"cannot make a private mount namespace: {error}"
    return "" if result.returncode == 0 else f"cannot make a private mount namespace: {result.stderr.strip()}"


PRIVATE_PROBLEM = _private_namespaces_work()
needs_private_namespace = pytest.mark.skipif(bool(PRIVATE_PROBLEM), reason=PRIVATE_PROBLEM)


@pytest.fixture
def gradescope_like(tmp_path: Path) -> Iterator[Path]:
    """Like Gradescope's ``/autograder``: open to others, its ``source`` (the autograder package) root-only,
    as the bundle's ``setup.sh`` leaves it."""
    root = Path(tempfile.mkdtemp(prefix="csg-gradescope-"))
    try:
        root.chmod(0o755)
        shutil.copytree(REPO / "autograder", root / "source" / "autograder",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        for folder, dirs, files in os.walk(root / "source"):
            for name in [folder, *(os.path.join(folder, n) for n in dirs + files)]:
                os.chmod(name, os.stat(name).st_mode & 0o700)
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run_grader(args: list[str], cwd: Path, tmp_path: Path, prefix: list[str]) -> tuple[int, dict | None, str]:
    """``python -m autograder grade ARGS --format json`` from ``cwd``, in a private mount namespace,
    behind ``prefix`` (setpriv); the exit code, the JSON report and stderr."""
    out_dir = Path(tempfile.mkdtemp(prefix="csg-out-"))
    out_dir.chmod(0o777)  # a non-root grader writes its report here
    keep = tmp_path / "keep"
    keep.mkdir(exist_ok=True)
    cache = out_dir / "cache"
    try:
        command = private_python([*prefix, sys.executable, "-m", "autograder", "grade", *args, "--format", "json",
                                  "--out", str(out_dir / "report.json"), "--cache", str(cache),
                                  "--case-timeout", str(LIMITS.case_seconds)], keep)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
        report = out_dir / "report.json"
        return result.returncode, json.loads(report.read_text()) if report.exists() else None, result.stderr
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)


def json_by_function(document: dict) -> dict[str, tuple[float, float, list[str]]]:
    totals: dict[str, tuple[float, float, list[str]]] = {}
    for test in document["tests"]:
        function = test["extra_data"]["function"]
        score, top, outputs = totals.get(function, (0.0, 0.0, []))
        totals[function] = (score + test["score"], top + test["max_score"], [*outputs, test["output"]])
    return totals


def shared_submission(base: Path, patches: list[tuple[str, str, str]]) -> Path:
    """A submission any user can read (a non-root grader reads it as itself)."""
    submission = apply_patches(copy_solved(base / "submission"), patches)
    for folder, dirs, files in os.walk(base):
        for name in [folder, *(os.path.join(folder, n) for n in dirs + files)]:
            os.chmod(name, 0o755 if os.path.isdir(name) else 0o644)
    return submission


@pytest.fixture
def shared_base() -> Iterator[Path]:
    base = Path(tempfile.mkdtemp(prefix="csg-submission-"))
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


@needs_private_namespace
def test_gradescope_like_without_namespaces_the_grader_source_stays_unreadable(gradescope_like, shared_base,
                                                                                tmp_path):
    reference = gradescope_like / "source" / "autograder" / "reference.py"
    attack = f"""
found = []
for path in ({str(reference)!r}, {str(reference.parent)!r}):
    try:
        found.append(open(path).read()[:40] if path.endswith(".py") else repr(os.listdir(path))[:40])
    except OSError as error:
        found.append(type(error).__name__)
raise RuntimeError("the grader's source: " + ", ".join(found))
"""
    submission = shared_submission(shared_base, in_function(RELU, "import os\n" + attack))
    uid = 64922
    with watching_cgroups() as (seen, left):
        code, document, stderr = run_grader(
            [str(submission), "--only", "relu_forward,adam", "--uid", str(uid)], gradescope_like / "source",
            tmp_path, ["setpriv", "--bounding-set", DOCKER_CAPS, "--"])
    assert code == 0 and document is not None, stderr[-2000:]
    protections = document["extra_data"]["protections"]
    # Gradescope passes no flag: the namespaces fail for want of CAP_SYS_ADMIN, and the report says so.
    assert any(line.startswith("filesystem: NOT isolated") and "unshare: Operation not permitted" in line
               for line in protections), protections
    assert any(line.startswith(f"user: uid {uid}") for line in protections), protections
    assert not any("WARNING" in line for line in protections), protections
    cgroup = any(line.startswith("cgroup: ") and "for the whole sandbox" in line for line in protections)
    assert cgroup or not BOX.protections.cgroup, protections  # Docker's capabilities still make one here
    totals = json_by_function(document)
    assert totals["relu_forward"][0] == 0
    outputs = " ".join(totals["relu_forward"][2])
    assert "the grader's source: PermissionError, PermissionError" in outputs, outputs
    assert totals["adam"][0] == totals["adam"][1] > 0, totals["adam"]
    assert processes_of(uid) == []
    assert (bool(seen) or not cgroup) and left == set(), f"left behind: {sorted(map(str, left))}"


@needs_private_namespace
@pytest.mark.parametrize("prefix, flags", [
    ([], ["--no-namespaces"]),
    (["setpriv", "--bounding-set", DOCKER_CAPS, "--"], []),
], ids=["root without namespaces", "docker capabilities"])
def test_a_sysv_segment_made_without_namespaces_is_gone_when_the_sandbox_ends(gradescope_like, shared_base,
                                                                             tmp_path, prefix, flags):
    # Without an IPC namespace the segment lives in the host's, where it would outlive the
    # sandbox (the OOM killer cannot free it); the supervisor removes the sandbox uid's objects.
    uid = 64923 if flags else 64924
    assert segments_of(uid) == []
    submission = shared_submission(shared_base, in_function(RELU, SYSV + "raise RuntimeError(sysv(64 << 20))"))
    try:
        code, document, stderr = run_grader([str(submission), "--only", "relu_forward,adam", "--uid", str(uid),
                                                *flags], gradescope_like / "source", tmp_path, prefix)
        left = segments_of(uid)
    finally:
        remove_segments(segments_of(uid))
    assert code == 0 and document is not None, stderr[-2000:]
    assert any("NOT isolated" in line for line in document["extra_data"]["protections"])
    totals = json_by_function(document)
    outputs = " ".join(totals["relu_forward"][2])
    assert totals["relu_forward"][0] == 0 and "sysv: made segment" in outputs, outputs
    assert totals["adam"][0] == totals["adam"][1] > 0
    assert left == [], f"segments left behind: {left}"


@needs_private_namespace
def test_a_grader_that_is_not_root_and_has_no_bubblewrap_needs_insecure(shared_base, tmp_path):
    # Not root: no sandbox uid and no cgroup; without bubblewrap (not on PATH) no namespaces
    # either, so student code would run as the grader's own user, next to its files.
    uid = 64925
    submission = shared_submission(shared_base, [])
    as_user = ["setpriv", "--reuid", str(uid), "--regid", str(uid), "--clear-groups", "--", "env", "PATH=/nonexistent"]
    args = [str(submission), "--only", "relu_forward,adam"]
    code, document, stderr = run_grader(args, REPO, tmp_path, as_user)
    assert code == 1 and document is not None, stderr[-2000:]
    error = document["extra_data"]["grader_error"]
    assert error.startswith("refusing to grade") and "--insecure" in error, error
    assert document["tests"] == [] and document["score"] == 0
    code, document, stderr = run_grader([*args, "--insecure"], REPO, tmp_path, as_user)
    assert code == 0 and document is not None, stderr[-2000:]
    assert document["score"] == sum(t["max_score"] for t in document["tests"]) > 0
    assert any(line.startswith("WARNING: graded with --insecure") for line in document["extra_data"]["protections"])


# -- 6. builds write only to a size-capped tmpfs


def host_bytes(folder: Path) -> int:
    """Bytes in regular files under ``folder`` on its own filesystem (not in a tmpfs mounted below it)."""
    device = folder.stat().st_dev
    total = 0
    for path, _dirs, files in os.walk(folder):
        for name in files:
            try:
                info = os.lstat(os.path.join(path, name))
            except OSError:
                continue
            if info.st_dev == device:
                total += info.st_size
    return total


@needs_isolation
def test_a_write_past_the_build_tmpfs_fails_and_reaches_no_host_disk(tmp_path):
    program = """
import errno, os
chunk = b"x" * (1 << 20)
outcomes = []
try:
    with open("/build/ballast", "wb") as handle:
        for _ in range(32):
            handle.write(chunk)
            handle.flush()
    outcomes.append("/build: wrote 32 MiB")
except OSError as error:
    outcomes.append("/build: " + errno.errorcode[error.errno])
for path in ("/ballast", "/submission-like", "/opt/ballast", "/usr/ballast", %r):
    try:
        open(path, "wb").close()
        outcomes.append(path + ": wrote")
    except OSError as error:
        outcomes.append(path + ": " + errno.errorcode[error.errno])
print("; ".join(outcomes))
"""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    scratch.chmod(0o755)
    shared = tmp_path / "shared"  # open to anyone: only the read-only bind stands in the way
    shared.mkdir()
    shared.chmod(0o777)
    outside = str(shared / "ballast")
    with host_tmpfs(scratch / "build", 8 * MiB, BOX.identity) as build:
        binds = [*BOX.binds([], None, build), Bind(str(shared), str(shared), "ro")]
        command = BOX.command([str(interpreter()), "-I", "-S", "-B", "-c", program % outside], [], scratch, binds,
                              LIMITS.memory_bytes, 60)
        result = subprocess.run(command, capture_output=True, text=True, timeout=300)
        kept = (build / "ballast").stat().st_size if (build / "ballast").exists() else 0
    assert result.returncode == 0, result.stderr[-2000:]
    outcomes = dict(part.split(": ", 1) for part in result.stdout.strip().split("; "))
    assert outcomes.pop("/build") == "ENOSPC", result.stdout
    assert 0 < kept <= 8 * MiB
    assert outcomes.pop(outside) == "EROFS", result.stdout
    assert all(value in ("EROFS", "ENOENT") for value in outcomes.values()), result.stdout
    assert not os.path.exists(outside)
    assert list((scratch / "build").iterdir()) == []  # the tmpfs went with the block
    assert host_bytes(scratch) == 0


BALLAST_PYX = '''cdef extern from *:
    """
    __attribute__((used)) static char cs_conv_ballast[1 << 30] = {1};
    """
'''


@needs_isolation
def test_a_pyx_whose_compiler_writes_a_gigabyte_fails_to_build_and_writes_no_host_disk(make_submission,
                                                                                     grader_cache, tmp_path):
    # Verbatim C in a .pyx: a 1 GiB initialised array makes the assembler write a 1 GiB object
    # file. The build may write only its size-capped tmpfs and private /tmp (RLIMIT_FSIZE too).
    submission = make_submission([])
    pyx = submission / "cs_conv" / "im2col_cython.pyx"
    pyx.write_text(pyx.read_text() + "\n" + BALLAST_PYX)
    work = tmp_path / "work"
    work.mkdir()
    peak = [0]
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.05):
            peak[0] = max(peak[0], host_bytes(work))

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        report = grade(submission, Settings(limits=LIMITS, cache_dir=grader_cache, only=["im2col_cython", "adam"],
                                            work_dir=work), sandbox=BOX)
    finally:
        done.set()
        thread.join()
    found = assert_contained(report, "did not compile", lose="im2col_cython")
    assert peak[0] < 16 * MiB, f"{peak[0] >> 20} MiB reached the host disk under {work}"
    assert list(work.iterdir()) == []
    assert not any(str(REPO) in m for m in found)


# -- Gradescope says which protections were in effect


def test_gradescope_shows_the_protections_in_its_visible_output_and_stdout(tmp_path, capsys, monkeypatch):
    # run_gradescope.py as the bundle holds it, with a stand-in autograder that reports (or refuses)
    # at once: the protections must reach results.json's visible ``output`` and stdout either way.
    files = REPO / "assignments" / "course_tools"
    monkeypatch.syspath_prepend(str(files))
    monkeypatch.syspath_prepend(str(files / "gradescope_files"))
    import run_gradescope

    here = tmp_path / "source"
    (here / "autograder").mkdir(parents=True)
    (here / "points.json").write_text("{}")
    (here / "settings.json").write_text(json.dumps({"task_files": [], "visibility": "visible"}))
    (here / "release_cs_conv").mkdir()
    lines = ["filesystem: NOT isolated (unshare: Operation not permitted)",
             "user: uid 64000, of this grading process only"]
    (here / "autograder" / "__main__.py").write_text(f"""
import json, os, sys
out = sys.argv[sys.argv.index("--out") + 1]
error = os.environ.get("FAKE_REFUSAL")
document = {{"score": 0, "output": "Score: 0 / 0", "tests": [], "stdout_visibility": "hidden",
            "extra_data": {{"protections": {lines!r}, "grader_error": error}}}}
open(out, "w").write(json.dumps(document))
sys.exit(1 if error else 0)
""")
    monkeypatch.setattr(run_gradescope, "HERE", here)
    (tmp_path / "submission" / "cs_conv").mkdir(parents=True)
    results = tmp_path / "results.json"
    for refusal, code in ((None, 0), ("refusing to grade: ...", 1)):
        if refusal:
            monkeypatch.setenv("FAKE_REFUSAL", refusal)
        assert run_gradescope.main([str(tmp_path / "submission"), str(results)]) == code
        output = json.loads(results.read_text())["output"]
        printed = capsys.readouterr().out
        for line in lines:
            assert line in output and line in printed, (output, printed)
