"""ThreeLayerConvNet (Notebook 05, tasks 5.7 and 5.8): shapes, the forward pass against the
loop-based layers, the initial loss, regularisation, gradients, and learning."""

import math

import numpy as np
import pytest

from cs_conv.classifiers.cnn import ThreeLayerConvNet
from cs_conv.data import load_digits, load_xo
from cs_conv.gradient_check import eval_numerical_gradient, rel_error
from cs_conv.layers import affine_forward, conv_forward_naive, max_pool_forward_naive, relu_forward
from cs_conv.solver import Solver


def small_model(**kwargs):
    """A float64 model for gradient checks. With these seeds no ReLU or max-pool input lies
    within the step h of a kink (model seed 0 leaves a hidden unit at 5e-6, which would)."""
    settings = dict(input_dim=(2, 6, 6), num_filters=3, filter_size=3, hidden_dim=7, num_classes=4,
                    weight_scale=0.5, reg=0.0, dtype=np.float64, seed=1)
    settings.update(kwargs)
    return ThreeLayerConvNet(**settings)


def small_batch(seed=2):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((3, 2, 6, 6)), np.array([0, 3, 1])


def test_cs231n_defaults_and_parameter_shapes():
    model = ThreeLayerConvNet(seed=0)
    shapes = {name: value.shape for name, value in model.params.items()}
    assert shapes == {"W1": (32, 3, 7, 7), "b1": (32,), "W2": (32 * 16 * 16, 100), "b2": (100,),
                      "W3": (100, 10), "b3": (10,)}
    assert all(value.dtype == np.float32 for value in model.params.values())
    assert model.conv_param == {"stride": 1, "pad": 3}
    assert abs(model.params["W1"].std() - 1e-3) < 1e-4
    assert not model.params["b2"].any()


def test_seeds_make_the_weights_reproducible():
    a, b, c = (ThreeLayerConvNet(input_dim=(1, 8, 8), filter_size=3, seed=s) for s in (0, 0, 1))
    np.testing.assert_array_equal(a.params["W2"], b.params["W2"])
    assert not np.array_equal(a.params["W2"], c.params["W2"])
    np.random.seed(231)  # CS231n's way: seed=None draws from NumPy's global state
    d = ThreeLayerConvNet(input_dim=(1, 8, 8), filter_size=3)
    np.random.seed(231)
    np.testing.assert_array_equal(d.params["W1"], ThreeLayerConvNet(input_dim=(1, 8, 8), filter_size=3).params["W1"])


def test_input_too_small_for_the_filter_is_rejected():
    with pytest.raises(ValueError, match="leave nothing"):
        ThreeLayerConvNet(input_dim=(1, 2, 2), filter_size=4)


@pytest.mark.task5_7
def test_scores_match_the_loop_based_layers():
    model = small_model()
    X, _ = small_batch()
    p = model.params
    conv, _ = conv_forward_naive(X, p["W1"], p["b1"], {"stride": 1, "pad": 1})
    pooled, _ = max_pool_forward_naive(np.maximum(conv, 0), {"pool_height": 2, "pool_width": 2, "stride": 2})
    hidden, _ = relu_forward(affine_forward(pooled, p["W2"], p["b2"])[0])
    expected, _ = affine_forward(hidden, p["W3"], p["b3"])
    scores = model.loss(X)
    assert scores.shape == (3, 4)
    np.testing.assert_allclose(scores, expected, rtol=1e-10, atol=1e-12)
    assert ThreeLayerConvNet(input_dim=(2, 6, 6), filter_size=3, num_classes=4, seed=0).loss(X).dtype == np.float32


@pytest.mark.task5_7
def test_initial_loss_with_small_weights_is_ln_10():
    data = load_digits()
    model = ThreeLayerConvNet(input_dim=(1, 8, 8), num_filters=8, filter_size=3, hidden_dim=20,
                              weight_scale=1e-3, seed=0)
    loss, _ = model.loss(data["X_train"][:50], data["y_train"][:50])
    # Near-zero scores make the softmax uniform over 10 classes.
    assert abs(loss - math.log(10)) < 1e-3, f"initial loss {loss:.5f}, expected ln(10) = {math.log(10):.5f}"


