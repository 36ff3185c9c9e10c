"""Spread a batch over the cores: one worker thread per core, each with one-thread BLAS.

The fast conv layers do, for each image, an unfolding (``im2col``, one core) and a
matrix product whose smaller side is the number of filters (64 in a typical layer).
Left to itself, NumPy's BLAS splits each such product over the cores, which waits
for the unfolding and keeps the cores only partly busy on so thin a product.
``split_batch`` splits the *images* instead: every worker unfolds and multiplies its
own share of the batch with single-threaded BLAS, so every core works all the time.
The compiled kernels and NumPy's matrix products release the GIL, so the threads
truly run at once.

The number of workers is the number of threads BLAS would have used (as
``threadpoolctl`` reports it), so ``OPENBLAS_NUM_THREADS=1`` or an enclosing
``threadpool_limits(1)`` means one worker and no threads at all. Small batches run
in the calling thread too: starting threads costs more than it saves.

While workers run, BLAS is limited to one thread for the whole process; the limit is
lifted when they finish.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy  # noqa: F401  (loads NumPy's BLAS, so that the controller below finds it)
from threadpoolctl import ThreadpoolController

Result = TypeVar("Result")

# Below this many floating-point operations per worker a thread costs more than it saves
# (starting one takes ~0.1 ms; this is about a millisecond of work).
MIN_FLOPS_PER_WORKER = 50_000_000

_controller = ThreadpoolController()


def blas_threads() -> int:
    """How many threads NumPy's BLAS would use for a product now (at least 1)."""
    return max([lib.num_threads for lib in _controller.select(user_api="blas").lib_controllers], default=1)


def workers_for(n_items: int, flops_per_item: float) -> int:
    """How many workers a batch of ``n_items`` items of ``flops_per_item`` work each pays for.

    At most one per BLAS thread and one per item, and one per ``MIN_FLOPS_PER_WORKER``
    of work; always at least 1.
    """
    return int(max(1, min(blas_threads(), n_items, n_items * flops_per_item // MIN_FLOPS_PER_WORKER)))


def split_batch(work: Callable[[int, int], Result], n_items: int, workers: int) -> list[Result]:
    """Run ``work(lo, hi)`` over ``workers`` consecutive shares of ``range(n_items)`` at once.

    Parameters
    ----------
    work : callable taking (lo, hi) and doing items lo..hi-1. Workers run at the same
        time, so each must write only its own items' part of any shared output.
    n_items : int, the batch size
    workers : int, how many shares (``workers_for`` says how many pay off); with 1,
        ``work(0, n_items)`` runs in the calling thread and BLAS is left alone

    Returns
    -------
    list of what each ``work`` call returned, in the order of the shares. An exception
    in a worker is raised here.

    >>> split_batch(lambda lo, hi: (lo, hi), 10, workers=3)
    [(0, 3), (3, 6), (6, 10)]
    """
    if workers <= 1:
        return [work(0, n_items)]
    bounds = [n_items * k // workers for k in range(workers + 1)]
    with _controller.limit(limits=1, user_api="blas"), ThreadPoolExecutor(workers) as pool:
        return list(pool.map(work, bounds[:-1], bounds[1:]))
