"""cs_conv: convolutional networks from first principles.

Modules: ``layers`` (loop-based layers), ``im2col`` (im2col in NumPy),
``im2col_cython`` (the compiled kernels), ``fast_layers`` (im2col layers),
``gradient_check`` (numeric gradients), ``shapes`` (shared shape checks).
"""
