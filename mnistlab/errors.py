"""The course's one error class: what went wrong, named with the file, row or option and what was expected.

Every error the package raises on purpose for bad input derives from :class:`MnistlabError` (a
``ValueError``, so ``except ValueError`` keeps working). The ``mnistlab`` command catches this one
class in ``main`` and prints its message as one line; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

__all__ = ["MnistlabError"]


class MnistlabError(ValueError):
    """Input the course cannot use; the message says which input, what it was and what was expected."""
