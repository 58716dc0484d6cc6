"""Reading a Parquet file: typed columns in record batches, row numbers counted from 1."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from segmint.adapters.importers._raw import RawBatch

if TYPE_CHECKING:
    from segmint.adapters.importers._source import Source

__all__ = ["read_parquet"]


def read_parquet(source: Source, batch_rows: int) -> Iterator[RawBatch]:
    """The records of a Parquet ``source`` in batches of ``batch_rows``."""
    pf = pq.ParquetFile(source.path)
    total = max(pf.metadata.num_rows, 1)
    done = 0
    for batch in pf.iter_batches(batch_size=batch_rows):
        n = batch.num_rows
        rows = pa.array(np.arange(done + 1, done + n + 1, dtype=np.int64))
        done += n
        source.position = int(source.size * done / total)
        yield RawBatch(
            columns={name: batch.column(i) for i, name in enumerate(batch.schema.names)},
            rows=rows,
            raw=_json_raw(batch),
        )


def _json_raw(batch: pa.RecordBatch) -> Callable[[pa.Array], list[str]]:
    def raw(indices: pa.Array) -> list[str]:
        return [json.dumps(r, default=str) for r in batch.take(indices).to_pylist()]

    return raw
