"""The program inside the sandbox: a pristine fork server, and the check processes it forks.

This file is not imported by the grader: ``python -I -S`` runs it inside the sandbox
(bound read-only at ``/opt/grader/runner.py``), so it must stand alone (stdlib and numpy only).

argv: ``<this file> <package root> <site dir> <control fd> <1 if in a PID namespace, else 0>``.

The process started in the sandbox (PID 1 of its namespace there) is the *zygote*:
it imports numpy, never imports student code, and waits on the control socket (a
Unix seqpacket socket to the grader). For each check the grader sends ``{"op":
"fork"}`` with two pipe ends attached (SCM_RIGHTS); the zygote forks a *check
process* that serves requests on those pipes, then waits until that process exits
or the grader sends ``{"op": "kill"}``. Either way it then kills every other
process left in the namespace (PID 1's ``kill(-1)``), reaps them, empties ``/tmp``
and answers ``{"ended": {"code": c}}`` or ``{"ended": {"signal": s}}``. So each
check starts from the same clean interpreter, in a fresh process, with nothing the
previous check left behind, at the cost of a fork instead of a new interpreter.

The zygote is not dumpable (no ptrace or /proc/1/mem from the same user) and, as
PID 1, receives no signal from inside its namespace. A check process shares its
address space with nothing and is believed in nothing: the parent decodes every
reply with ``autograder.protocol`` and judges values itself.

Requests to a check process (one frame each, see ``autograder.protocol``):

- ``{"op": "import", "module": "cs_conv.layers"}``
- ``{"op": "compile", "file": "cs_conv/layers.py"}``: the file's bytecode (``marshal``) as one uint8 array,
  compiled and not run, asked of a fresh process before any check so that checks need not compile
- ``{"op": "call", "callee": {"module": m, "name": f} | {"ref": r, "name": method},
  "args": [...], "kwargs": {...}, "keep": name | null, "select": [path, ...] | null, "echo": bool}``
- ``{"op": "setitem", "target": {"ref": r, "attr": a}, "key": k, "value": tree}``

Argument trees use tagged objects: ``{"$t": "array", "i": k}`` (k-th array of the
frame), ``{"$t": "tuple" | "list", "v": [...]}``, ``{"$t": "dict", "v": {...}}``,
``{"$t": "ref", "name": r, "path": [...]}`` (a value an earlier call kept), and
plain JSON scalars. Results come back as a tree of ``{"$t": ...}`` nodes; arrays
are sent only under the ``select`` paths (all when null) and echoed request
arrays follow them when ``echo`` is set, so the parent can see mutation.
"""

import ctypes
import gc
import json
import marshal
import os
import selectors
import shutil
import signal
import socket
import struct
import sys
import traceback

PACKAGE_ROOT, SITE_DIR, CONTROL_FD, NAMESPACED = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1"
FD_IN = FD_OUT = -1  # a check process's request and reply pipes, set when it is forked
sys.path.insert(0, PACKAGE_ROOT)
if SITE_DIR:
    sys.path.append(SITE_DIR)

import numpy as np  # noqa: E402

# Trusted modules that the kit's own imports pull in, from the standard library and the allowlisted
# packages: imported once here, so a check process finds them loaded instead of paying for them on
# every check. They are not student code, and every check still starts from this same state.
WARM = ("dataclasses", "concurrent.futures.thread", "threadpoolctl", "typing", "collections.abc")
for _name in WARM:
    try:
        __import__(_name)
    except ImportError:  # not installed here: the student's import of it reports that, in its check
        pass

MAGIC = b"CSG1"
PREFIX = struct.Struct("<4sIQ")
ALLOWED = {"float64", "float32", "float16", "int64", "int32", "int16", "int8",
           "uint64", "uint32", "uint16", "uint8", "bool"}
MAX_SEQ = 64
MAX_TEXT = 2000

# Bound once, so that a student who monkeypatches numpy or json by accident
# does not garble every reply. A deliberate attacker can still do anything here;
# the parent does not rely on this process telling the truth.
_dumps, _loads = json.dumps, json.loads
_ndarray, _asarray, _array, _frombuffer = np.ndarray, np.asarray, np.array, np.frombuffer
_floating, _integer, _bool_ = np.floating, np.integer, np.bool_
_read, _write = os.read, os.write
_store = {}  # type: dict[str, object]


