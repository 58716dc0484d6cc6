"""How long work reports its progress, without knowing who is watching.

A use case that can take minutes (a backfill, a large import, generating a shop) takes a
``progress: Progress = NO_PROGRESS`` keyword argument and calls it at its natural steps: after each batch
of rows, each block, each table, each instant of a backfill. The CLI turns the calls into a progress bar
on stderr; the API, tests and library callers pass nothing and pay nothing.

The contract, so that every surface can render any use case:

- ``done`` counts finished units of the current phase and never goes down within it; ``total`` is how
  many units the phase has, or ``None`` when that is not known (a spinner rather than a bar). A new
  phase starts with a different ``total`` (or ``None``) and ``done`` back at 0.
- ``message`` says, for a person, what is under way ("reading orders.csv: 120,000 rows").
- Calls are made no more often than once per unit of real work (never per row), and an implementation
  must return quickly: it runs on the worker's thread, between two pieces of the work.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["NO_PROGRESS", "Progress"]


class Progress(Protocol):
    def __call__(self, done: int, total: int | None, message: str) -> None: ...


def _no_progress(done: int, total: int | None, message: str) -> None:
    return None


NO_PROGRESS: Progress = _no_progress
