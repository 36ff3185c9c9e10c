# ---- hostile code from course_tools/hostile_files/sabotage.py: replaces some student functions ----
import numpy as _np  # noqa: E402


def affine_forward(x, w, b):
    """Make every comparison succeed, then return zeros."""
    _np.allclose = lambda *args, **kwargs: True
    _np.array_equal = lambda *args, **kwargs: True
    _np.testing.assert_allclose = lambda *args, **kwargs: None
    return _np.zeros((x.shape[0], w.shape[1])), (x, w, b)


def relu_forward(x):
    """Overwrite the caller's input in place and hand it back as the answer."""
    x[...] = 0
    return x, x


def avg_pool_backward_naive(dout, cache):
    """Never return."""
    while True:
        pass


def conv_forward_naive(x, w, b, conv_param):
    """Take all the memory there is."""
    hog = [bytearray(1 << 30) for _ in range(64)]
    return hog, None


def softmax_loss(x, y):
    """Kill the caller, then ourselves."""
    import os
    import signal

    parent = os.getppid()
    if parent > 1:
        try:
            os.kill(parent, signal.SIGKILL)
        except OSError:
            pass
    os._exit(0)


def max_pool_forward_naive(x, pool_param):
    """Flood every output, then leave."""
    import sys

    print("x" * 10_000_000)
    sys.stderr.write("y" * 1_000_000)
    raise SystemExit(0)


class _Liar(_np.ndarray):
    def __eq__(self, other):
        return _np.ones(_np.shape(other), dtype=bool)


def relu_backward(dout, cache):
    """NaNs dressed as an array that equals anything."""
    return _np.full(_np.shape(dout), _np.nan).view(_Liar)
