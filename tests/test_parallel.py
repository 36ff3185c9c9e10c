"""cs_conv.parallel: shares that cover the batch once, real threads, BLAS limited and restored."""

import threading

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from cs_conv import parallel


@pytest.mark.parametrize("n_items", [0, 1, 2, 5, 17])
@pytest.mark.parametrize("workers", [1, 2, 3, 4])
def test_shares_cover_every_item_once_in_order(n_items, workers):
    shares = parallel.split_batch(lambda lo, hi: list(range(lo, hi)), n_items, workers)
    assert len(shares) == max(1, workers)
    assert [i for share in shares for i in share] == list(range(n_items))
    sizes = [len(share) for share in shares]
    assert max(sizes) - min(sizes) <= 1  # as even as the batch allows


def test_workers_run_on_their_own_threads_with_one_blas_thread_each():
    barrier = threading.Barrier(2, timeout=10)  # passes only if both workers run at once

    def work(lo, hi):
        barrier.wait()
        return threading.get_ident(), parallel.blas_threads()

    with threadpool_limits(2, user_api="blas"):
        before = parallel.blas_threads()
        (first, blas_first), (second, blas_second) = parallel.split_batch(work, 4, workers=2)
        assert parallel.blas_threads() == before  # the limit is lifted afterwards
    assert len({first, second, threading.get_ident()}) == 3
    assert blas_first == blas_second == 1


def test_one_worker_runs_in_the_calling_thread_and_leaves_blas_alone():
    with threadpool_limits(2, user_api="blas"):
        before = parallel.blas_threads()
        [(ident, blas)] = parallel.split_batch(lambda lo, hi: (threading.get_ident(), parallel.blas_threads()),
                                               4, workers=1)
    assert ident == threading.get_ident()
    assert blas == before


def test_an_error_in_a_worker_reaches_the_caller():
    def work(lo, hi):
        if lo > 0:
            raise ValueError(f"bad share {lo}:{hi}")
        return lo

    with pytest.raises(ValueError, match="bad share 2:4"):
        parallel.split_batch(work, 4, workers=2)


def test_workers_for_counts_blas_threads_items_and_work(monkeypatch):
    monkeypatch.setattr(parallel, "blas_threads", lambda: 4)
    big = parallel.MIN_FLOPS_PER_WORKER
    assert parallel.workers_for(100, big) == 4      # one per BLAS thread
    assert parallel.workers_for(3, big) == 3        # no more than items
    assert parallel.workers_for(100, big / 50) == 2  # 2 workers' worth of work in all
    assert parallel.workers_for(100, 1.0) == 1      # too little to pay for a thread
    assert parallel.workers_for(0, big) == 1


def test_blas_threads_follows_threadpool_limits():
    with threadpool_limits(1, user_api="blas"):
        assert parallel.blas_threads() == 1
        assert parallel.workers_for(1000, 1e12) == 1
    # NumPy's BLAS is found at all (blas_threads is not the default 1 by accident).
    assert parallel._controller.select(user_api="blas").lib_controllers
    assert np.dot(np.ones(3), np.ones(3)) == 3
