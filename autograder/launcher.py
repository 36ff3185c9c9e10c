"""Enter the sandbox, then exec the given program. Runs as ``python -I -S -B launcher.py CONFIG``.

This script is trusted and stands alone (stdlib only): the parent runs it by path,
and it must not import anything the student could have placed on ``sys.path``.
It is the one way the kit runs student code: grader checks, extension builds and
notebook kernels all start here. ``autograder.sandbox`` writes CONFIG (JSON); the steps, in order:

1. as root, make a cgroup of the sandbox's own (v2 where the host has it, else v1's
   ``memory`` and ``pids``): memory (with swap, shared memory and the page cache it
   causes) and task count are bounded for the sandbox as a whole, not per process;
2. ``unshare`` a new PID namespace (when ``namespaces``), which only the launcher's
   children enter;
3. fork: the launcher stays outside as a supervisor that only waits (and, on
   SIGTERM, kills the sandbox); the child joins the cgroup first thing, then, in
   namespaces, unshares new mount, network, IPC and UTS namespaces of its own (in the
   supervisor's, its ``pivot_root`` would take the host's ``/sys/fs/cgroup`` from the
   supervisor too) and is PID 1 of the new PID namespace, so when it dies the kernel kills
   every process the student started. When the child is gone the supervisor kills
   whatever is left in the cgroup (the only net without a PID namespace) and removes it;
4. in the fresh IPC namespace, make SysV shared memory, message queues and
   semaphores impossible (their sysctls are per namespace): such memory would
   outlive the process that made it (without namespaces the supervisor removes
   the sandbox uid's SysV objects when it ends);
5. build a fresh root: an empty tmpfs with read-only bind mounts of only what the
   program needs (system libraries, the interpreter, allowlisted packages, the
   student's staged package), a size-capped private ``/tmp``, a few devices, and,
   when asked, a size-capped tmpfs ``work`` folder filled with a copy of a host
   folder; no ``/proc`` (its ``mountinfo`` would name every bind's host path);
   ``pivot_root`` into it and detach the old root, so nothing
   else of the host (the repository, the solved ``cs_conv``, the grader, gradebooks)
   exists in there, and nothing on the host disk is writable;
6. set resource limits;
7. drop to the unprivileged user (when root), forbid new privileges, and ask for
   SIGKILL if the supervisor dies (after the uid change, which would clear it);
8. move the protocol pipes to fds 3 and 4 (or the output to a log), close every
   other fd, ``execve``.

The launcher itself asks for SIGKILL when the grader dies, so a grader killed from
outside (a worker's time-out) takes its sandboxes with it. Any failure before
``execve`` exits with status 121 and a message on stderr, which
the parent treats as a grader fault, not the student's.
"""

import ctypes
import fcntl
import json
import os
import resource
import shutil
import signal
import sys
import time

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWPID, CLONE_NEWNET = 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV = 1, 2, 4
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}
SETUP_FAILED = 121
RLIMITS = {"AS": "RLIMIT_AS", "CPU": "RLIMIT_CPU", "NPROC": "RLIMIT_NPROC", "FSIZE": "RLIMIT_FSIZE",
           "CORE": "RLIMIT_CORE", "NOFILE": "RLIMIT_NOFILE"}
CGROUP_FS = "/sys/fs/cgroup"
CGROUP_PARENT = "cs-conv-sandbox"
# SysV IPC off: no segment, queue or semaphore set can be created (values are per IPC namespace).
IPC_SYSCTLS = {"shmmni": "0", "shmall": "0", "shmmax": "0", "msgmni": "0", "sem": "0 0 0 0"}
CGROUP_GONE_SECONDS = 10.0

libc = ctypes.CDLL(None, use_errno=True)


class SetupError(Exception):
    pass


def check(result, what):
    if result != 0:
        errno = ctypes.get_errno()
        raise SetupError(f"{what}: {os.strerror(errno)}")


def mount(source, target, fstype, flags, data=None):
    encode = lambda s: s.encode() if s is not None else None
    check(libc.mount(encode(source), encode(target), encode(fstype), ctypes.c_ulong(flags), encode(data)),
          f"mount {source or fstype} on {target}")


def make_target(host, target):
    os.makedirs(os.path.dirname(target), mode=0o755, exist_ok=True)
    if os.path.isdir(host):
        os.makedirs(target, mode=0o755, exist_ok=True)
    elif not os.path.exists(target):
        with open(target, "w"):
            pass


