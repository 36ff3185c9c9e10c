"""Pictures: every function returns a figure with the expected axes (Agg backend, no display)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from cs_conv import vis  # noqa: E402


@pytest.fixture(autouse=True)
def render_and_close_figures():
    yield
    # Drawing catches errors that only appear at render time; then free the figures.
    for number in plt.get_fignums():
        plt.figure(number).canvas.draw()
    plt.close("all")


def image_axes(fig):
    return [ax for ax in fig.axes if ax.images]


def test_show_filters_draws_one_panel_per_filter():
    W = np.random.default_rng(0).standard_normal((6, 3, 5, 5))
    fig = vis.show_filters(W)
    assert isinstance(fig, Figure)
    panels = image_axes(fig)
    assert len(panels) == 6 == len(fig.axes)
    # Colour filters are drawn in RGB, each rescaled to fill [0, 1].
    first = panels[0].images[0].get_array()
    assert first.shape == (5, 5, 3) and first.min() == 0.0 and first.max() == 1.0
    assert [ax.get_title() for ax in panels] == [str(f) for f in range(6)]


def test_show_filters_in_grey_and_rejects_other_shapes():
    fig = vis.show_filters(np.ones((4, 1, 3, 3)), ncols=2)
    panels = image_axes(fig)
    assert len(panels) == 4 and panels[0].images[0].get_array().shape == (3, 3)
    assert panels[0].get_subplotspec().get_gridspec().get_geometry() == (2, 2)
    with pytest.raises(ValueError, match="4-D"):
        vis.show_filters(np.ones((4, 3, 3)))


def test_show_feature_maps_with_the_input_image():
    maps = np.random.default_rng(1).random((1, 5, 8, 8))
    fig = vis.show_feature_maps(maps, image=np.zeros((1, 1, 8, 8)))
    panels = image_axes(fig)
    assert len(panels) == 6  # the input, then 5 maps
    assert panels[0].get_title() == "input"
    np.testing.assert_array_equal(panels[3].images[0].get_array(), maps[0, 2])
    assert len(fig.axes) == 6 + 5  # every map has a colour bar
    with pytest.raises(ValueError, match="maps must be"):
        vis.show_feature_maps(np.ones((8, 8)))


def test_show_images_titles_with_class_names():
    X = np.random.default_rng(2).random((3, 3, 4, 4))
    fig = vis.show_images(X, np.array([2, 0, 1]), class_names=("cat", "dog", "owl"))
    assert [ax.get_title() for ax in image_axes(fig)] == ["owl", "cat", "dog"]


def test_plot_history_from_a_dict_or_a_solver_like_object():
    history = {"loss_history": [2.3, 1.0, 0.5, 0.2], "train_acc_history": [0.1, 0.6, 0.9],
               "val_acc_history": [0.1, 0.5, 0.8]}
    fig = vis.plot_history(history)
    loss_ax, acc_ax = fig.axes
    assert loss_ax.get_xlabel() == "iteration" and loss_ax.get_ylabel() == "training loss"
    assert acc_ax.get_xlabel() == "epoch" and acc_ax.get_ylabel() == "accuracy"
    np.testing.assert_array_equal(loss_ax.lines[0].get_ydata(), history["loss_history"])
    train, val = acc_ax.lines
    np.testing.assert_array_equal(val.get_ydata(), history["val_acc_history"])
    assert [t.get_text() for t in acc_ax.get_legend().get_texts()] == ["train", "val"]

    class Trained:
        loss_history, train_acc_history, val_acc_history = [1.0], [0.5], [0.4]

    assert len(vis.plot_history(Trained()).axes) == 2


def test_confusion_matrix_by_hand():
    # true 0 -> predicted 0, 0 -> 1, 1 -> 1, 2 -> 1, 2 -> 2
    matrix = vis.confusion_matrix([0, 0, 1, 2, 2], [0, 1, 1, 1, 2])
    np.testing.assert_array_equal(matrix, [[1, 1, 0], [0, 1, 0], [0, 1, 1]])
    assert vis.confusion_matrix([0], [0], num_classes=4).shape == (4, 4)
    with pytest.raises(ValueError, match="one length"):
        vis.confusion_matrix([0, 1], [0])


@pytest.mark.parametrize("normalize", [False, True])
def test_plot_confusion_matrix_labels_every_cell(normalize):
    fig = vis.plot_confusion_matrix([0, 0, 1, 2, 2], [0, 1, 1, 1, 2], class_names=["X", "O", "?"],
                                    normalize=normalize)
    ax = image_axes(fig)[0]
    assert ax.get_xlabel() == "predicted class" and ax.get_ylabel() == "true class"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["X", "O", "?"]
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == 9
    if normalize:
        assert texts[:3] == ["0.50", "0.50", "0.00"]
    else:
        assert texts == ["1", "1", "0", "0", "1", "0", "0", "1", "1"]
    assert len(fig.axes) == 2  # the matrix and its colour bar
