"""Every function you write: where it lives, which notebook task asks for it, how its tests are named.

Until you write it, each of these functions raises an error that names its task, for example
``NotImplementedError("Notebook 02, task 2.1: conv_forward_naive")``: open that notebook at
that task to see what the function must do and how it is checked.

Your feedback names each test after the function it calls, then the case:
``conv_forward_naive: stride 2, pad 0``. Python cannot call the two Cython kernels, which run
without the GIL, so their tests call the ``def`` wrappers around them and carry the wrappers'
names (``im2col_cython: ...`` for ``im2col_kernel``); their messages name the kernel too.

>>> TASKS["conv_forward_naive"].label
'Notebook 02, task 2.1'
>>> TASKS["im2col_kernel"].tested_as
'im2col_cython'
>>> sum(task.points for task in TASKS.values())  # the autograded points of the whole assignment
96
"""

from __future__ import annotations

from dataclasses import dataclass

# Where your code lives, and the notebooks (their file names without .ipynb).
LAYERS, CYTHON, FAST = "cs_conv.layers", "cs_conv.im2col_cython", "cs_conv.fast_layers"
UTILS, CNN, OPTIM = "cs_conv.layer_utils", "cs_conv.classifiers.cnn", "cs_conv.optim"
NB01, NB02, NB03 = "01_vector_backprop", "02_convolution", "03_pooling"
NB04, NB05 = "04_im2col_cython", "05_convnet"


@dataclass(frozen=True)
class Task:
    """One function you write, and the notebook task that asks for it."""

    function: str  # its name, as its stub and the notebook say it
    module: str  # the module that holds it
    notebook: str  # the notebook that asks for it, without .ipynb
    number: str  # its task in that notebook: "2.1"
    points: int  # what its autograded cell is worth
    through: str = ""  # the Python wrapper it is called (and tested) through, when Python cannot call it
    compiled: bool = False  # it runs (or may run) the compiled kernels: build them first

    @property
    def label(self) -> str:
        """``"Notebook 02, task 2.1"``: how stubs, notebooks and feedback name the task."""
        return f"Notebook {self.notebook[:2]}, task {self.number}"

    @property
    def tested_as(self) -> str:
        """The name your feedback's tests of this function begin with."""
        return self.through or self.function


TASKS: dict[str, Task] = {task.function: task for task in (
    Task("affine_forward", LAYERS, NB01, "1.1", 2),
    Task("affine_backward", LAYERS, NB01, "1.2", 3),
    Task("relu_forward", LAYERS, NB01, "1.3", 1),
    Task("relu_backward", LAYERS, NB01, "1.4", 2),
    Task("softmax_loss", LAYERS, NB01, "1.5", 4),
    Task("conv_forward_naive", LAYERS, NB02, "2.1", 6),
    Task("conv_backward_naive", LAYERS, NB02, "2.2", 8),
    Task("max_pool_forward_naive", LAYERS, NB03, "3.1", 4),
    Task("max_pool_backward_naive", LAYERS, NB03, "3.2", 5),
    Task("avg_pool_forward_naive", LAYERS, NB03, "3.3", 4),
    Task("avg_pool_backward_naive", LAYERS, NB03, "3.4", 4),
    Task("im2col_kernel", CYTHON, NB04, "4.1", 5, through="im2col_cython", compiled=True),
    Task("col2im_kernel", CYTHON, NB04, "4.2", 5, through="col2im_cython", compiled=True),
    Task("conv_forward_fast", FAST, NB04, "4.3", 4, compiled=True),
    Task("conv_backward_fast", FAST, NB04, "4.4", 5, compiled=True),
    Task("max_pool_forward_fast", FAST, NB04, "4.5", 3, compiled=True),
    Task("max_pool_backward_fast", FAST, NB04, "4.6", 4, compiled=True),
    Task("avg_pool_forward_fast", FAST, NB04, "4.7", 3, compiled=True),
    Task("avg_pool_backward_fast", FAST, NB04, "4.8", 3, compiled=True),
    # The conv sandwiches use the fast layers once those work, and the model uses the sandwiches.
    Task("affine_relu_forward", UTILS, NB05, "5.1", 1),
    Task("affine_relu_backward", UTILS, NB05, "5.2", 2),
    Task("conv_relu_forward", UTILS, NB05, "5.3", 1, compiled=True),
    Task("conv_relu_backward", UTILS, NB05, "5.4", 2, compiled=True),
    Task("conv_relu_pool_forward", UTILS, NB05, "5.5", 2, compiled=True),
    Task("conv_relu_pool_backward", UTILS, NB05, "5.6", 3, compiled=True),
    Task("three_layer_forward", CNN, NB05, "5.7", 3, compiled=True),
    Task("three_layer_backward", CNN, NB05, "5.8", 4, compiled=True),
    Task("adam", OPTIM, NB05, "5.9", 3),
)}