# -- the cgroup: one per sandbox, made and removed by the supervisor


def write(path, text):
    with open(path, "w") as handle:
        handle.write(text)


def own_cgroup(controller):
    """This process's cgroup path in the v1 hierarchy of ``controller`` (or the v2 one for "")."""
    with open("/proc/self/cgroup") as handle:
        for line in handle:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            if controller in controllers.split(",") or (controller == "" and controllers == ""):
                return path
    return None


def cgroup_parent():
    """The folders new sandbox cgroups go in (one v2 folder, or one per v1 controller), and a name prefix."""
    if os.path.exists(f"{CGROUP_FS}/cgroup.controllers"):
        return {"": f"{CGROUP_FS}/{CGROUP_PARENT}"}, ""
    parents = {}
    for controller in ("memory", "pids"):
        path = own_cgroup(controller)
        if path is None or not os.path.isdir(f"{CGROUP_FS}/{controller}"):
            raise SetupError(f"cgroup: no {controller} controller on this host")
        # Below the grader's own cgroup, so that the host's limits on the grader still hold.
        parents[controller] = f"{CGROUP_FS}/{controller}{path.rstrip('/')}"
    return parents, CGROUP_PARENT + "-"


def sweep_orphans(parents, prefix):
    """Remove empty sandbox cgroups whose supervisor died without removing them (killed from outside).

    Only empty ones: a supervisor's processes die with it (PDEATHSIG), and a live sandbox of a
    grader in another PID namespace (whose supervisor this one cannot see) must not be touched.
    """
    for parent in parents.values():
        try:
            names = os.listdir(parent)
        except OSError:
            continue
        for name in names:
            pid = name[len(prefix):].split("-")[0] if name.startswith(prefix) else ""
            if not pid.isdigit():
                continue
            try:
                os.kill(int(pid), 0)
            except ProcessLookupError:
                try:
                    os.rmdir(f"{parent}/{name}")  # fails, harmlessly, while any task is inside
                except OSError:
                    pass
            except OSError:
                pass


def make_cgroup(settings):
    """Create and configure this sandbox's cgroup, named after this supervisor; return its folders."""
    parents, prefix = cgroup_parent()
    sweep_orphans(parents, prefix)
    name = f"{prefix}{os.getpid()}-{os.urandom(4).hex()}"
    folders = {controller: f"{parent}/{name}" for controller, parent in parents.items()}
    memory, tasks = str(settings["memory_bytes"]), str(settings["tasks"])
    try:
        if "" in folders:
            os.makedirs(parents[""], exist_ok=True)
            write(f"{parents['']}/cgroup.subtree_control", "+memory +pids")
            os.mkdir(folders[""])
            write(f"{folders['']}/memory.max", memory)
            if os.path.exists(f"{folders['']}/memory.swap.max"):
                write(f"{folders['']}/memory.swap.max", "0")
            write(f"{folders['']}/pids.max", tasks)
        else:
            for folder in folders.values():
                os.mkdir(folder)
            write(f"{folders['memory']}/memory.limit_in_bytes", memory)
            if os.path.exists(f"{folders['memory']}/memory.memsw.limit_in_bytes"):
                write(f"{folders['memory']}/memory.memsw.limit_in_bytes", memory)  # no swapping out of it
            write(f"{folders['pids']}/pids.max", tasks)
    except OSError as error:
        remove_cgroup(folders, patient=False)
        raise SetupError(f"cgroup: {error}") from None
    return folders


def join_cgroup(folders):
    for folder in folders.values():
        write(f"{folder}/cgroup.procs", "0")  # 0: the writing process


def cgroup_members(folders):
    members = set()
    for folder in folders.values():
        try:
            with open(f"{folder}/cgroup.procs") as handle:
                members.update(int(line) for line in handle if line.strip())
        except OSError:
            pass
    return members


def remove_cgroup(folders, patient=True):
    """Kill whatever is still in the cgroup, then remove it (killed tasks take a moment to leave)."""
    deadline = time.monotonic() + (CGROUP_GONE_SECONDS if patient else 0)
    while True:
        for pid in cgroup_members(folders):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        left = [folder for folder in folders.values() if os.path.isdir(folder)]
        for folder in left:
            try:
                os.rmdir(folder)
            except OSError:
                pass
        if not any(os.path.isdir(folder) for folder in left) or time.monotonic() > deadline:
            return
        time.sleep(0.01)


