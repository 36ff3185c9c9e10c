"""The speed cases' yardstick (``autograder.checks.speed``): the loop layers timed on one image, scaled by the batch.

No timing is asserted: the clock is replaced by a counter, so what is checked is which input
the yardstick times and how it turns that into the batch's time.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from autograder import reference
from autograder.checks import speed

SECONDS_PER_RUN = 0.25


@pytest.fixture
def timed_inputs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, ...]]:
    """The x shapes the loop layers are run on, with every timed run taking ``SECONDS_PER_RUN``."""
    shapes: list[tuple[int, ...]] = []

    def one_run(run: Callable[[], object], repeats: int) -> float:
        run()
        return SECONDS_PER_RUN

    def recording(loops: Callable[..., object], x_at: int) -> Callable[..., object]:
        def wrapper(*args: object) -> object:
            x = args[x_at]
            assert isinstance(x, np.ndarray)
            shapes.append(x.shape)
            return loops(*args)
        return wrapper

    monkeypatch.setattr(speed, "_best_seconds", one_run)
    for name, x_at in (("conv_forward_loops", 0), ("conv_backward_loops", 1), ("pool_forward_loops", 0),
                       ("pool_backward_loops", 1)):
        monkeypatch.setattr(reference, name, recording(getattr(reference, name), x_at))
    return shapes


@pytest.mark.parametrize("kind, batch_shape", [("conv", speed.CONV_X), ("max", speed.POOL_X), ("avg", speed.POOL_X)])
@pytest.mark.parametrize("backward", [False, True])
def test_the_yardstick_times_one_image_and_scales_by_the_batch(timed_inputs, kind, batch_shape, backward):
    seconds = speed._measure_loops(kind, backward)
    assert timed_inputs == [(1, *batch_shape[1:])]
    assert seconds == pytest.approx(SECONDS_PER_RUN * batch_shape[0])


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_the_pool_loops_work_image_by_image(kind):
    # What makes scaling honest: the batch's loops are each image's loops, one after another.
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 2, 6, 6))
    param = {"pool_height": 2, "pool_width": 2, "stride": 2}
    dout = rng.standard_normal(reference.max_pool_forward(x, param).shape)
    out, dx = reference.pool_forward_loops(x, param, kind), reference.pool_backward_loops(dout, x, param, kind)
    for n in range(3):
        one = slice(n, n + 1)
        np.testing.assert_array_equal(out[one], reference.pool_forward_loops(x[one], param, kind))
        np.testing.assert_array_equal(dx[one], reference.pool_backward_loops(dout[one], x[one], param, kind))


def test_the_conv_loops_work_image_by_image():
    rng = np.random.default_rng(6)
    x, w, b = rng.standard_normal((3, 2, 5, 5)), rng.standard_normal((4, 2, 3, 3)), rng.standard_normal(4)
    param = {"stride": 1, "pad": 1}
    dout = rng.standard_normal(reference.conv_forward(x, w, b, param).shape)
    out = reference.conv_forward_loops(x, w, b, param)
    dx, dw, db = reference.conv_backward_loops(dout, x, w, param)
    dw_sum, db_sum = np.zeros_like(dw), np.zeros_like(db)
    for n in range(3):
        one = slice(n, n + 1)
        np.testing.assert_allclose(out[one], reference.conv_forward_loops(x[one], w, b, param), rtol=1e-12)
        dx_n, dw_n, db_n = reference.conv_backward_loops(dout[one], x[one], w, param)
        np.testing.assert_allclose(dx[one], dx_n, rtol=1e-12)
        dw_sum, db_sum = dw_sum + dw_n, db_sum + db_n
    np.testing.assert_allclose(dw, dw_sum, rtol=1e-10)
    np.testing.assert_allclose(db, db_sum, rtol=1e-10)
