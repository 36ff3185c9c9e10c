"""Train a classification model with minibatch gradient descent: CS231n's ``Solver``.

Given infrastructure. A model is anything with

- ``model.params``: a dict of parameter arrays, and
- ``model.loss(X, y=None)``: scores of shape (N, C) when y is None, else
  ``(loss, grads)`` with ``grads`` holding one gradient per entry of ``params``.

Example::

    data = cs_conv.data.load_digits()
    model = ThreeLayerConvNet(input_dim=(1, 8, 8), filter_size=3, weight_scale=0.1, reg=1e-3, seed=0)
    solver = Solver(model, data, update_rule="sgd_momentum", optim_config={"learning_rate": 0.05},
                    lr_decay=0.95, num_epochs=20, batch_size=32, seed=0)
    solver.train()        # about 2 s with the fast layers
    solver.best_val_acc   # about 0.99; model.params now holds the best validation parameters

Each epoch visits every training sample once, in an order drawn from ``seed``.
Progress goes to stdout only, so notebook graders never see stderr output.
"""

from __future__ import annotations

import pickle
import sys
import time

import numpy as np

from cs_conv import optim
from cs_conv.seeding import generator


class ProgressBar:
    """A one-line text progress bar on stdout, redrawn in place with a carriage return.

    ``write`` prints a whole line above the bar (as ``tqdm.write`` does). Redraws are
    limited to one per ``min_interval`` seconds, so long runs do not flood a notebook.
    """

    def __init__(self, total: int, width: int = 30, min_interval: float = 0.2):
        self.total, self.width, self.min_interval = max(total, 1), width, min_interval
        self.count, self.text, self._shown, self._last_draw = 0, "", 0, 0.0
        self._start = time.perf_counter()

    def _draw(self) -> None:
        done = self.width * self.count // self.total
        elapsed = time.perf_counter() - self._start
        line = (f"[{'#' * done}{'.' * (self.width - done)}] {self.count}/{self.total} "
                f"{elapsed:.0f}s {self.text}")
        sys.stdout.write("\r" + line.ljust(self._shown))
        sys.stdout.flush()
        self._shown, self._last_draw = len(line), time.perf_counter()

    def update(self, count: int, text: str = "") -> None:
        self.count, self.text = count, text
        if count >= self.total or time.perf_counter() - self._last_draw >= self.min_interval:
            self._draw()

    def write(self, line: str) -> None:
        sys.stdout.write("\r" + line.ljust(self._shown) + "\n")
        self._shown = 0
        self._draw()

    def close(self) -> None:
        self._draw()
        sys.stdout.write("\n")
        sys.stdout.flush()


