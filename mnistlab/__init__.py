"""mnistlab: the reusable code of a course on convolutional neural networks with MNIST.

``import mnistlab`` is light: it imports neither TensorFlow nor the plotting stack. Each module
imports what it needs: :mod:`mnistlab.data` (loading), :mod:`mnistlab.preprocess`,
:mod:`mnistlab.runtime` (the one call a notebook makes first), :mod:`mnistlab.plots`.
"""

from mnistlab.runtime import configure

__all__ = ["__version__", "configure"]
__version__ = "0.1.0"
