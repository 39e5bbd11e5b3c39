"""Exercises of notebook 06: how a CNN learns."""

from __future__ import annotations

import numpy as np

from mnistlab.exercises.core import Exercise, Mistake


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


def _pool_spread(x, grad_out):
    from mnistlab import ops

    return ops.pool2d_backward(x, grad_out, 2, mode="avg") * 4


def _pool_all_ties(x, grad_out):
    h, w = x.shape
    windows = x.reshape(h // 2, 2, w // 2, 2)
    winners = windows == windows.max(axis=(1, 3), keepdims=True)
    return (winners * grad_out[:, None, :, None]).reshape(h, w)


def _pool_column_first(x, grad_out):
    from mnistlab import ops

    return ops.pool2d_backward(np.asarray(x).T, np.asarray(grad_out).T, 2).T


def _pool_last_tie(x, grad_out):
    from mnistlab import ops

    return ops.pool2d_backward(x[::-1, ::-1], grad_out[::-1, ::-1], 2)[::-1, ::-1]


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
        "Write `relu_backward(x, grad_out)`: the gradient of the loss with respect to a ReLU's input `x`, given "
        "the gradient `grad_out` with respect to its output. Any shape.",
        "relu(x) = max(x, 0): its derivative is 1 where x > 0 and 0 elsewhere; the chain rule multiplies.",
        "def relu_backward(x, grad_out):\n    return grad_out * (x > 0)\n\nanswer = relu_backward",
        reference=_relu_reference, cases=_relu_cases,
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
        "several tie (as TensorFlow does). Hidden cases have many ties.",
        "View x as (H/2, W/2, 4) windows; argmax gives the first maximum; np.put_along_axis writes grad_out there.",
        SOLUTION_POOL,
        reference=_pool_reference, cases=_pool_cases,
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
        "A step goes against the gradient: w - learning_rate * gradient.",
        "answer = 0.5 - 0.1 * 2.0",
        expected=0.3,
        mistakes=(Mistake("uphill", 0.7, "you stepped along the gradient: that raises the loss; subtract it"),
                  Mistake("gradient only", 0.5 - 2.0, "you forgot the learning rate: it scales the step")),
        right="w -= lr * g: the line every optimiser starts from"),
]
