"""One batch through an importer: convert, check, split good rows from bad ones.

Good rows leave as a record batch in the importer's stream schema with ``_file`` and ``_row``; every
bad cell leaves as a ``Problem`` carrying the row's true number and its raw text.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from segmint.adapters.importers._base import Importer
from segmint.adapters.importers._errors import Problem
from segmint.adapters.importers._fields import Field, convert_fields
from segmint.adapters.importers._raw import RawBatch

__all__ = ["BatchResult", "convert_batch"]


@dataclass
class BatchResult:
    good: pa.RecordBatch
    problems: list[Problem]
    rows_read: int
    bad_rows: int


def convert_batch(
    importer: Importer,
    fields: list[Field],
    resolved: dict[str, str | None],
    raw: RawBatch,
    file_index: int,
    file_name: str,
    schema: pa.Schema,
) -> BatchResult:
    n = raw.num_rows
    cols, bad = convert_fields(
        fields, resolved, raw.columns, n, formats=importer.formats, timezone=importer.options.timezone
    )
    cols, more = importer.transform(cols, n)
    bad += more
    problems = list(raw.problems)
    bad_rows = len(raw.problems)
    keep = None
    if bad:
        mask = np.zeros(n, dtype=bool)
        for cells in bad:
            mask[cells.indices.to_numpy(zero_copy_only=False)] = True
        bad_idx = np.flatnonzero(mask)
        raw_text = dict(zip(bad_idx.tolist(), raw.raw(pa.array(bad_idx, pa.int64())), strict=True))
        rows = raw.rows.to_numpy(zero_copy_only=False)
        for cells in bad:
            idx = cells.indices.to_pylist()
            values = cells.values.to_pylist()
            reasons = (
                cells.reasons.to_pylist()
                if isinstance(cells.reasons, pa.Array)
                else [cells.reasons] * len(idx)
            )
            for i, value, reason in zip(idx, values, reasons, strict=True):
                problems.append(
                    Problem(
                        file_name, int(rows[i]), cells.column, value, reason or "invalid value", raw_text[i]
                    )
                )
        bad_rows += len(bad_idx)
        keep = pa.array(~mask)
    arrays = []
    for name in schema.names:
        if name == "_file":
            arrays.append(pa.array(np.full(n, file_index, dtype=np.int32)))
        elif name == "_row":
            arrays.append(raw.rows)
        else:
            arr = cols[name]
            if isinstance(arr, pa.ChunkedArray):
                arr = arr.combine_chunks()
            arrays.append(arr.cast(schema.field(name).type) if arr.type != schema.field(name).type else arr)
    good = pa.RecordBatch.from_arrays(arrays, schema=schema)
    if keep is not None:
        good = good.filter(keep)
    problems.sort(key=lambda p: (p.row is None, p.row or 0))
    return BatchResult(good, problems, n + len(raw.problems), bad_rows)


def any_true(mask: pa.Array) -> bool:
    return bool(pc.any(mask).as_py())
