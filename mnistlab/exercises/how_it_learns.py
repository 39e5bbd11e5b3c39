"""Exercises of notebook 06: how a CNN learns.

All sit in the notebook's Exercises section. The notebook shows ReLU's slope ([z > 0]), runs
``ops.pool2d_backward`` and ``ops.conv2d_backward`` and prints the formulas of the convolution's gradients: the
function exercises refuse those functions (and the package's layers, convolutions and numerical gradient), so the
learner writes each backward pass. The convolution's backward pass is asked as two functions (the kernel's
gradient, then the image's: each one array, with its own mistakes). The two conceptual questions ask for what the
notebook measures but never prints: the 20-layer sigmoid stack at depth 10, and what batch normalisation's backward
pass does to the gradient (tests/test_facts_06.py measures both).
"""

from __future__ import annotations

import numpy as np

from mnistlab.exercises.core import Exercise, Mistake, choice

#: Names a learner's backward pass may not use: the package's backward passes, layers and convolutions, the
#: numerical gradient, and the automatic differentiation of TensorFlow (or JAX, PyTorch).
FORBIDDEN = ("relu_backward", "pool2d_backward", "conv2d_backward", "dense_backward", "backward", "ReLU",
             "MaxPool2D", "MaxPooling2D", "Conv2D", "numerical_gradient", "GradientTape", "gradient", "grad", "vjp",
             "conv2d", "_im2col", "correlate", "correlate2d", "convolve", "convolve2d", "convolution", "fftconvolve",
             "oaconvolve")


def _relu_cases() -> list[tuple]:
    rng = np.random.default_rng(606)
    return [(rng.normal(size=shape), rng.normal(size=shape)) for shape in ((5,), (3, 4), (2, 6, 6, 3))]


def _relu_reference(x, grad_out):
    from mnistlab import ops

    return ops.relu_backward(x, grad_out)


def _relu_identity(x, grad_out):
    return np.asarray(grad_out, float)


def _relu_times_x(x, grad_out):
    return np.asarray(grad_out) * np.maximum(x, 0)


