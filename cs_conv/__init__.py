"""cs_conv: convolutional networks from first principles.

Layers: ``layers`` (loop-based), ``im2col`` (im2col in NumPy), ``im2col_cython`` (the
compiled kernels), ``fast_layers`` (im2col layers), ``layer_utils`` (sandwich layers).
Checks: ``shapes`` (shared shape checks), ``gradient_check`` (numeric gradients).
Models and training: ``classifiers.cnn`` (ThreeLayerConvNet), ``optim``, ``solver``, ``seeding``
(their random generator).
Data and pictures: ``data`` (digits, X/O, photo, CIFAR-10), ``xo`` (the lecture's X and O),
``vis`` (filters, feature maps, curves, confusion matrix). ``tasks`` lists every function you
write: its module, its notebook task and the name its tests carry.
"""