class Solver:
    """Trains a model on ``data`` with the update rules of ``cs_conv.optim``.

    Parameters
    ----------
    model : object with ``params`` and ``loss(X, y=None)`` (see the module docstring)
    data : dict with X_train, y_train, X_val, y_val (other keys are ignored)
    update_rule : name of a rule in ``cs_conv.optim`` ('sgd', 'sgd_momentum', 'rmsprop',
        'adam') or such a function itself
    optim_config : hyperparameters for the rule (e.g. learning_rate); each parameter gets its own copy
    lr_decay : the learning rate is multiplied by this after every epoch
    batch_size : samples per gradient step
    num_epochs : passes over the training data
    num_train_samples : training samples used to measure training accuracy (None: all)
    num_val_samples : validation samples used to measure validation accuracy (None: all)
    checkpoint_name : if given, ``{checkpoint_name}_epoch_{epoch}.pkl`` is written after every epoch
    print_every : print the loss every this many iterations (when verbose)
    verbose : print progress at all; False prints nothing
    seed : seed of the minibatch order and accuracy subsamples (None: from ``np.random``)
    progress : show a progress bar (when verbose)

    Attributes
    ----------
    loss_history : loss of every iteration
    train_acc_history, val_acc_history : accuracy after the first iteration, after every
        epoch and after the last iteration
    best_val_acc, best_params : the best validation accuracy seen and a copy of the
        parameters that reached it; ``train()`` leaves ``model.params`` set to them
    epoch : epochs completed
    """

    def __init__(self, model, data, **kwargs):
        self.model = model
        self.X_train, self.y_train = data["X_train"], data["y_train"]
        self.X_val, self.y_val = data["X_val"], data["y_val"]

        self.update_rule = kwargs.pop("update_rule", "sgd")
        self.optim_config = kwargs.pop("optim_config", {})
        self.lr_decay = kwargs.pop("lr_decay", 1.0)
        self.batch_size = kwargs.pop("batch_size", 100)
        self.num_epochs = kwargs.pop("num_epochs", 10)
        self.num_train_samples = kwargs.pop("num_train_samples", 1000)
        self.num_val_samples = kwargs.pop("num_val_samples", None)
        self.checkpoint_name = kwargs.pop("checkpoint_name", None)
        self.print_every = kwargs.pop("print_every", 10)
        self.verbose = kwargs.pop("verbose", True)
        self.seed = kwargs.pop("seed", None)
        self.progress = kwargs.pop("progress", True)
        if kwargs:
            raise ValueError(f"unrecognized argument(s) {', '.join(sorted(kwargs))}")

        if isinstance(self.update_rule, str):
            if not callable(getattr(optim, self.update_rule, None)):
                raise ValueError(f'invalid update_rule "{self.update_rule}": not a function in cs_conv.optim')
            self.update_rule = getattr(optim, self.update_rule)
        elif not callable(self.update_rule):
            raise ValueError(f"update_rule must be a name in cs_conv.optim or a function, got {self.update_rule!r}")
        if len(self.X_train) != len(self.y_train) or len(self.X_val) != len(self.y_val):
            raise ValueError(f"data sizes disagree: X_train {len(self.X_train)}, y_train {len(self.y_train)}, "
                             f"X_val {len(self.X_val)}, y_val {len(self.y_val)}")
        if self.batch_size < 1 or self.num_epochs < 0:
            raise ValueError(f"need batch_size >= 1 and num_epochs >= 0, got {self.batch_size}, {self.num_epochs}")
        self._reset()

    def _reset(self):
        """Fresh bookkeeping; called by ``__init__``, not meant to be called by hand."""
        self.rng = generator(self.seed)
        self.epoch = 0
        self.best_val_acc = 0
        self.best_params = {}
        self.loss_history = []
        self.train_acc_history = []
        self.val_acc_history = []
        self.optim_configs = {name: dict(self.optim_config) for name in self.model.params}
        self._order = np.empty(0, dtype=np.int64)

    def _next_batch(self, iteration: int, iterations_per_epoch: int) -> np.ndarray:
        """Indices of the next minibatch: a fresh shuffle at the start of every epoch."""
        k = iteration % iterations_per_epoch
        if k == 0:
            self._order = self.rng.permutation(len(self.y_train))
        return self._order[k * self.batch_size:(k + 1) * self.batch_size]

    def _step(self, batch: np.ndarray | None = None):
        """One gradient step on a minibatch (a random one when ``batch`` is None)."""
        if batch is None:
            batch = self.rng.choice(len(self.y_train), min(self.batch_size, len(self.y_train)), replace=False)
        loss, grads = self.model.loss(self.X_train[batch], self.y_train[batch])
        self.loss_history.append(float(loss))
        for name, w in self.model.params.items():
            next_w, next_config = self.update_rule(w, grads[name], self.optim_configs[name])
            self.model.params[name] = next_w
            self.optim_configs[name] = next_config

    def _save_checkpoint(self):
        if self.checkpoint_name is None:
            return
        checkpoint = {
            "model": self.model,
            "update_rule": self.update_rule,
            "lr_decay": self.lr_decay,
            "optim_config": self.optim_config,
            "batch_size": self.batch_size,
            "num_train_samples": self.num_train_samples,
            "num_val_samples": self.num_val_samples,
            "epoch": self.epoch,
            "loss_history": self.loss_history,
            "train_acc_history": self.train_acc_history,
            "val_acc_history": self.val_acc_history,
        }
        filename = f"{self.checkpoint_name}_epoch_{self.epoch}.pkl"
        if self.verbose:
            print(f'Saving checkpoint to "{filename}"')
        with open(filename, "wb") as f:
            pickle.dump(checkpoint, f)

    def check_accuracy(self, X, y, num_samples=None, batch_size=100):
        """Fraction of ``X`` the model labels as ``y``.

        Parameters
        ----------
        X : ndarray of shape (N, d_1, ..., d_k)
        y : int ndarray of shape (N,)
        num_samples : if given (and < N), score a random subset of this many samples
        batch_size : samples per forward pass, to bound memory

        Returns
        -------
        acc : float in [0, 1]
        """
        N = len(y)
        if num_samples is not None and num_samples < N:
            subset = self.rng.choice(N, num_samples, replace=False)
            X, y, N = X[subset], y[subset], num_samples
        if N == 0:
            return 0.0
        predictions = [np.argmax(self.model.loss(X[start:start + batch_size]), axis=1)
                       for start in range(0, N, batch_size)]
        return float(np.mean(np.concatenate(predictions) == y))

    def _log(self, bar, line: str) -> None:
        if bar is not None:
            bar.write(line)
        else:
            print(line)

    def train(self):
        """Run ``num_epochs`` epochs of minibatch steps, tracking loss, accuracy and the best parameters."""
        num_train = len(self.y_train)
        iterations_per_epoch = max(num_train // self.batch_size, 1)
        num_iterations = self.num_epochs * iterations_per_epoch
        bar = ProgressBar(num_iterations) if self.verbose and self.progress else None

        for t in range(num_iterations):
            self._step(self._next_batch(t, iterations_per_epoch))
            if self.verbose and t % self.print_every == 0:
                self._log(bar, f"(Iteration {t + 1} / {num_iterations}) loss: {self.loss_history[-1]:f}")

            epoch_end = (t + 1) % iterations_per_epoch == 0
            if epoch_end:
                self.epoch += 1
                for config in self.optim_configs.values():
                    if "learning_rate" in config:
                        config["learning_rate"] *= self.lr_decay

            # Accuracy after the first step, at every epoch's end and after the last step.
            if t == 0 or t == num_iterations - 1 or epoch_end:
                train_acc = self.check_accuracy(self.X_train, self.y_train, num_samples=self.num_train_samples)
                val_acc = self.check_accuracy(self.X_val, self.y_val, num_samples=self.num_val_samples)
                self.train_acc_history.append(train_acc)
                self.val_acc_history.append(val_acc)
                self._save_checkpoint()
                if self.verbose:
                    self._log(bar, f"(Epoch {self.epoch} / {self.num_epochs}) "
                                   f"train acc: {train_acc:f}; val_acc: {val_acc:f}")
                if val_acc > self.best_val_acc or not self.best_params:
                    self.best_val_acc = val_acc
                    self.best_params = {name: value.copy() for name, value in self.model.params.items()}
            if bar is not None:
                shown_epoch = min(self.epoch + 1, self.num_epochs)
                bar.update(t + 1, f"epoch {shown_epoch}/{self.num_epochs} loss {self.loss_history[-1]:.4f}")
        if bar is not None:
            bar.close()
        # Keep the parameters that did best on the validation set.
        if self.best_params:
            self.model.params = self.best_params