@pytest.mark.task5_8
def test_regularisation_adds_half_reg_times_squared_weights():
    X, y = small_batch()
    plain, regular = small_model(reg=0.0), small_model(reg=0.7)
    loss0, grads0 = plain.loss(X, y)
    loss1, grads1 = regular.loss(X, y)
    squares = sum(np.sum(plain.params[name] ** 2) for name in ("W1", "W2", "W3"))
    assert loss1 - loss0 == pytest.approx(0.5 * 0.7 * squares, rel=1e-12)
    for name in ("W1", "W2", "W3"):
        np.testing.assert_allclose(grads1[name] - grads0[name], 0.7 * plain.params[name], rtol=1e-9, atol=1e-12)
    for name in ("b1", "b2", "b3"):
        np.testing.assert_allclose(grads1[name], grads0[name], rtol=1e-12, atol=0)


@pytest.mark.task5_8
@pytest.mark.parametrize("reg", [0.0, 0.3])
def test_gradients_match_centred_differences(reg):
    model = small_model(reg=reg)
    X, y = small_batch()
    _, grads = model.loss(X, y)
    assert set(grads) == set(model.params)
    for name in sorted(model.params):
        numeric = eval_numerical_gradient(lambda _: model.loss(X, y)[0], model.params[name])
        error = rel_error(numeric, grads[name])
        assert error < 1e-6, f"ThreeLayerConvNet.loss, reg={reg}: d{name} off by {error:.1e}"


@pytest.mark.task5_8
def test_directional_derivative_along_a_random_direction():
    # Oracle independent of cs_conv.gradient_check: move every parameter at once.
    model = small_model(reg=0.1)
    X, y = small_batch(seed=7)
    _, grads = model.loss(X, y)
    rng = np.random.default_rng(8)
    direction = {name: rng.standard_normal(value.shape) for name, value in model.params.items()}
    start = {name: value.copy() for name, value in model.params.items()}
    h = 1e-5

    def loss_at(t):
        model.params = {name: start[name] + t * direction[name] for name in start}
        return model.loss(X, y)[0]

    numeric = (loss_at(h) - loss_at(-h)) / (2 * h)
    analytic = sum(np.sum(grads[name] * direction[name]) for name in grads)
    assert numeric == pytest.approx(analytic, rel=1e-6)


@pytest.mark.task5_7
@pytest.mark.task5_8
def test_overfits_50_digits():
    data = load_digits()
    small = {"X_train": data["X_train"][:50], "y_train": data["y_train"][:50],
             "X_val": data["X_val"][:50], "y_val": data["y_val"][:50]}
    model = ThreeLayerConvNet(input_dim=(1, 8, 8), num_filters=8, filter_size=3, hidden_dim=32,
                              weight_scale=0.1, seed=0)
    solver = Solver(model, small, update_rule="sgd_momentum", optim_config={"learning_rate": 0.05},
                    num_epochs=30, batch_size=25, seed=0, verbose=False)
    solver.train()
    assert solver.train_acc_history[-1] == 1.0, f"train accuracy {solver.train_acc_history[-5:]}"


@pytest.mark.task5_7
@pytest.mark.task5_8
def test_learns_the_lectures_x_and_o():
    data = load_xo()
    model = ThreeLayerConvNet(input_dim=(1, 9, 9), num_filters=4, filter_size=3, hidden_dim=16, num_classes=2,
                              weight_scale=0.1, seed=0)
    solver = Solver(model, data, update_rule="sgd_momentum", optim_config={"learning_rate": 0.05},
                    num_epochs=5, batch_size=20, seed=0, verbose=False)
    solver.train()
    assert solver.check_accuracy(data["X_test"], data["y_test"]) >= 0.95


def test_feature_maps_are_the_rectified_conv_output():
    model = small_model()
    X, _ = small_batch()
    maps = model.feature_maps(X)
    conv, _ = conv_forward_naive(X, model.params["W1"], model.params["b1"], model.conv_param)
    np.testing.assert_allclose(maps, np.maximum(conv, 0), rtol=1e-10, atol=1e-12)
