"""Which notebook task asks for each function you write.

Until you write it, each of these functions raises an error that names its task, for example
``NotImplementedError("Notebook 02, task 2.1: conv_forward_naive")``: open that notebook at
that task to see what the function must do and how it is checked.
"""

TASKS: dict[str, str] = {
    # Notebook 01: vector backprop
    "affine_forward": "Notebook 01, task 1.1",
    "affine_backward": "Notebook 01, task 1.2",
    "relu_forward": "Notebook 01, task 1.3",
    "relu_backward": "Notebook 01, task 1.4",
    "softmax_loss": "Notebook 01, task 1.5",
    # Notebook 02: convolution
    "conv_forward_naive": "Notebook 02, task 2.1",
    "conv_backward_naive": "Notebook 02, task 2.2",
    # Notebook 03: pooling
    "max_pool_forward_naive": "Notebook 03, task 3.1",
    "max_pool_backward_naive": "Notebook 03, task 3.2",
    "avg_pool_forward_naive": "Notebook 03, task 3.3",
    "avg_pool_backward_naive": "Notebook 03, task 3.4",
    # Notebook 04: im2col in Cython and the fast layers
    "im2col_kernel": "Notebook 04, task 4.1",
    "col2im_kernel": "Notebook 04, task 4.2",
    "conv_forward_fast": "Notebook 04, task 4.3",
    "conv_backward_fast": "Notebook 04, task 4.4",
    "max_pool_forward_fast": "Notebook 04, task 4.5",
    "max_pool_backward_fast": "Notebook 04, task 4.6",
    "avg_pool_forward_fast": "Notebook 04, task 4.7",
    "avg_pool_backward_fast": "Notebook 04, task 4.8",
    # Notebook 05: a ConvNet that learns (sandwich layers, the model, Adam)
    "affine_relu_forward": "Notebook 05, task 5.1",
    "affine_relu_backward": "Notebook 05, task 5.2",
    "conv_relu_forward": "Notebook 05, task 5.3",
    "conv_relu_backward": "Notebook 05, task 5.4",
    "conv_relu_pool_forward": "Notebook 05, task 5.5",
    "conv_relu_pool_backward": "Notebook 05, task 5.6",
    "three_layer_forward": "Notebook 05, task 5.7",
    "three_layer_backward": "Notebook 05, task 5.8",
    "adam": "Notebook 05, task 5.9",
}


def marker(function_name: str) -> str:
    """A short name for a function's task: ``marker("conv_forward_naive") == "task2_1"``."""
    number = TASKS[function_name].rsplit("task ", 1)[1]
    return "task" + number.replace(".", "_")
