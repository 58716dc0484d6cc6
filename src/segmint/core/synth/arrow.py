"""Fast construction of Arrow columns from numpy arrays.

Millions of ids and labels are built per block, so nothing here loops in Python per row: ids are written
as fixed-width digit bytes straight into an Arrow string buffer, labels are a ``take`` from a small
dictionary, and timestamps are integer microseconds.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["fixed_ids", "labels", "list_column", "masked", "money", "timestamps"]

US = 1_000_000


def _validity(valid: np.ndarray | None) -> pa.Buffer | None:
    if valid is None or bool(valid.all()):
        return None
    return pa.py_buffer(np.packbits(valid.astype(np.uint8), bitorder="little"))


def fixed_ids(prefix: str, numbers: np.ndarray, width: int, valid: np.ndarray | None = None) -> pa.Array:
    """``prefix`` followed by ``numbers`` zero-padded to ``width`` digits, e.g. ``c00000042``."""
    numbers = np.asarray(numbers, dtype=np.int64)
    n = len(numbers)
    head = prefix.encode()
    size = len(head) + width
    buf = np.empty((n, size), dtype=np.uint8)
    if head:
        buf[:, : len(head)] = np.frombuffer(head, dtype=np.uint8)
    rest = np.where(numbers < 0, 0, numbers)
    for k in range(width - 1, -1, -1):
        buf[:, len(head) + k] = 48 + (rest % 10)
        rest = rest // 10
    offsets = np.arange(n + 1, dtype=np.int64) * size
    return pa.LargeStringArray.from_buffers(
        n, pa.py_buffer(offsets), pa.py_buffer(buf), _validity(valid)
    ).cast(pa.string())


def labels(
    choices: Sequence[str | None] | pa.Array, index: np.ndarray, valid: np.ndarray | None = None
) -> pa.Array:
    """``choices[index]`` as a plain string column; ``valid`` False (or a None choice) gives null."""
    dictionary = choices if isinstance(choices, pa.Array) else pa.array(list(choices), type=pa.string())
    idx = np.asarray(index, dtype=np.int32)
    if valid is not None:
        idx = pa.array(idx, mask=~np.asarray(valid, dtype=bool))
    return dictionary.take(idx)


def masked(values: np.ndarray, valid: np.ndarray | None, type_: pa.DataType) -> pa.Array:
    """A numeric or boolean column with nulls where ``valid`` is False."""
    mask = None if valid is None else ~np.asarray(valid, dtype=bool)
    return pa.array(values, type=type_, mask=mask)


def timestamps(seconds: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """Epoch seconds (float or int) to a naive UTC ``timestamp[us]`` column, whole seconds."""
    micros = np.floor(np.asarray(seconds, dtype=np.float64)).astype(np.int64) * US
    return masked(micros, valid, pa.timestamp("us"))


def money(values: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """Amounts rounded to cents, as the canonical schema stores money."""
    return masked(np.round(np.asarray(values, dtype=np.float64), 2), valid, pa.float64())


def list_column(flags: np.ndarray, names: Sequence[str]) -> pa.Array:
    """A ``list<string>`` column from a boolean matrix ``flags[row, tag]`` (row-wise tag order kept)."""
    rows, cols = np.nonzero(flags)
    counts = np.bincount(rows, minlength=flags.shape[0])
    offsets = np.zeros(flags.shape[0] + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    values = pa.array(list(names), type=pa.string()).take(pa.array(cols.astype(np.int32)))
    return pa.ListArray.from_arrays(pa.array(offsets), values)


def join(*parts: pa.Array | str) -> pa.Array:
    """Element-wise concatenation of string columns and literals."""
    return pc.binary_join_element_wise(*parts, "")