def remove_ipc_of(uid):
    """Remove every SysV shared memory segment, message queue and semaphore set ``uid`` owns.

    Without an IPC namespace (Docker's default capabilities) they live in the host's and would
    outlive the sandbox: a submission could keep gigabytes no process holds, or hand data to a
    later sandbox of the same uid.
    """
    removers = {"shm": lambda id_: libc.shmctl(id_, 0, None), "msg": lambda id_: libc.msgctl(id_, 0, None),
                "sem": lambda id_: libc.semctl(id_, 0, 0)}  # 0 = IPC_RMID
    # IPC_RMID takes the owner's or creator's uid, or CAP_SYS_ADMIN, which Docker's default
    # capabilities do not give root: remove them as the sandbox's uid (every process of it is gone).
    os.seteuid(uid)
    try:
        for kind, remove in removers.items():
            try:
                with open(f"/proc/sysvipc/{kind}") as handle:
                    header = handle.readline().split()
                    rows = [dict(zip(header, line.split(), strict=False)) for line in handle]
            except OSError:
                continue
            ids = "shmid" if kind == "shm" else "msqid" if kind == "msg" else "semid"
            for row in rows:
                if row.get("uid") == str(uid) or row.get("cuid") == str(uid):
                    remove(int(row[ids]))
    finally:
        os.seteuid(0)


# -- the child's setup, in order


def limit_ipc():
    for name, value in IPC_SYSCTLS.items():
        write(f"/proc/sys/kernel/{name}", value)


def build_root(config):
    root = config["root"]
    # Nothing mounted below may propagate back to the host's mount table.
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755")
    # The private /tmp comes before the binds, so that a bind below /tmp stays visible.
    os.makedirs(root + "/tmp", exist_ok=True)
    mount("tmpfs", root + "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={config['tmp_bytes']},mode=1777")
    for host, inside, mode in config["binds"]:
        target = root + inside
        if os.path.islink(host) and host == inside:
            # /bin -> usr/bin on merged-/usr systems: recreate the link, bind its target separately.
            os.makedirs(os.path.dirname(target), mode=0o755, exist_ok=True)
            os.symlink(os.readlink(host), target)
            continue
        make_target(host, target)
        mount(host, target, None, MS_BIND | MS_REC)
        flags = MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV
        mount(None, target, None, flags | MS_RDONLY if mode == "ro" else flags)
    for inside in config["hide"]:
        if os.path.isdir(root + inside):
            mount("tmpfs", root + inside, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, "size=4k,mode=0755")
    for device in ("null", "zero", "random", "urandom"):
        make_target("/dev/" + device, root + "/dev/" + device)
        mount("/dev/" + device, root + "/dev/" + device, None, MS_BIND)
    if config.get("work"):
        fill_work(root, config["work"])
    old = root + "/.old-root"
    os.makedirs(old)
    machine = os.uname().machine
    if machine not in SYS_PIVOT_ROOT:
        raise SetupError(f"pivot_root: unknown syscall number on {machine}")
    check(libc.syscall(SYS_PIVOT_ROOT[machine], root.encode(), old.encode()), "pivot_root")
    os.chdir("/")
    check(libc.umount2(b"/.old-root", MNT_DETACH), "detach the old root")
    os.rmdir("/.old-root")
    mount(None, "/", None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


def fill_work(root, work):
    """A size-capped tmpfs at ``work["inside"]`` holding a copy of the host folder ``work["host"]``.

    The copy keeps links as links (never followed) and belongs to the sandbox's user: what the
    program writes there stays in memory charged to its cgroup and vanishes with the sandbox.
    """
    target = root + work["inside"]
    os.makedirs(target, mode=0o755, exist_ok=True)
    mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, f"size={work['bytes']},mode=0755")
    shutil.copytree(work["host"], target, symlinks=True, dirs_exist_ok=True)
    if work.get("uid") is not None:
        for folder, dirs, files in os.walk(target):
            for name in [folder] + [os.path.join(folder, n) for n in dirs + files]:
                os.lchown(name, work["uid"], work["gid"])


def set_limits(config):
    for key, value in config["rlimits"].items():
        which = getattr(resource, RLIMITS[key])
        resource.setrlimit(which, (value, value))


