"""Enter the sandbox, then exec the given program. Runs as ``python -I -S -B launcher.py CONFIG``.

This script is trusted and stands alone (stdlib only): the parent runs it by path,
and it must not import anything the student could have placed on ``sys.path``.
``autograder.sandbox`` writes CONFIG (JSON); the steps, in order:

1. ``unshare`` new mount, network, PID, IPC and UTS namespaces (when ``namespaces``);
2. fork: the launcher stays outside as a supervisor that only waits (and, on
   SIGTERM, kills the child), the child is PID 1 of the new PID namespace, so when it
   dies the kernel kills every process the student started, even ones that left the
   process group;
3. build a fresh root: an empty tmpfs with read-only bind mounts of only what the
   program needs (system libraries, the interpreter, allowlisted packages, the
   student's staged package), a private ``/tmp``, a few devices and a new ``/proc``;
   ``pivot_root`` into it and detach the old root, so nothing else of the host
   (the repository, the solved ``cs_conv``, the grader, gradebooks) exists in there;
4. set resource limits;
5. drop to the unprivileged user (when root), forbid new privileges, and ask for
   SIGKILL if the supervisor dies (after the uid change, which would clear it);
6. move the protocol pipes to fds 3 and 4, close every other fd, ``execve``.

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
import signal
import sys

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWPID, CLONE_NEWNET = 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}
SETUP_FAILED = 121
RLIMITS = {"AS": "RLIMIT_AS", "CPU": "RLIMIT_CPU", "NPROC": "RLIMIT_NPROC", "FSIZE": "RLIMIT_FSIZE",
           "CORE": "RLIMIT_CORE", "NOFILE": "RLIMIT_NOFILE"}

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
        if mode == "ro":
            mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
        elif mode == "rw":
            mount(None, target, None, MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV)
    for inside in config["hide"]:
        if os.path.isdir(root + inside):
            mount("tmpfs", root + inside, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, "size=4k,mode=0755")
    for device in ("null", "zero", "random", "urandom"):
        make_target("/dev/" + device, root + "/dev/" + device)
        mount("/dev/" + device, root + "/dev/" + device, None, MS_BIND)
    os.makedirs(root + "/proc", mode=0o555, exist_ok=True)
    mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
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


def move_fds(pairs):
    """Put each ``(current, wanted)`` pipe at its wanted number and close every other fd above 2."""
    # Park every pipe above the wanted numbers first: dup2(fd, fd) is a no-op that would
    # leave close-on-exec set, and a pipe may already sit on a number another one wants.
    parked = [(fcntl.fcntl(current, fcntl.F_DUPFD_CLOEXEC, 10), wanted) for current, wanted in pairs]
    for fd, wanted in parked:
        os.dup2(fd, wanted, inheritable=True)
        os.set_inheritable(wanted, True)
    keep = {wanted for _, wanted in pairs}
    limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    top = limit if limit != resource.RLIM_INFINITY and limit < 65536 else 65536
    for fd in range(3, top):
        if fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass


def supervise(child):
    """Wait for the sandbox's PID 1 and exit the way it did; on SIGTERM, end the sandbox first.

    PID 1's exit completes only once the kernel has killed and reaped every other
    process in its namespace, so when this returns, nothing the student started is
    left (not even zombies, which would still count against the user's process limit).
    """
    signal.signal(signal.SIGTERM, lambda *_: os.kill(child, signal.SIGKILL))
    while True:
        try:
            _, status = os.waitpid(child, 0)
            break
        except ChildProcessError:
            os._exit(SETUP_FAILED)
        except InterruptedError:
            continue
    if os.WIFSIGNALED(status):
        os._exit(128 + os.WTERMSIG(status))
    os._exit(os.WEXITSTATUS(status))


def main():
    config = json.loads(sys.argv[1])
    grader = os.getppid()
    try:
        # If the grader dies (killed by a time-out of its own), everything started here dies too.
        check(libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl(PDEATHSIG)")
        if os.getppid() != grader:
            raise SetupError("the grader exited before the sandbox started")
        if config["namespaces"]:
            check(libc.unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS),
                  "unshare")
            child = os.fork()
            if child:
                supervise(child)
            build_root(config)
        set_limits(config)
        drop_privileges(config)
        seal()
        move_fds(config["fds"])
        if config.get("probe"):
            os._exit(0)
        os.execve(config["argv"][0], config["argv"], config["env"])
    except BaseException as error:  # noqa: B036 - any failure here is a setup failure
        sys.stderr.write(f"sandbox setup failed: {error}\n")
        sys.stderr.flush()
        os._exit(SETUP_FAILED)


if __name__ == "__main__":
    main()
