"""User-facing errors. Every error a person can cause (bad input, bad rule, missing workspace) is a
``SegmintError`` whose message says what is wrong and what to do; the CLI prints it without a traceback
and the API turns it into a 4xx answer."""

from __future__ import annotations

__all__ = ["SegmintError"]


class SegmintError(Exception):
    """An error with a message meant for the user. ``exit_code`` is what the CLI exits with."""

    exit_code = 2

    def __init__(self, message: str, *, detail: object | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail  # machine-readable detail for --json and the API

    def to_dict(self) -> dict:
        out: dict = {"error": type(self).__name__, "message": self.message}
        if self.detail is not None:
            out["detail"] = self.detail
        return out
