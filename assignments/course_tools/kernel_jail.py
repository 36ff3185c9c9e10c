"""Start a command (a notebook kernel) in a jail: run as a script, standard library only.

    python kernel_jail.py SPEC.json -- COMMAND ...

``course_tools.kernel`` writes the spec and runs this in front of the kernel command. With
``"namespaces": true`` (root on Linux) the jail

1. unshares mount, PID, network, IPC and UTS namespaces and forks, so the command becomes PID 1
   of its own PID namespace: when it ends, every process it started ends with it;
2. builds a fresh root holding only the ``binds`` (system libraries, the interpreter read-only, the
   kernel's scratch files), a private ``/tmp``, a few devices and ``/proc``, and ``pivot_root``s into
   it, with the autograder sandbox's own code (``build_root`` of ``autograder/launcher.py``): nothing
   else on the machine, such as any copy of the repository, the grader or a gradebook, exists in there;
3. mounts a size-limited tmpfs at ``work`` and copies what was there (the notebook's folder) into it;
4. drops to ``user`` (``nobody``) with no capabilities and ``no_new_privs``, sets resource limits,
   and execs the command in ``work``.

Without namespaces it only sets the limits (and drops to ``user`` when it can). Exit status 121
means the jail itself could not be set up; its reason is on stderr.
"""

import ctypes
import importlib.util
import json
import os
import pwd
import resource
import shutil
import signal
import sys

SETUP_FAILED = 121
CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWPID, CLONE_NEWNET = 0x20000000, 0x40000000
MS_NOSUID, MS_NODEV = 2, 4
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38
LIMITS = {"cpu_seconds": resource.RLIMIT_CPU, "address_space": resource.RLIMIT_AS,
          "file_size": resource.RLIMIT_FSIZE, "processes": resource.RLIMIT_NPROC,
          "open_files": resource.RLIMIT_NOFILE, "core": resource.RLIMIT_CORE}

libc = ctypes.CDLL(None, use_errno=True)


def _check(result, what):
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _mount(source, target, fstype, flags, data=None):
    _check(libc.mount(source.encode() if source else None, target.encode(),
                      fstype.encode() if fstype else None, flags, data.encode() if data else None),
           f"mount {source} on {target}")


def _load_launcher(path):
    """The autograder's sandbox launcher as a module (stdlib only; its ``main`` does not run)."""
    spec = importlib.util.spec_from_file_location("sandbox_launcher", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _build_filesystem(spec):
    launcher = _load_launcher(spec["launcher"])
    # Open the notebook's folder first: after pivot_root the descriptor still reaches it.
    seed = os.open(spec["work"], os.O_PATH | os.O_DIRECTORY)
    launcher.build_root({"root": spec["root"], "binds": spec["binds"], "hide": [], "tmp_bytes": spec["tmp_bytes"]})
    work = spec["work"]
    _mount("tmpfs", work, "tmpfs", MS_NOSUID | MS_NODEV, f"size={spec['work_size']},mode=755")
    shutil.copytree(f"/proc/self/fd/{seed}", work, dirs_exist_ok=True, symlinks=True)
    os.close(seed)


def _hand_over(path, uid, gid):
    for root, dirs, files in os.walk(path):
        for name in [root] + [os.path.join(root, n) for n in dirs + files]:
            os.lchown(name, uid, gid)


def _limit(spec):
    for name, value in spec["limits"].items():
        resource.setrlimit(LIMITS[name], (value, value))


def _drop_privileges(entry):
    os.setgroups([])
    os.setgid(entry.pw_gid)
    os.setuid(entry.pw_uid)
    _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")


def _start(spec, command):
    """In the final process: filesystem, ownership, output, limits, user, then exec the command."""
    # Look the user up and open the log while the host's /etc and the scratch folder are in reach.
    entry = pwd.getpwnam(spec["user"]) if spec.get("user") else None
    log = os.open(spec.get("log") or os.devnull, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    if spec["namespaces"]:
        _build_filesystem(spec)
    if entry:
        _hand_over(spec["work"], entry.pw_uid, entry.pw_gid)
    os.chdir(spec["work"])
    # The command's own output goes to a log, never to the grader's pipes: a process it leaves
    # behind must not hold them open (whoever reads them would wait for it forever).
    _redirect(log)
    _limit(spec)
    if entry:
        _drop_privileges(entry)
    if spec["namespaces"]:
        # Set last: changing user clears it. When the jail dies, so does PID 1, and the namespace.
        _check(libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "pdeathsig")
    os.execve(command[0], command, spec["env"])


def _redirect(log):
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(null)
    os.close(log)


def main(argv):
    spec_path, separator, *command = argv if len(argv) >= 2 else ("", "")
    if separator != "--" or not command:
        print("usage: kernel_jail.py SPEC.json -- COMMAND ...", file=sys.stderr)
        return SETUP_FAILED
    with open(spec_path) as handle:
        spec = json.load(handle)
    try:
        if not spec["namespaces"]:
            _start(spec, command)
        flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS
        _check(libc.unshare(flags), "unshare")
    except OSError as error:
        print(f"kernel jail: {error}", file=sys.stderr)
        return SETUP_FAILED
    child = os.fork()
    if child == 0:
        try:
            # PID 1 of the new namespace: it dies with the jail, and everything it starts dies with it.
            _start(spec, command)
        except BaseException as error:  # noqa: BLE001 - report any setup failure, then leave
            print(f"kernel jail: {error}", file=sys.stderr)
            os._exit(SETUP_FAILED)
    # The kernel handles SIGINT (interrupts) itself; the jail must survive them.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            _, status = os.waitpid(child, 0)
            break
        except ChildProcessError:
            return SETUP_FAILED
        except InterruptedError:
            continue
    return os.waitstatus_to_exitcode(status) % 256


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