def _pool_cases() -> list[tuple]:
    rng = np.random.default_rng(616)
    cases = []
    for shape in ((4, 4), (6, 8), (8, 6)):
        x = rng.integers(0, 4, shape).astype(float)  # few values: ties in many windows
        cases.append((x, rng.normal(size=(shape[0] // 2, shape[1] // 2))))
    # Windows whose maxima tie only at (0, 1) and (1, 0): reading order (row first) picks (0, 1), column first
    # (1, 0); and ties that include (0, 0) or (1, 1).
    x = np.array([[0, 5, 1, 1, 2, 0], [5, 0, 1, 1, 0, 2], [2, 0, 0, 3, 7, 7], [0, 2, 3, 1, 7, 7]], float)
    cases.append((x, rng.normal(size=(2, 3))))
    return cases


def _pool_reference(x, grad_out):
    from mnistlab import ops

    return ops.pool2d_backward(x, grad_out, 2)


# The wrong functions below call the module's references, never a forbidden name in their own code: a check
# refuses a function whose code names one (see FORBIDDEN).
def _pool_spread(x, grad_out):
    return np.repeat(np.repeat(grad_out, 2, axis=0), 2, axis=1)


def _pool_all_ties(x, grad_out):
    h, w = x.shape
    windows = x.reshape(h // 2, 2, w // 2, 2)
    winners = windows == windows.max(axis=(1, 3), keepdims=True)
    return (winners * grad_out[:, None, :, None]).reshape(h, w)


def _pool_column_first(x, grad_out):
    return _pool_reference(np.asarray(x).T, np.asarray(grad_out).T).T


def _pool_last_tie(x, grad_out):
    return _pool_reference(x[::-1, ::-1], grad_out[::-1, ::-1])[::-1, ::-1]


def _conv_cases() -> list[tuple]:
    """(image, kernel, grad_out): non-square images and kernels, no kernel symmetric (a symmetric kernel hides a
    flip), each output map at least as large as its kernel (so a "valid" convolution of it has a shape)."""
    rng = np.random.default_rng(646)
    shapes = [((6, 6), (3, 3)), ((9, 7), (3, 2)), ((8, 10), (4, 3)), ((7, 12), (2, 5)), ((11, 8), (5, 4))]
    cases = []
    for (h, w), (kh, kw) in shapes:
        cases.append((rng.normal(size=(h, w)), rng.normal(size=(kh, kw)), rng.normal(size=(h - kh + 1, w - kw + 1))))
    return cases


def _grad_kernel_reference(image, kernel, grad_out):
    from mnistlab import ops

    return ops.conv2d_backward(image, kernel, grad_out)[1]


def _grad_image_reference(image, kernel, grad_out):
    from mnistlab import ops

    return ops.conv2d_backward(image, kernel, grad_out)[0]


def _valid(a, kernel):
    """The valid cross-correlation of ``a`` with ``kernel`` (as conv2d)."""
    from mnistlab import ops

    return ops.conv2d(a, kernel)


def _full(grad_out, kernel):
    """The full cross-correlation of ``grad_out`` with ``kernel``, as it stands."""
    kh, kw = kernel.shape
    return _valid(np.pad(grad_out, ((kh - 1, kh - 1), (kw - 1, kw - 1))), kernel)


def _grad_kernel_flipped(image, kernel, grad_out):
    return _grad_kernel_reference(image, kernel, grad_out)[::-1, ::-1]


def _grad_kernel_first_window(image, kernel, grad_out):
    kh, kw = kernel.shape
    return grad_out.sum() * image[:kh, :kw]


def _grad_kernel_is_image_grad(image, kernel, grad_out):
    return _grad_image_reference(image, kernel, grad_out)


def _grad_image_unflipped(image, kernel, grad_out):
    return _full(grad_out, kernel)


def _grad_image_valid(image, kernel, grad_out):
    return _valid(grad_out, kernel[::-1, ::-1])


def _grad_image_is_kernel_grad(image, kernel, grad_out):
    return _grad_kernel_reference(image, kernel, grad_out)


SOLUTION_GRAD_KERNEL = '''def conv2d_grad_kernel(image, kernel, grad_out):
    kh, kw = kernel.shape
    oh, ow = grad_out.shape
    grad = np.zeros((kh, kw))
    for i in range(kh):
        for j in range(kw):
            # weight (i, j) met image[r + i, c + j] at every output (r, c): those pixels, times grad_out
            grad[i, j] = (image[i:i + oh, j:j + ow] * grad_out).sum()
    return grad

answer = conv2d_grad_kernel'''

SOLUTION_GRAD_IMAGE = '''def conv2d_grad_image(image, kernel, grad_out):
    kh, kw = kernel.shape
    padded = np.pad(grad_out, ((kh - 1, kh - 1), (kw - 1, kw - 1)))  # full: every window that touched a pixel
    flipped = kernel[::-1, ::-1]                                      # rotated by 180 degrees
    grad = np.zeros(image.shape)
    for r in range(image.shape[0]):
        for c in range(image.shape[1]):
            grad[r, c] = (padded[r:r + kh, c:c + kw] * flipped).sum()
    return grad

answer = conv2d_grad_image'''


SOLUTION_POOL = '''def max_pool_backward(x, grad_out):
    h, w = x.shape
    windows = x.reshape(h // 2, 2, w // 2, 2).transpose(0, 2, 1, 3).reshape(h // 2, w // 2, 4)
    first = windows.argmax(axis=-1)             # the first maximum in reading order, as TensorFlow
    grad = np.zeros((h // 2, w // 2, 4))
    np.put_along_axis(grad, first[..., None], grad_out[..., None], axis=-1)
    return grad.reshape(h // 2, w // 2, 2, 2).transpose(0, 2, 1, 3).reshape(h, w)

answer = max_pool_backward'''

EXERCISES = [
    Exercise(
        "06.1", "ReLU's backward pass",
        "Write `relu_backprop(x, grad_out)`: the gradient of the loss with respect to a ReLU's input `x`, given "
        "the gradient `grad_out` with respect to its output. Any shape. With NumPy (not `ops.relu_backward` or the "
        "package's layers).",
        ("ReLU's output is max(x, 0). Where x is negative, does a small change of x change the output?",
         "Its derivative is 1 where x > 0 and 0 elsewhere (as [z > 0] in the one-neuron example); the chain rule "
         "multiplies grad_out by it.",
         "grad_out * (x > 0): in arithmetic a boolean array counts as 1 and 0."),
        "def relu_backprop(x, grad_out):\n    return grad_out * (x > 0)\n\nanswer = relu_backprop",
        reference=_relu_reference, cases=_relu_cases, forbidden=FORBIDDEN,
        mistakes=(Mistake("passes everything", _relu_identity, "you passed the gradient through everywhere: where "
                                                              "x was negative, ReLU's output did not depend on it, "
                                                              "so its gradient is 0"),
                  Mistake("times x", _relu_times_x, "ReLU's derivative is 0 or 1, not x: multiply grad_out by "
                                                    "(x > 0)")),
        right="a gate: the gradient flows where the unit was active, and nowhere else"),
    Exercise(
        "06.2", "max pooling's backward pass",
        "Write `max_pool_backward(x, grad_out)` for 2x2 max pooling with stride 2 of a 2-D map `x` (even sides): "
        "each window's gradient goes to the window's maximum, and only to the first one in reading order when "
        "several tie (as TensorFlow does). Hidden cases have many ties. With NumPy (not `ops.pool2d_backward` or "
        "the package's layers).",
        ("Only the window's maximum reached the output: it gets the window's gradient, the other three pixels 0. "
         "On a tie, the first maximum in reading order (left to right, then down) wins.",
         "View x as (H/2, W/2, 4) windows, each window's four pixels in reading order; argmax gives the first "
         "maximum; np.put_along_axis writes grad_out there.",
         "windows = x.reshape(h // 2, 2, w // 2, 2).transpose(0, 2, 1, 3).reshape(h // 2, w // 2, 4); then put "
         "grad_out at windows.argmax(axis=-1) in a zero array of that shape, and undo the reshapes in reverse "
         "order."),
        SOLUTION_POOL,
        reference=_pool_reference, cases=_pool_cases, forbidden=FORBIDDEN,
        mistakes=(Mistake("spread", _pool_spread, "you sent the gradient to all four pixels of each window: only the "
                                                  "maximum influenced the output, so only it gets the gradient"),
                  Mistake("every tie", _pool_all_ties, "every tied maximum got the gradient: TensorFlow gives it to "
                                                       "the first maximum in reading order only (otherwise a tie "
                                                       "would count twice)"),
                  Mistake("last tie", _pool_last_tie, "your ties go to the last maximum; TensorFlow's go to the first "
                                                      "in reading order (argmax returns the first)"),
                  Mistake("column first", _pool_column_first, "your ties are broken column by column; TensorFlow reads "
                                                              "each window row by row (left to right, then down): "
                                                              "the first maximum in that order wins")),
        right="max pooling routes, it does not compute: the gradient goes to the winner"),
    Exercise(
        "06.3", "one gradient step",
        "A weight w = 0.5 has the gradient dL/dw = 2.0. What is w after one step of plain gradient descent with "
        "learning rate 0.1?",
        ("The gradient points the way the loss rises fastest. Which way should the step go?",
         "A step goes against the gradient, scaled by the learning rate: w - learning_rate * gradient.",
         "0.5 - 0.1 * 2.0"),
        "answer = 0.5 - 0.1 * 2.0",
        expected=0.3,
        mistakes=(Mistake("uphill", 0.7, "you stepped along the gradient: that raises the loss; subtract it"),
                  Mistake("gradient only", 0.5 - 2.0, "you forgot the learning rate: it scales the step")),
        right="w -= lr * g: the line every optimiser starts from"),
    Exercise(
        "06.4", "the kernel's gradient",
        "A valid, stride-1 convolution of a 2-D image with a 2-D kernel, as Keras computes it (no flip): "
        "`out = ops.conv2d(image, kernel)`. Write `conv2d_grad_kernel(image, kernel, grad_out)`: given `grad_out`, "
        "the gradient of the loss with respect to every output (the output's shape), return the gradient of the "
        "loss with respect to the kernel (the kernel's shape; `kernel` is passed for its shape). The hidden images "
        "and kernels are not all square. With NumPy: not `ops.conv2d_backward`, nor any convolution function.",
        ("In the 6x6 example, following out[0, 0] alone, the kernel's gradient was the patch under that output. "
         "Now every output (r, c) has its own gradient grad_out[r, c], and its own patch.",
         "Weight (i, j) multiplies image[r + i, c + j] in output (r, c), so its gradient sums "
         "grad_out[r, c] * image[r + i, c + j] over every output (r, c).",
         "With OH, OW = grad_out.shape, the pixels weight (i, j) saw form the slice image[i:i + OH, j:j + OW]: "
         "multiply it by grad_out and sum, for each (i, j)."),
        SOLUTION_GRAD_KERNEL,
        reference=_grad_kernel_reference, cases=_conv_cases, forbidden=FORBIDDEN,
        mistakes=(Mistake("flipped", _grad_kernel_flipped,
                          "your gradient is rotated by 180 degrees: weight (i, j) saw image[i:i + OH, j:j + OW]; "
                          "the kernel's gradient has no flip (it comes back only in the image's gradient)"),
                  Mistake("first window", _grad_kernel_first_window,
                          "that is the first window's patch times the sum of grad_out: each output (r, c) has its "
                          "own gradient and its own patch, so weight (i, j) sums grad_out[r, c] * "
                          "image[r + i, c + j] over every output"),
                  Mistake("swapped", _grad_kernel_is_image_grad,
                          "that is the image's gradient (it has the image's shape): the kernel's gradient has the "
                          "kernel's shape, one number per weight")),
        right="each weight's gradient is what it saw, weighted by how much each output should move: a "
              "cross-correlation of the image with grad_out"),
    Exercise(
        "06.5", "the image's gradient",
        "For the same convolution, write `conv2d_grad_image(image, kernel, grad_out)`: the gradient of the loss "
        "with respect to the image (the image's shape; `image` is passed for its shape). With NumPy: not "
        "`ops.conv2d_backward`, nor any convolution function.",
        ("A pixel sits under several windows, each time under a different kernel weight: its gradient adds up "
         "grad_out times that weight over every window that covered it.",
         "That sum is a full convolution: pad grad_out with kh - 1 rows and kw - 1 columns of zeros on each side, "
         "and slide the kernel rotated by 180 degrees (kernel[::-1, ::-1]) over it.",
         "Or scatter: start from zeros of the image's shape and, for each weight (i, j), add "
         "kernel[i, j] * grad_out into the slice [i:i + OH, j:j + OW]. Both give the same array."),
        SOLUTION_GRAD_IMAGE,
        reference=_grad_image_reference, cases=_conv_cases, forbidden=FORBIDDEN,
        mistakes=(Mistake("not flipped", _grad_image_unflipped,
                          "you slid the kernel as it stands over the padded gradient: pixel (r, c) met weight (i, j) "
                          "in output (r - i, c - j), so the weights come back in reverse order: rotate the kernel "
                          "by 180 degrees (kernel[::-1, ::-1])"),
                  Mistake("valid", _grad_image_valid,
                          "your gradient is smaller than the image: a valid convolution of grad_out leaves out the "
                          "pixels near the edges. Pad grad_out with kh - 1 and kw - 1 zeros on every side first "
                          "(a full convolution): every pixel then gets the gradient of every window that covered it"),
                  Mistake("swapped", _grad_image_is_kernel_grad,
                          "that is the kernel's gradient (it has the kernel's shape): the image's gradient has the "
                          "image's shape, grad_out sent back through the kernel's weights to the pixels")),
        right="the flip the forward pass skips comes back: a full convolution of grad_out with the rotated kernel"),
    choice(
        "06.6", "vanishing with depth",
        "In the 20-layer sigmoid stack, the first layer's gradient was under 10\u207b\u00b9\u00b2 of the last "
        "layer's. Build the same stack with 10 sigmoid layers instead: about how large do you expect the first "
        "layer's gradient to be, against the last's?",
        options={"a": "about 2 \u00d7 10\u207b\u00b9\u00b2: half the layers, so twice as large",
                 "b": "about 10\u207b\u2076, the square root of 10\u207b\u00b9\u00b2",
                 "c": "about 10\u207b\u00b9\u00b2, as with 20 layers: it is the sigmoid that shrinks the "
                      "gradient, not the number of layers",
                 "d": "about 0.5: 10 layers are too few for the gradient to vanish"},
        right="b",
        reasons={"a": "the gradient is not divided by the number of layers, it is multiplied by one factor per "
                      "layer: twice the layers square the product, half the layers take its square root",
                 "c": "each sigmoid layer multiplies the gradient by its own factor on the way back, so the number "
                      "of layers counts: one sigmoid layer shrinks it by about 4, not by 10\u00b9\u00b2",
                 "d": "at about 0.25 per layer, 10 layers still multiply the gradient by about 0.25\u00b9\u2070, "
                      "a millionth: the gradient still vanishes, only less"},
        hint=("Backpropagation multiplies one factor per layer on the way back. If 20 equal factors make "
              "10\u207b\u00b9\u00b2, how large is one?",
              "(10\u207b\u00b9\u00b2)^(1/20) is about 0.25: the sigmoid's slope (at most 0.25) times weights "
              "that keep the gradient's size about the same.",
              "Ten such factors: 0.25\u00b9\u2070."),
        explanation="each sigmoid layer multiplies the gradient by about 0.25 (its slope, here about 0.24, times "
                    "weights that keep its size), so 20 layers give about 0.25\u00b2\u2070 = 10\u207b\u00b9\u00b2 "
                    "and 10 give about 0.25\u00b9\u2070 = 10\u207b\u2076. Measured at depth 10 over seeds 0 to "
                    "2: 1.3 \u00d7 10\u207b\u2076 to 2.1 \u00d7 10\u207b\u2076. Try it: n = "
                    "backprop.gradient_norms(backprop.deep_mlp(depth=10, seed=0), x_fit[:256], y_fit[:256]); "
                    "n[0] / n[-1]"),
    choice(
        "06.7", "what batch normalisation does to the gradient",
        "In the 20-layer stack with batch normalisation (each dense layer, then batch normalisation, then a "
        "sigmoid), every sigmoid still multiplies the gradient by its slope, at most 0.25, on the way back. Yet at "
        "the start the first layer's gradient was 1.1 to 1.4 times the last's. What makes up for the sigmoid's "
        "factor?",
        options={"a": "Adam: it scales every step to about the learning rate, however small the gradient is",
                 "b": "the division by the batch's standard deviation \u03c3: on the way back it multiplies the "
                      "gradient by 1/\u03c3",
                 "c": "the centring: each sigmoid's input is kept near 0, where the sigmoid's slope is 1",
                 "d": "the learned scale gamma: it grows during training until the gradient is large enough"},
        right="b",
        reasons={"a": "these gradients were measured on one batch before any training step: no optimiser had "
                      "run. And an optimiser moves the weights; it does not change the gradient a layer receives",
                 "c": "a sigmoid's slope is at most 0.25, reached at 0, not 1: the plain stack's sigmoids already "
                      "worked near there (about 0.24) and its gradient still vanished",
                 "d": "gamma starts at 1, and these gradients were measured at the start, before any step: nothing "
                      "had been learned yet"},
        hint=("The gradients were measured at the start, on one batch. What had run by then, and what had not?",
              "In the forward pass batch normalisation computes (x - mean) / \u03c3, \u03c3 the standard "
              "deviation of x over the batch. By the chain rule, what does that multiply the gradient by on the "
              "way back?",
              "1/\u03c3. How large is that when a layer's outputs barely vary over the batch, and how does it "
              "compare with the sigmoid's 0.25?"),
        explanation="dividing by \u03c3 on the way forward multiplies the gradient by 1/\u03c3 on the way back "
                    "(the chain rule). Here the dense layers' outputs have a standard deviation of about 0.2 over "
                    "the batch, so each batch normalisation multiplies the gradient by about 5, which makes up "
                    "for the sigmoid's 0.2 or so: the factors stay near 1. Nothing in it aims at 1, though: after "
                    "ReLU layers the same rescaling made the gradient explode"),
]
