"""Pictures of a ConvNet: images, filters, feature maps, training curves, a confusion matrix.

Given infrastructure. Every function draws a new matplotlib figure and returns it,
so a notebook shows it and a test can inspect its axes. In a notebook, assign the
result (``fig = show_filters(W1)``) or end the line with ``;`` to see it only once.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np


def _grid(count: int, ncols: int | None, size: float, title: str | None):
    """A figure with ``count`` image axes in rows of ``ncols``; unused cells are removed."""
    ncols = max(1, min(count, ncols or math.ceil(math.sqrt(count))))
    nrows = math.ceil(count / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + (0.4 if title else 0)),
                             squeeze=False)
    axes = axes.ravel()
    for ax in axes[count:]:
        ax.remove()
    for ax in axes[:count]:
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        fig.suptitle(title)
    return fig, list(axes[:count])


def _to_image(x: np.ndarray, rescale: bool) -> tuple[np.ndarray, dict]:
    """One (C, H, W) array as something ``imshow`` draws: RGB for C == 3, else grey (channel mean)."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 2:
        x = x[None]
    if x.shape[0] == 3:
        image = x.transpose(1, 2, 0)
        if rescale:
            low, high = image.min(), image.max()
            image = (image - low) / (high - low) if high > low else np.zeros_like(image)
        return np.clip(image, 0, 1), {}
    # Grey: each image gets its own colour range unless told otherwise.
    return x.mean(axis=0), {"cmap": "gray"}


def show_images(X, y=None, class_names=None, *, ncols=None, size=1.2, title=None):
    """A grid of images with their labels.

    Parameters
    ----------
    X : ndarray of shape (N, C, H, W), C = 1 (grey) or 3 (RGB, values in [0, 1])
    y : int labels of shape (N,), shown as titles (through ``class_names`` if given)

    Returns
    -------
    fig : matplotlib Figure with N image axes
    """
    fig, axes = _grid(len(X), ncols, size, title)
    for n, ax in enumerate(axes):
        image, style = _to_image(X[n], rescale=False)
        ax.imshow(image, **style)
        if y is not None:
            label = int(y[n])
            ax.set_title(class_names[label] if class_names is not None else str(label), fontsize=8)
    return fig


def show_filters(W, *, ncols=None, size=1.0, title="conv filters"):
    """A grid of conv filters, each rescaled to its own full colour range.

    Parameters
    ----------
    W : ndarray of shape (F, C, HH, WW); C = 3 is drawn in colour, any other C as the
        mean over channels in grey

    Returns
    -------
    fig : matplotlib Figure with F image axes, titled with the filter index
    """
    W = np.asarray(W)
    if W.ndim != 4:
        raise ValueError(f"W must be 4-D (F, C, HH, WW), got shape {W.shape}")
    fig, axes = _grid(len(W), ncols, size, title)
    for f, ax in enumerate(axes):
        image, style = _to_image(W[f], rescale=True)
        ax.imshow(image, interpolation="nearest", **style)
        ax.set_title(str(f), fontsize=7)
    return fig


def show_feature_maps(maps, image=None, *, ncols=None, size=1.6, title="feature maps"):
    """The feature maps one image makes in a layer, optionally beside the image itself.

    Parameters
    ----------
    maps : ndarray of shape (F, H, W), or (1, F, H, W) for a batch of one
    image : optional ndarray of shape (C, H0, W0) or (1, C, H0, W0), drawn first

    Returns
    -------
    fig : matplotlib Figure with F image axes (F + 1 with the image), each with a colour bar
    """
    maps = np.asarray(maps)
    if maps.ndim == 4 and maps.shape[0] == 1:
        maps = maps[0]
    if maps.ndim != 3:
        raise ValueError(f"maps must be (F, H, W) or (1, F, H, W), got shape {np.shape(maps)}")
    extra = image is not None
    fig, axes = _grid(len(maps) + extra, ncols, size, title)
    if extra:
        picture = np.asarray(image)
        picture = picture[0] if picture.ndim == 4 else picture
        drawn, style = _to_image(picture, rescale=False)
        axes[0].imshow(drawn, **style)
        axes[0].set_title("input", fontsize=8)
    for f, ax in enumerate(axes[extra:]):
        shown = ax.imshow(maps[f], cmap="viridis", interpolation="nearest")
        ax.set_title(str(f), fontsize=7)
        bar = fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.04)
        bar.ax.tick_params(labelsize=6)
    return fig


