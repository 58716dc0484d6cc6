"""Reading a table whose columns are separated by runs of spaces or tabs (the CDNOW purchase log)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from segmint.adapters.importers._encoding import line_blocks, py_encoding
from segmint.adapters.importers._errors import Problem
from segmint.adapters.importers._raw import RawBatch, short

if TYPE_CHECKING:
    from segmint.adapters.importers._source import Source

__all__ = ["read_whitespace"]


def read_whitespace(source: Source, block: int) -> Iterator[RawBatch]:
    """Columns separated by runs of spaces or tabs, split with Arrow's regex kernels in blocks of about
    ``block`` bytes."""
    expected = len(source.header)
    first_line = 2 if source.has_header else 1
    line_no = first_line - 1
    with open(source.path, encoding=py_encoding(source.encoding)) as fh:
        if source.has_header:
            fh.readline()
        for lines in line_blocks(fh, source.path, source.encoding, block):
            arr = pc.utf8_trim_whitespace(pa.array(lines, pa.string()))
            numbers = np.arange(line_no + 1, line_no + len(lines) + 1, dtype=np.int64)
            line_no += len(lines)
            nonblank = pc.not_equal(arr, "")
            arr = arr.filter(nonblank)
            numbers = numbers[nonblank.to_numpy(zero_copy_only=False)]
            parts = pc.split_pattern_regex(arr, r"\s+")
            counts = pc.list_value_length(parts)
            ok = pc.equal(counts, expected)
            problems = [
                Problem(
                    source.name,
                    int(r),
                    None,
                    short(t),
                    f"ragged row: {c} fields, expected {expected}",
                    raw=t,
                )
                for r, t, c in zip(
                    numbers[~ok.to_numpy(zero_copy_only=False)],
                    arr.filter(pc.invert(ok)).to_pylist(),
                    counts.filter(pc.invert(ok)).to_pylist(),
                    strict=True,
                )
            ]
            good = parts.filter(ok)
            texts = arr.filter(ok)
            # typeshed types a text file's .buffer as a protocol without tell(); open() gives a BufferedReader.
            source.position = fh.buffer.tell() if hasattr(fh, "buffer") else source.position  # type: ignore[attr-defined]
            yield RawBatch(
                columns={
                    n: pc.list_element(good, i) if len(good) else pa.array([], pa.string())
                    for i, n in enumerate(source.header)
                },
                rows=pa.array(numbers[ok.to_numpy(zero_copy_only=False)], pa.int64()),
                raw=_lines_raw(texts),
                problems=problems,
            )


def _lines_raw(texts: pa.Array) -> Callable[[pa.Array], list[str]]:
    def raw(indices: pa.Array) -> list[str]:
        return texts.take(indices).to_pylist()

    return raw
