"""A three-layer convolutional network: conv - relu - 2x2 max pool - affine - relu - affine - softmax.

The constructor and ``loss(X, y=None)`` follow CS231n's ``ThreeLayerConvNet``, so a
``Solver`` can train it. The forward and backward passes are two methods (tasks of
Notebook 05) that chain the sandwich layers of ``cs_conv.layer_utils``.
"""

from __future__ import annotations

import numpy as np

from cs_conv.layer_utils import (
    affine_relu_backward,
    affine_relu_forward,
    conv_relu_forward,
    conv_relu_pool_backward,
    conv_relu_pool_forward,
)
from cs_conv.layers import affine_backward, affine_forward, softmax_loss
from cs_conv.seeding import generator


class ThreeLayerConvNet:
    """conv - relu - 2x2 max pool - affine - relu - affine - softmax.

    The convolution has ``num_filters`` filters of ``filter_size`` x ``filter_size``,
    stride 1 and zero padding ``(filter_size - 1) // 2`` (so an odd filter keeps H and W);
    the pool halves H and W. Input is a batch of shape (N, C, H, W).

    Parameters
    ----------
    input_dim : (C, H, W) of one input image
    num_filters : F, filters in the conv layer
    filter_size : width and height of each filter
    hidden_dim : units in the hidden affine layer
    num_classes : scores the last affine layer produces
    weight_scale : standard deviation of the normal initial weights (biases start at 0)
    reg : L2 regularisation strength; the loss adds ``0.5 * reg * sum(W ** 2)`` per weight matrix
    dtype : float dtype of the parameters and of the computation (float64 for gradient checks)
    seed : seed of the initial weights (None: drawn from NumPy's global state, ``np.random.seed``)

    Attributes
    ----------
    params : dict of W1 (F, C, filter_size, filter_size), b1 (F,), W2 (F * H_pool * W_pool, hidden_dim),
        b2 (hidden_dim,), W3 (hidden_dim, num_classes), b3 (num_classes,)
    conv_param, pool_param : the conv and pool layers' settings

    >>> model = ThreeLayerConvNet(input_dim=(1, 8, 8), num_filters=4, filter_size=3, hidden_dim=10, seed=0)
    >>> {name: value.shape for name, value in model.params.items()}
    {'W1': (4, 1, 3, 3), 'b1': (4,), 'W2': (64, 10), 'b2': (10,), 'W3': (10, 10), 'b3': (10,)}
    """

    def __init__(self, input_dim=(3, 32, 32), num_filters=32, filter_size=7, hidden_dim=100, num_classes=10,
                 weight_scale=1e-3, reg=0.0, dtype=np.float32, seed=None):
        C, H, W = input_dim
        self.reg = reg
        self.dtype = dtype
        pad = (filter_size - 1) // 2
        self.conv_param = {"stride": 1, "pad": pad}
        self.pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
        H_pool = (H + 2 * pad - filter_size + 1) // 2
        W_pool = (W + 2 * pad - filter_size + 1) // 2
        if H_pool < 1 or W_pool < 1:
            raise ValueError(f"a {filter_size}x{filter_size} filter and a 2x2 pool leave nothing of a {H}x{W} input")
        rng = generator(seed)
        shapes = {
            "W1": (num_filters, C, filter_size, filter_size), "b1": (num_filters,),
            "W2": (num_filters * H_pool * W_pool, hidden_dim), "b2": (hidden_dim,),
            "W3": (hidden_dim, num_classes), "b3": (num_classes,),
        }
        self.params = {
            name: (weight_scale * rng.standard_normal(shape) if name.startswith("W") else np.zeros(shape))
            for name, shape in shapes.items()
        }
        for name, value in self.params.items():
            self.params[name] = value.astype(dtype)

    def three_layer_forward(self, X):
        """Class scores for a batch, and the cache the backward pass needs.

        Parameters
        ----------
        X : ndarray of shape (N, C, H, W), in the model's dtype

        Returns
        -------
        scores : ndarray of shape (N, num_classes)
        cache : (conv_cache, hidden_cache, scores_cache), the caches of
            ``conv_relu_pool_forward``, ``affine_relu_forward`` and ``affine_forward``
        """
        W1, b1 = self.params["W1"], self.params["b1"]
        W2, b2 = self.params["W2"], self.params["b2"]
        W3, b3 = self.params["W3"], self.params["b3"]
        ### BEGIN SOLUTION
        pooled, conv_cache = conv_relu_pool_forward(X, W1, b1, self.conv_param, self.pool_param)
        hidden, hidden_cache = affine_relu_forward(pooled, W2, b2)
        scores, scores_cache = affine_forward(hidden, W3, b3)
        ### END SOLUTION
        return scores, (conv_cache, hidden_cache, scores_cache)

    def three_layer_backward(self, dscores, cache):
        """Gradients of the data loss with respect to every parameter (no regularisation).

        Parameters
        ----------
        dscores : ndarray of shape (N, num_classes), dloss/dscores
        cache : from ``three_layer_forward``

        Returns
        -------
        grads : dict with the keys and shapes of ``params``
        """
        conv_cache, hidden_cache, scores_cache = cache
        grads = {}
        ### BEGIN SOLUTION
        dhidden, grads["W3"], grads["b3"] = affine_backward(dscores, scores_cache)
        dpooled, grads["W2"], grads["b2"] = affine_relu_backward(dhidden, hidden_cache)
        _, grads["W1"], grads["b1"] = conv_relu_pool_backward(dpooled, conv_cache)
        ### END SOLUTION
        return grads

    def loss(self, X, y=None):
        """Scores for ``X``, or the loss and its gradients when labels ``y`` are given.

        Parameters
        ----------
        X : ndarray of shape (N, C, H, W)
        y : int ndarray of shape (N,), or None

        Returns
        -------
        scores : ndarray of shape (N, num_classes), if y is None; else
        loss : float, softmax cross-entropy plus ``0.5 * reg * (|W1|^2 + |W2|^2 + |W3|^2)``
        grads : dict of ndarrays, the gradient of loss with respect to each of ``params``
        """
        X = np.asarray(X).astype(self.dtype, copy=False)
        scores, cache = self.three_layer_forward(X)
        if y is None:
            return scores
        data_loss, dscores = softmax_loss(scores, y)
        grads = self.three_layer_backward(dscores, cache)
        # L2 regularisation: 0.5 * reg * W^2 has gradient reg * W.
        weights = ("W1", "W2", "W3")
        reg_loss = 0.5 * self.reg * sum(float(np.sum(self.params[name] ** 2)) for name in weights)
        for name in weights:
            grads[name] = grads[name] + self.reg * self.params[name]
        return data_loss + reg_loss, grads

    def feature_maps(self, X):
        """The conv layer's activations after ReLU, before pooling: shape (N, F, H, W) for odd filters."""
        X = np.asarray(X).astype(self.dtype, copy=False)
        maps, _ = conv_relu_forward(X, self.params["W1"], self.params["b1"], self.conv_param)
        return maps