def drop_privileges(config):
    if config["uid"] is None:
        return
    os.setgroups([])
    os.setgid(config["gid"])
    os.setuid(config["uid"])
    if os.getuid() == 0 or os.geteuid() == 0:
        raise SetupError("still root after setuid")


def seal():
    check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(NO_NEW_PRIVS)")
    check(libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl(PDEATHSIG)")


def move_fds(pairs, log):
    """Put each ``(current, wanted)`` pipe at its wanted number and close every other fd above 2.

    With a ``log`` fd, stdin is /dev/null and stdout/stderr go to the log: a process left behind
    must not hold the grader's pipes open (whoever reads them would wait for it forever).
    """
    # Park every pipe above the wanted numbers first: dup2(fd, fd) is a no-op that would
    # leave close-on-exec set, and a pipe may already sit on a number another one wants.
    parked = [(fcntl.fcntl(current, fcntl.F_DUPFD_CLOEXEC, 10), wanted) for current, wanted in pairs]
    for fd, wanted in parked:
        os.dup2(fd, wanted, inheritable=True)
        os.set_inheritable(wanted, True)
    if log is not None:
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
    keep = {wanted for _, wanted in pairs}
    limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    top = limit if limit != resource.RLIM_INFINITY and limit < 65536 else 65536
    for fd in range(3, top):
        if fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass


def supervise(child, cgroup, ipc_owner):
    """Wait for the sandbox's first process and exit the way it did; on SIGTERM, end the sandbox first.

    In a PID namespace, PID 1's exit completes only once the kernel has killed and reaped
    every other process in it; the cgroup catches the rest (without namespaces, a process
    that left the process group), so when this returns nothing the student started is left.
    """
    def end(*_):
        os.kill(child, signal.SIGKILL)
        if cgroup:
            for pid in cgroup_members(cgroup):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:  # gone since the list was read: raised here, it would end the supervisor
                    pass

    signal.signal(signal.SIGTERM, end)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a kernel's interrupts are for the kernel
    status = None
    while status is None:
        try:
            _, status = os.waitpid(child, 0)
        except ChildProcessError:
            status = SETUP_FAILED << 8
        except InterruptedError:
            continue
    if cgroup:
        remove_cgroup(cgroup)
    if ipc_owner is not None:
        remove_ipc_of(ipc_owner)
    if os.WIFSIGNALED(status):
        os._exit(128 + os.WTERMSIG(status))
    os._exit(os.WEXITSTATUS(status))


def start(config, cgroup, log):
    """In the child: everything from joining the cgroup to ``execve``."""
    if cgroup:
        join_cgroup(cgroup)
    if config["namespaces"]:
        check(libc.unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS), "unshare")
        limit_ipc()
        build_root(config)
    os.chdir(config.get("cwd") or "/")
    set_limits(config)
    drop_privileges(config)
    seal()
    move_fds(config["fds"], log)
    if config.get("probe"):
        os._exit(0)
    os.execve(config["argv"][0], config["argv"], config["env"])


def fail(error):
    sys.stderr.write(f"sandbox setup failed: {error}\n")
    sys.stderr.flush()
    os._exit(SETUP_FAILED)


def main():
    config = json.loads(sys.argv[1])
    grader = os.getppid()
    cgroup = None
    try:
        # If the grader dies (killed by a time-out of its own), everything started here dies too.
        check(libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl(PDEATHSIG)")
        if os.getppid() != grader:
            raise SetupError("the grader exited before the sandbox started")
        # Opened while the host's folders are in reach; only the child uses it.
        log = os.open(config["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600) if config.get("log") else None
        if config.get("cgroup"):
            cgroup = make_cgroup(config["cgroup"])
        if config["namespaces"]:
            # Only the PID namespace here: the supervisor must keep the host's mounts to remove the cgroup.
            check(libc.unshare(CLONE_NEWPID), "unshare")
        child = os.fork()
    except BaseException as error:  # noqa: B036 - any failure here is a setup failure
        if cgroup:
            remove_cgroup(cgroup, patient=False)
        fail(error)
    if child:
        # Without an IPC namespace, whatever SysV IPC the sandbox's uid made is cleared when it ends.
        supervise(child, cgroup, None if config["namespaces"] else config["uid"])
    try:
        start(config, cgroup, log)
    except BaseException as error:  # noqa: B036 - any failure here is a setup failure
        fail(error)


if __name__ == "__main__":
    main()
