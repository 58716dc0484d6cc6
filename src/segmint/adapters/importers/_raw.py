"""What every reader hands out: a batch of source rows with their true row numbers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pyarrow as pa

from segmint.adapters.importers._errors import Problem

__all__ = ["RawBatch", "short"]


@dataclass
class RawBatch:
    """One batch of source rows. ``problems`` are rows the reader itself could not split (ragged rows,
    invalid JSON); they are not in ``columns``."""

    columns: dict[str, pa.Array]
    rows: pa.Array
    raw: Callable[[pa.Array], list[str]]
    problems: list[Problem] = field(default_factory=list)

    @property
    def num_rows(self) -> int:
        return len(self.rows)


def short(text: str) -> str:
    """A row's text as a problem shows it: at most 200 characters."""
    return text if len(text) <= 200 else text[:197] + "..."
