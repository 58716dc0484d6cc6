"""Progress of long work, reported by use cases and drawn (or not) by the service that called them.

A use case that may take long (a backfill, an import, generating a shop) takes a ``progress`` callable
and calls it at natural steps: ``progress(done, total, message)`` with ``total`` None when unknown. The
CLI draws a bar on stderr; ``--json`` and non-terminals get :data:`NO_PROGRESS`.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["NO_PROGRESS", "Progress"]


class Progress(Protocol):
    def __call__(self, done: int, total: int | None, message: str) -> None: ...


def _silent(done: int, total: int | None, message: str) -> None:
    return None


NO_PROGRESS: Progress = _silent
