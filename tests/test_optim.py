"""Update rules against steps computed by hand, two steps each so the carried state is checked."""

import numpy as np
import pytest

from cs_conv import optim


def test_sgd_steps_against_the_gradient():
    w, dw = np.array([1.0, 2.0]), np.array([10.0, -10.0])
    next_w, config = optim.sgd(w, dw, {"learning_rate": 0.1})
    np.testing.assert_allclose(next_w, [0.0, 3.0])
    assert optim.sgd(w, dw)[1]["learning_rate"] == 1e-2


def test_sgd_momentum_two_steps_by_hand():
    # lr 0.1, momentum 0.9, gradient 2 twice, from w = 1:
    #   v1 = -0.1 * 2 = -0.2            w1 = 0.8
    #   v2 = 0.9 * -0.2 - 0.2 = -0.38   w2 = 0.42
    w, dw = np.array([1.0]), np.array([2.0])
    w1, config = optim.sgd_momentum(w, dw, {"learning_rate": 0.1, "momentum": 0.9})
    np.testing.assert_allclose(w1, [0.8])
    np.testing.assert_allclose(config["velocity"], [-0.2])
    w2, config = optim.sgd_momentum(w1, dw, config)
    np.testing.assert_allclose(w2, [0.42])
    np.testing.assert_allclose(config["velocity"], [-0.38])


def test_rmsprop_two_steps_by_hand():
    # lr 0.1, decay 0.99, epsilon 0, gradient 2 twice, from w = 1:
    #   cache1 = 0.01 * 4 = 0.04, step = 0.1 * 2 / 0.2 = 1           w1 = 0
    #   cache2 = 0.99 * 0.04 + 0.04 = 0.0796, step = 0.2 / sqrt(0.0796) w2 = -0.70888...
    w, dw = np.array([1.0]), np.array([2.0])
    w1, config = optim.rmsprop(w, dw, {"learning_rate": 0.1, "decay_rate": 0.99, "epsilon": 0.0})
    np.testing.assert_allclose(w1, [0.0], atol=1e-15)
    np.testing.assert_allclose(config["cache"], [0.04])
    w2, config = optim.rmsprop(w1, dw, config)
    np.testing.assert_allclose(config["cache"], [0.0796])
    np.testing.assert_allclose(w2, [-0.7088812050083358])


@pytest.mark.task5_9
def test_adam_two_steps_by_hand():
    # lr 0.1, beta1 0.9, beta2 0.999, epsilon 0, from w = [1, -1].
    # Step 1, dw = [0.5, -2]: bias correction makes m_hat = dw and v_hat = dw**2, so each
    # entry moves by lr against the sign of its gradient: w1 = [0.9, -0.9].
    # Step 2, dw = [0.5, 1]:
    #   m = 0.9 * 0.1 * [0.5, -2] + 0.1 * [0.5, 1] = [0.095, -0.08];  m_hat = m / 0.19
    #   v = 0.999 * 0.001 * [0.25, 4] + 0.001 * [0.25, 1] = [0.00049975, 0.004996];  v_hat = v / 0.001999
    #   entry 0: m_hat = 0.5, v_hat = 0.25: step 0.1 * 0.5 / 0.5 = 0.1, so w2 = 0.8
    #   entry 1: m_hat = -0.421053, v_hat = 2.499250: step -0.026634, so w2 = -0.873366
    config = {"learning_rate": 0.1, "beta1": 0.9, "beta2": 0.999, "epsilon": 0.0}
    w1, config = optim.adam(np.array([1.0, -1.0]), np.array([0.5, -2.0]), config)
    np.testing.assert_allclose(w1, [0.9, -0.9])
    assert config["t"] == 1
    w2, config = optim.adam(w1, np.array([0.5, 1.0]), config)
    assert config["t"] == 2
    np.testing.assert_allclose(config["m"], [0.095, -0.08])
    np.testing.assert_allclose(config["v"], [0.00049975, 0.004996])
    np.testing.assert_allclose(w2, [0.8, -0.9 + 0.1 * (0.08 / 0.19) / np.sqrt(0.004996 / 0.001999)])
    np.testing.assert_allclose(w2[1], -0.873366, atol=1e-6)


@pytest.mark.task5_9
def test_adam_defaults_and_first_step_ignore_the_gradients_scale():
    w, dw = np.array([0.5, -0.25, 2.0]), np.array([3.0, -1e-3, 40.0])
    next_w, config = optim.adam(w, dw)
    assert (config["learning_rate"], config["beta1"], config["beta2"], config["epsilon"]) == (1e-3, 0.9, 0.999, 1e-8)
    np.testing.assert_allclose(next_w, w - 1e-3 * np.sign(dw), rtol=0, atol=1e-8)
    # Only epsilon (1e-8) breaks the scale invariance, by lr * epsilon / |dw| at most.
    np.testing.assert_allclose(optim.adam(w, 1000 * dw)[0], next_w, rtol=0, atol=2e-8)


@pytest.mark.parametrize("rule", ["sgd", "sgd_momentum", "rmsprop", pytest.param("adam", marks=pytest.mark.task5_9)])
def test_rules_keep_dtype_and_shape_and_never_modify_their_inputs(rule):
    rng = np.random.default_rng(0)
    w = rng.standard_normal((3, 4)).astype(np.float32)
    dw = rng.standard_normal((3, 4)).astype(np.float32)
    w_before, dw_before = w.copy(), dw.copy()
    config = None
    for _ in range(3):
        next_w, config = getattr(optim, rule)(w, dw, config)
        assert next_w.shape == (3, 4) and next_w.dtype == np.float32, rule
    np.testing.assert_array_equal(w, w_before)
    np.testing.assert_array_equal(dw, dw_before)
    assert not np.array_equal(next_w, w)
