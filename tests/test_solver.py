"""Solver: CS231n's arguments and attributes, epochs, accuracy, best parameters, checkpoints,
seeds, and output that goes to stdout only (nbgrader scores a cell 0 if stderr is written)."""

import pickle

import numpy as np
import pytest

from cs_conv.layers import affine_backward, affine_forward, softmax_loss
from cs_conv.solver import ProgressBar, Solver


class SoftmaxRegression:
    """A linear classifier: quick, and independent of the conv layers. Records every batch it sees."""

    def __init__(self, D, C, seed=0):
        rng = np.random.default_rng(seed)
        self.params = {"W": 0.01 * rng.standard_normal((D, C)), "b": np.zeros(C)}
        self.seen = []

    def loss(self, X, y=None):
        scores, cache = affine_forward(X, self.params["W"], self.params["b"])
        if y is None:
            return scores
        self.seen.append(X[:, 0].copy())
        loss, dscores = softmax_loss(scores, y)
        _, dW, db = affine_backward(dscores, cache)
        return loss, {"W": dW, "b": db}


class FixedPredictions:
    """Predicts class int(X[n, 0]) for sample n, whatever its parameters."""

    params = {}

    def loss(self, X, y=None):
        return np.eye(3)[X[:, 0].astype(int)]


def blob_data():
    """Three well separated clusters in 2-D, after a column that holds each sample's index / 1000
    (small enough not to matter to the classifier, exact enough to identify the sample)."""
    centres = np.array([[0.0, 4.0], [4.0, -4.0], [-4.0, -4.0]])
    data = {}
    for split, n, seed in (("train", 60, 0), ("val", 30, 1)):
        y = np.arange(n) % 3
        points = centres[y] + np.random.default_rng(seed).standard_normal((n, 2))
        data[f"X_{split}"], data[f"y_{split}"] = np.column_stack([np.arange(n) / 1000, points]), y
    return data


def make_solver(**kwargs):
    settings = dict(update_rule="sgd", optim_config={"learning_rate": 0.5}, num_epochs=3, batch_size=20,
                    seed=0, verbose=False)
    settings.update(kwargs)
    return Solver(SoftmaxRegression(3, 3), blob_data(), **settings)


def test_histories_have_cs231n_lengths_and_training_learns():
    solver = make_solver()
    solver.train()
    # 60 samples in batches of 20: 3 iterations per epoch, 9 in all; accuracy after the
    # first iteration and at each epoch's end (the last iteration ends epoch 3).
    assert len(solver.loss_history) == 9
    assert len(solver.train_acc_history) == len(solver.val_acc_history) == 4
    assert solver.epoch == 3
    assert solver.val_acc_history[-1] >= 0.95
    assert solver.loss_history[-1] < solver.loss_history[0]


def test_every_epoch_visits_every_training_sample_once():
    solver = make_solver()
    solver.train()
    indices = np.rint(np.concatenate(solver.model.seen) * 1000).astype(int)
    for epoch in range(3):
        assert sorted(indices[60 * epoch:60 * (epoch + 1)]) == list(range(60)), f"epoch {epoch}"


def test_best_parameters_are_kept_and_restored():
    solver = make_solver(num_epochs=4)
    solver.train()
    assert solver.best_val_acc == max(solver.val_acc_history)
    assert set(solver.best_params) == {"W", "b"}
    for name, value in solver.best_params.items():
        np.testing.assert_array_equal(solver.model.params[name], value)


def test_learning_rate_decays_once_per_epoch():
    solver = make_solver(lr_decay=0.5)
    solver.train()
    for config in solver.optim_configs.values():
        assert config["learning_rate"] == pytest.approx(0.5 * 0.5**3)
    assert solver.optim_config == {"learning_rate": 0.5}  # the caller's dict is untouched


def test_the_seed_makes_training_reproducible():
    first, again, other = make_solver(seed=3), make_solver(seed=3), make_solver(seed=4)
    for solver in (first, again, other):
        solver.train()
    assert first.loss_history == again.loss_history
    assert first.loss_history != other.loss_history
    np.random.seed(231)  # seed=None draws the seed from NumPy's global state, as CS231n relies on
    a = make_solver(seed=None)
    a.train()
    np.random.seed(231)
    b = make_solver(seed=None)
    b.train()
    assert a.loss_history == b.loss_history


@pytest.mark.parametrize("rule", ["sgd_momentum", "rmsprop", "adam"])
def test_update_rules_by_name_or_function(rule):
    from cs_conv import optim

    for update_rule in (rule, getattr(optim, rule)):
        solver = make_solver(update_rule=update_rule, optim_config={"learning_rate": 0.05})
        solver.train()
        assert solver.val_acc_history[-1] >= 0.9, rule


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="unrecognized argument.*learning_rate"):
        make_solver(learning_rate=0.1)
    with pytest.raises(ValueError, match='invalid update_rule "nesterov"'):
        make_solver(update_rule="nesterov")
    data = blob_data()
    data["y_val"] = data["y_val"][:-1]
    with pytest.raises(ValueError, match="data sizes disagree"):
        Solver(SoftmaxRegression(3, 3), data, verbose=False)


def test_check_accuracy_counts_matches_in_batches():
    X = np.array([[0], [1], [2], [1], [0], [2], [2], [1]], dtype=float)
    y = np.array([0, 1, 2, 0, 0, 2, 1, 1])   # samples 3 and 6 are wrong: 6 / 8
    solver = Solver(FixedPredictions(), {"X_train": X, "y_train": y, "X_val": X, "y_val": y}, verbose=False)
    for batch_size in (1, 3, 100):
        assert solver.check_accuracy(X, y, batch_size=batch_size) == 0.75
    # A subsample of all 8 is the whole set; of 4, a multiple of 1/4.
    assert solver.check_accuracy(X, y, num_samples=8) == 0.75
    assert solver.check_accuracy(X, y, num_samples=4) in {0.25, 0.5, 0.75, 1.0}


def test_checkpoints_are_written_after_each_accuracy_check(tmp_path):
    solver = make_solver(checkpoint_name=str(tmp_path / "run"))
    solver.train()
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"run_epoch_{e}.pkl" for e in range(4)]
    with open(tmp_path / "run_epoch_3.pkl", "rb") as f:
        checkpoint = pickle.load(f)
    assert checkpoint["epoch"] == 3 and len(checkpoint["val_acc_history"]) == 4
    assert set(checkpoint["model"].params) == {"W", "b"}


def test_quiet_solver_prints_nothing(capsys):
    make_solver().train()
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


@pytest.mark.parametrize("progress", [True, False])
def test_verbose_solver_writes_to_stdout_only(capsys, progress):
    make_solver(verbose=True, progress=progress, print_every=4).train()
    captured = capsys.readouterr()
    assert captured.err == ""
    assert "(Iteration 1 / 9) loss:" in captured.out and "(Iteration 5 / 9)" in captured.out
    assert "(Epoch 3 / 3) train acc:" in captured.out
    assert ("9/9" in captured.out) == progress


def test_progress_bar_draws_in_place(capsys):
    bar = ProgressBar(4, width=8, min_interval=0.0)
    bar.update(2, "loss 1.0")
    bar.write("a line")
    bar.update(4, "loss 0.5")
    bar.close()
    out = capsys.readouterr().out
    assert "[####....] 2/4" in out and "[########] 4/4" in out and "\ra line" in out
    assert out.endswith("\n")
