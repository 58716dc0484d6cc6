"""Errors a user can cause when fitting or using a buy-till-you-die model. Each message says what to do."""

from __future__ import annotations

from segmint.errors import SegmintError

__all__ = ["ConvergenceError", "InsufficientDataError", "ModelInputError", "NotFittedError"]


class ModelInputError(SegmintError):
    """The (x, t_x, T) arrays are malformed: wrong shapes, negative or missing values, t_x > T."""


class InsufficientDataError(SegmintError):
    """The data cannot identify the model's parameters (too few customers, nobody came back)."""


class ConvergenceError(SegmintError):
    """The optimiser stopped without reaching a maximum of the likelihood."""


class NotFittedError(SegmintError):
    """A prediction was asked of a model that has not been fitted (or loaded) yet."""