def read_exact(n):
    chunks, left = [], n
    while left:
        chunk = _read(FD_IN, min(left, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_frame():
    magic, header_len, payload_len = PREFIX.unpack(read_exact(PREFIX.size))
    header = _loads(read_exact(header_len).decode())
    payload = read_exact(payload_len)
    arrays, offset = [], 0
    for spec in header.get("arrays", []):
        dtype = np.dtype(spec["dtype"])
        count = 1
        for n in spec["shape"]:
            count *= n
        flat = _frombuffer(payload, dtype=dtype, count=count, offset=offset)
        arrays.append(_array(flat.reshape(spec["shape"]), copy=True))
        offset += count * dtype.itemsize
    return header, arrays


def send(header, arrays=()):
    specs, chunks = [], []
    for array in arrays:
        specs.append({"dtype": array.dtype.name, "shape": list(array.shape)})
        chunks.append(array.tobytes())
    header = dict(header)
    header["arrays"] = specs
    body = _dumps(header, allow_nan=True).encode()
    payload = b"".join(chunks)
    data = PREFIX.pack(MAGIC, len(body), len(payload)) + body + payload
    view = memoryview(data)
    while view:
        view = view[_write(FD_OUT, view):]


def describe_error(error):
    """Type, message and the innermost line of the student's own code that raised."""
    where = ""
    for frame in traceback.extract_tb(error.__traceback__):
        if frame.filename.startswith(PACKAGE_ROOT + os.sep):
            where = f"{frame.filename[len(PACKAGE_ROOT) + 1:]}, line {frame.lineno}, in {frame.name}"
    try:
        message = str(error)
    except BaseException:  # noqa: B036 - a hostile __str__ must not take the runner down
        message = "<message could not be read>"
    return {"type": type(error).__name__, "message": message[:MAX_TEXT], "where": where}


def build(tree, arrays, sent):
    """Turn a tagged argument tree into Python values; each array index becomes one object."""
    if isinstance(tree, dict):
        tag = tree["$t"]
        if tag == "array":
            i = tree["i"]
            if i not in sent:
                sent[i] = arrays[i]
            return sent[i]
        if tag == "tuple":
            return tuple(build(item, arrays, sent) for item in tree["v"])
        if tag == "list":
            return [build(item, arrays, sent) for item in tree["v"]]
        if tag == "dict":
            return {key: build(item, arrays, sent) for key, item in tree["v"].items()}
        if tag == "ref":
            value = _store[tree["name"]]
            for step in tree.get("path", []):
                value = value[step]
            return value
        raise ValueError(f"unknown tag {tag!r}")
    return tree


def encode(value, path, select, out, depth=0):
    """A tree describing ``value``; arrays under a selected path are appended to ``out``."""
    wanted = select is None or any(path[:len(p)] == p for p in select)
    if isinstance(value, _ndarray):
        node = {"$t": "array", "type": type(value).__name__, "dtype": str(value.dtype),
                "shape": list(value.shape)}
        if wanted:
            plain = _array(value, copy=True, subok=False)
            if plain.dtype.name in ALLOWED:
                node["i"] = len(out)
                out.append(_asarray(plain, dtype=plain.dtype.newbyteorder("=")))
        return node
    if isinstance(value, (bool, _bool_)):
        return {"$t": "bool", "v": bool(value), "type": type(value).__name__}
    if isinstance(value, (int, _integer)):
        return {"$t": "int", "v": int(value), "type": type(value).__name__}
    if isinstance(value, (float, _floating)):
        return {"$t": "float", "v": float(value), "type": type(value).__name__}
    if value is None:
        return {"$t": "none"}
    if depth < 4 and isinstance(value, (tuple, list)):
        items = [encode(item, path + [k], select, out, depth + 1) for k, item in enumerate(value[:MAX_SEQ])]
        return {"$t": "seq", "type": type(value).__name__, "len": len(value), "v": items}
    if depth < 4 and isinstance(value, dict):
        items = {}
        for key in list(value)[:MAX_SEQ]:
            if isinstance(key, str):
                items[key[:100]] = encode(value[key], path + [key], select, out, depth + 1)
        return {"$t": "dict", "type": type(value).__name__, "len": len(value), "v": items}
    return {"$t": "other", "type": type(value).__name__[:100]}


def callee(spec):
    if "module" in spec:
        return getattr(sys.modules[spec["module"]], spec["name"])
    return getattr(_store[spec["ref"]], spec["name"])


def handle(header, arrays):
    op = header["op"]
    if op == "import":
        __import__(header["module"])
        return {"ok": True}, []
    if op == "compile":
        path = os.path.join(PACKAGE_ROOT, header["file"])
        with open(path, "rb") as source:
            code = compile(source.read(), path, "exec", dont_inherit=True)
        return {"ok": True}, [_frombuffer(marshal.dumps(code), dtype=np.uint8)]
    if op == "setitem":
        sent = {}
        target = getattr(_store[header["target"]["ref"]], header["target"]["attr"])
        target[header["key"]] = build(header["value"], arrays, sent)
        return {"ok": True}, []
    if op == "call":
        sent = {}
        function = callee(header["callee"])
        args = [build(item, arrays, sent) for item in header.get("args", [])]
        kwargs = {key: build(item, arrays, sent) for key, item in header.get("kwargs", {}).items()}
        value = function(*args, **kwargs)
        if header.get("keep"):
            _store[header["keep"]] = value
        out = []
        tree = encode(value, [], header.get("select"), out)
        echo = []
        if header.get("echo"):
            for i in sorted(sent):
                echo.append(len(out))
                out.append(_array(sent[i], copy=True, subok=False))
        return {"ok": True, "value": tree, "echo": echo}, out
    raise ValueError(f"unknown op {op!r}")


def serve():
    """A check process: answer requests until the grader closes the request pipe."""
    while True:
        try:
            header, arrays = read_frame()
        except EOFError:
            return
        try:
            reply, out = handle(header, arrays)
        except BaseException as error:  # noqa: B036 - SystemExit from student code is an answer too
            reply, out = {"ok": False, "error": describe_error(error)}, []
        send(reply, out)


def control_send(control, message):
    control.send(_dumps(message).encode())


def watch(control, pid, is_init):
    """Wait for check process ``pid`` to exit, killing it if the grader asks; return its wait status."""
    pidfd = os.pidfd_open(pid) if hasattr(os, "pidfd_open") else None
    with selectors.DefaultSelector() as selector:
        selector.register(control, selectors.EVENT_READ)
        if pidfd is not None:
            selector.register(pidfd, selectors.EVENT_READ)
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            for key, _ in selector.select(None if pidfd is not None else 0.05):
                if key.fileobj is control:
                    message = control.recv(4096)
                    if not message:  # the grader is gone: so is everything here
                        sweep(pid, is_init)
                        os._exit(0)
                    kill(pid, is_init)
    if pidfd is not None:
        os.close(pidfd)
    return status


def kill(pid, is_init):
    """SIGKILL check process ``pid`` and everything it started (as far as can be found)."""
    try:
        if is_init:
            os.kill(-1, signal.SIGKILL)  # from PID 1: every other process in the namespace
        else:
            os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def sweep(pid, is_init):
    """Kill check process ``pid`` and everything it started, and reap them all."""
    while True:
        kill(pid, is_init)  # again each time: a fork bomb may have forked since
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def empty_tmp():
    for name in os.listdir("/tmp"):
        path = os.path.join("/tmp", name)
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                os.unlink(path)
        except OSError:
            pass


def zygote():
    global FD_IN, FD_OUT
    # Only PID 1 of the sandbox's own namespace may kill(-1): anywhere else that means every process of the user.
    is_init = NAMESPACED and os.getpid() == 1
    # Not dumpable: a check process of the same user cannot ptrace this one or read its memory.
    ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE
    control = socket.socket(fileno=CONTROL_FD)
    # Everything loaded so far is shared with each check process copy-on-write. Without this, the
    # first garbage collection in a check process walks (and so writes to, and copies) every object
    # here, which made a check's imports 2-3x slower than in a process of its own.
    gc.freeze()
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(control, 4096, 2)
        except OSError:
            return
        if not message:
            return
        op = _loads(message).get("op")
        if op == "kill" and not fds:
            continue  # a kill that crossed paths with the check's own exit: nothing is running
        if op != "fork" or len(fds) != 2:
            for fd in fds:
                os.close(fd)
            control_send(control, {"error": "expected a fork with two pipes"})
            continue
        pid = os.fork()
        if pid == 0:
            control.close()  # a check process has no say over the zygote
            os.setpgid(0, 0)
            FD_IN, FD_OUT = fds
            signal.signal(signal.SIGPIPE, signal.SIG_DFL)
            serve()
            os._exit(0)
        for fd in fds:
            os.close(fd)
        control_send(control, {"forked": True})
        status = watch(control, pid, is_init)
        sweep(pid, is_init)
        if is_init:
            empty_tmp()
        ended = {"signal": os.WTERMSIG(status)} if os.WIFSIGNALED(status) else {"code": os.WEXITSTATUS(status)}
        control_send(control, {"ended": ended})


zygote()