def plot_history(history, *, title=None):
    """Loss per iteration and train/validation accuracy per epoch.

    Parameters
    ----------
    history : a ``Solver`` (after ``train()``) or a dict with ``loss_history``,
        ``train_acc_history`` and ``val_acc_history``

    Returns
    -------
    fig : matplotlib Figure with two axes: loss (left) and accuracy (right)
    """
    get = (lambda key: history[key]) if isinstance(history, dict) else (lambda key: getattr(history, key))
    loss, train_acc, val_acc = get("loss_history"), get("train_acc_history"), get("val_acc_history")
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 3.5))
    loss_ax.plot(np.arange(1, len(loss) + 1), loss, ".", markersize=3, alpha=0.5)
    loss_ax.set_xlabel("iteration")
    loss_ax.set_ylabel("training loss")
    loss_ax.set_title("loss")
    # Accuracies are measured after the first step and then after every epoch.
    acc_ax.plot(np.arange(len(train_acc)), train_acc, "o-", label="train")
    acc_ax.plot(np.arange(len(val_acc)), val_acc, "o-", label="val")
    acc_ax.set_xlabel("epoch")
    acc_ax.set_ylabel("accuracy")
    acc_ax.set_title("accuracy")
    acc_ax.legend(loc="lower right")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def confusion_matrix(y_true, y_pred, num_classes=None) -> np.ndarray:
    """Counts ``M[i, j]`` of samples of true class i predicted as class j.

    >>> confusion_matrix([0, 0, 1, 2], [0, 1, 1, 1])
    array([[1, 1, 0],
           [0, 1, 0],
           [0, 1, 0]])
    """
    y_true, y_pred = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(f"y_true and y_pred must be 1-D of one length, got {y_true.shape} and {y_pred.shape}")
    if y_true.size and min(y_true.min(), y_pred.min()) < 0:
        raise ValueError("labels must be non-negative")
    if num_classes is None:
        num_classes = int(max(y_true.max(initial=-1), y_pred.max(initial=-1))) + 1
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (y_true, y_pred), 1)
    return matrix


def plot_confusion_matrix(y_true, y_pred, class_names=None, *, normalize=False, title="confusion matrix"):
    """A confusion matrix as a heat map, with the count (or row fraction) in every cell.

    Parameters
    ----------
    y_true, y_pred : int labels of shape (N,)
    class_names : names for the axes (default the class numbers)
    normalize : show each row as fractions of that class's samples

    Returns
    -------
    fig : matplotlib Figure with the matrix axes (true class down, predicted across) and a colour bar
    """
    num_classes = len(class_names) if class_names is not None else None
    matrix = confusion_matrix(y_true, y_pred, num_classes)
    names = list(class_names) if class_names is not None else [str(k) for k in range(len(matrix))]
    shown = matrix.astype(np.float64)
    if normalize:
        shown = shown / np.maximum(shown.sum(axis=1, keepdims=True), 1)
    size = max(3.5, 0.45 * len(names) + 1.5)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    image = ax.imshow(shown, cmap="Blues", vmin=0)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    ticks = np.arange(len(names))
    ax.set_xticks(ticks, labels=names)
    ax.set_yticks(ticks, labels=names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    threshold = shown.max() / 2 if shown.size else 0
    for i in range(len(names)):
        for j in range(len(names)):
            text = f"{shown[i, j]:.2f}" if normalize else str(matrix[i, j])
            ax.text(j, i, text, ha="center", va="center", fontsize=7,
                    color="white" if shown[i, j] > threshold else "black")
    return fig
