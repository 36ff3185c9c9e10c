"""First-order update rules, CS231n's interface: ``next_w, config = rule(w, dw, config)``.

``w`` holds a parameter and ``dw`` the gradient of the loss with respect to it (same
shape). ``config`` holds the hyperparameters and whatever state the rule carries
from step to step (velocity, running averages); pass back the returned ``config``
on the next step. A missing ``config`` (None or missing keys) gets the defaults.
``w`` and ``dw`` are never modified; ``next_w`` has ``w``'s dtype.

Given infrastructure except ``adam`` (Notebook 05): ``sgd_momentum`` and
``rmsprop`` are worked examples of a rule that keeps state.
"""

from __future__ import annotations

import numpy as np


def sgd(w, dw, config=None):
    """Vanilla stochastic gradient descent: ``w - learning_rate * dw``.

    config : learning_rate (default 1e-2)

    >>> next_w, config = sgd(np.array([1.0, 2.0]), np.array([10.0, -10.0]), {"learning_rate": 0.1})
    >>> next_w
    array([0., 3.])
    """
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    next_w = (w - config["learning_rate"] * dw).astype(w.dtype, copy=False)
    return next_w, config


def sgd_momentum(w, dw, config=None):
    """SGD with momentum: a velocity that decays by ``momentum`` each step accumulates the steps.

    ``v = momentum * v - learning_rate * dw``, then ``next_w = w + v``.

    config : learning_rate (default 1e-2), momentum (default 0.9), velocity (default zeros like w)
    """
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config.get("velocity", np.zeros_like(w))
    v = config["momentum"] * v - config["learning_rate"] * dw
    next_w = (w + v).astype(w.dtype, copy=False)
    config["velocity"] = v
    return next_w, config


def rmsprop(w, dw, config=None):
    """RMSProp: divide each step by a running root mean square of that entry's gradients.

    ``cache = decay_rate * cache + (1 - decay_rate) * dw**2``, then
    ``next_w = w - learning_rate * dw / (sqrt(cache) + epsilon)``.

    config : learning_rate (default 1e-2), decay_rate (default 0.99), epsilon (default 1e-8),
        cache (default zeros like w)
    """
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("decay_rate", 0.99)
    config.setdefault("epsilon", 1e-8)
    cache = config.get("cache", np.zeros_like(w))
    cache = config["decay_rate"] * cache + (1 - config["decay_rate"]) * dw**2
    next_w = (w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"])).astype(w.dtype, copy=False)
    config["cache"] = cache
    return next_w, config


def adam(w, dw, config=None):
    """Adam (Kingma and Ba, 2015): momentum and RMSProp together, with bias correction.

    With step count t starting at 1 on the first call::

        m = beta1 * m + (1 - beta1) * dw            # running mean of the gradient
        v = beta2 * v + (1 - beta2) * dw**2         # running mean of its square
        m_hat = m / (1 - beta1**t)                  # both start at 0: undo that bias
        v_hat = v / (1 - beta2**t)
        next_w = w - learning_rate * m_hat / (sqrt(v_hat) + epsilon)

    Parameters
    ----------
    w, dw : ndarrays of the same shape
    config : dict with learning_rate (default 1e-3), beta1 (0.9), beta2 (0.999),
        epsilon (1e-8), and the state m, v (zeros like w) and t (0, the steps taken so far)

    Returns
    -------
    next_w : ndarray of w's shape and dtype
    config : the same dict, with m, v and t updated
    """
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("m", np.zeros_like(w))
    config.setdefault("v", np.zeros_like(w))
    config.setdefault("t", 0)
    next_w = None
    ### BEGIN SOLUTION
    beta1, beta2 = config["beta1"], config["beta2"]
    t = config["t"] + 1
    m = beta1 * config["m"] + (1 - beta1) * dw
    v = beta2 * config["v"] + (1 - beta2) * dw**2
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    next_w = (w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"])).astype(w.dtype, copy=False)
    config["m"], config["v"], config["t"] = m, v, t
    ### END SOLUTION
    return next_w, config
