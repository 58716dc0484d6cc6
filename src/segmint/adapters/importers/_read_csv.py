"""Reading a CSV file: Arrow's streaming reader, every column as text, with exact row numbers even when
ragged or blank rows are skipped."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from segmint.adapters.importers._encoding import encoding_error, py_encoding
from segmint.adapters.importers._errors import ImportFailed, Problem, file_error
from segmint.adapters.importers._raw import RawBatch

if TYPE_CHECKING:
    from segmint.adapters.importers._source import Source

__all__ = ["read_csv"]


def read_csv(source: Source, block: int) -> Iterator[RawBatch]:
    """The rows of a CSV ``source`` in batches of about ``block`` bytes."""
    return _CsvReader(source, block).batches()


class _Restart(Exception):
    """Raised inside the CSV reader when skipped rows make the fast row numbering unsafe."""


class _CsvReader:
    def __init__(self, source: Source, block: int) -> None:
        self.source = source
        self.block = block
        self._done = 0  # records handed out by the fast pass
        self._skip: set[int] | None = None  # record indices of skipped rows, once located
        self._skip_detail: dict[int, tuple[int, str]] = {}  # row number -> (fields, text)

    def batches(self) -> Iterator[RawBatch]:
        """Arrow's streaming CSV reader, every column as text. Arrow does not say where a skipped
        (ragged or blank) row was, so once one appears the file's skipped rows are located with Python's
        csv module and the read goes on from where it was, with exact numbering (batches already handed
        out were numbered correctly: they came before the first skipped row)."""
        self._done = 0
        try:
            yield from self._pass(exact=False)
        except _Restart:
            self._skip = self._locate_skipped()
            yield from self._pass(exact=True)

    def _pass(self, exact: bool) -> Iterator[RawBatch]:
        src = self.source
        skipped: list[tuple[int, str]] = []

        def handler(row) -> str:
            skipped.append((row.actual_columns, row.text))
            return "skip"

        read = pcsv.ReadOptions(
            skip_rows=1 if src.has_header else 0,
            column_names=src.header,
            encoding=src.encoding,
            block_size=self.block,
            use_threads=False,
        )
        parse = pcsv.ParseOptions(
            delimiter=src.delimiter,
            newlines_in_values=True,
            ignore_empty_lines=False,
            invalid_row_handler=handler,
        )
        convert = pcsv.ConvertOptions(
            column_types={c: pa.string() for c in src.header},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        )
        first_row = 2 if src.has_header else 1
        skip = np.array(sorted(self._skip or ()), dtype=np.int64)
        stream = pa.input_stream(str(src.path))
        try:
            try:
                reader = pcsv.open_csv(
                    stream, read_options=read, parse_options=parse, convert_options=convert
                )
            except pa.ArrowInvalid as exc:
                if "Empty CSV file" in str(exc):
                    return
                raise self._read_error(exc) from None
            except UnicodeDecodeError as exc:
                raise self._read_error(exc) from None
            next_record = 0  # record index (0-based, header excluded), skipped records included
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    break
                except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
                    raise self._read_error(exc) from None
                src.position = stream.tell()
                n = batch.num_rows
                if exact:
                    index = _numbers_skipping(next_record, n, skip)
                    if n:
                        next_record = int(index[-1]) + 1
                    fresh = index >= self._done
                    if not fresh.all():
                        batch, index = batch.filter(pa.array(fresh)), index[fresh]
                else:
                    if skipped:
                        raise _Restart
                    index = np.arange(next_record, next_record + n, dtype=np.int64)
                    next_record += n
                    self._done = next_record
                if not len(index):
                    continue
                yield RawBatch(
                    columns={c: batch.column(i) for i, c in enumerate(src.header)},
                    rows=pa.array(index + first_row, pa.int64()),
                    raw=self._raw(batch),
                )
            if not exact and skipped:
                raise _Restart
            if exact:
                yield RawBatch(
                    columns={c: pa.array([], pa.string()) for c in src.header},
                    rows=pa.array([], pa.int64()),
                    raw=lambda idx: [],
                    problems=self._ragged_problems(),
                )
        finally:
            stream.close()

    def _ragged_problems(self) -> list[Problem]:
        expected = len(self.source.header)
        return [
            self._ragged(row, count, text, expected)
            for row, (count, text) in sorted(self._skip_detail.items())
            if text.strip() != ""
        ]

    def _ragged(self, row: int, count: int, text: str, expected: int) -> Problem:
        return Problem(
            self.source.name,
            row,
            None,
            text if len(text) <= 200 else text[:197] + "...",
            f"ragged row: {count} field{'s' if count != 1 else ''}, the header has {expected}",
            raw=text,
        )

    def _locate_skipped(self) -> set[int]:
        """Record indices (0-based, header excluded) of rows whose field count differs from the header,
        found with Python's csv module (the slow path, only for files that have such rows)."""
        src = self.source
        expected = len(src.header)
        skip: set[int] = set()
        detail: dict[int, tuple[int, str]] = {}
        first_row = 2 if src.has_header else 1
        with open(src.path, encoding=py_encoding(src.encoding), newline="") as fh:
            reader = csv.reader(fh, delimiter=src.delimiter)
            if src.has_header:
                next(reader, None)
            for index, record in enumerate(reader):
                if len(record) != expected:
                    skip.add(index)
                    text = src.delimiter.join(record)
                    detail[index + first_row] = (len(record), text)
        self._skip_detail = detail
        return skip

    def _raw(self, batch: pa.RecordBatch) -> Callable[[pa.Array], list[str]]:
        delim = self.source.delimiter

        def raw(indices: pa.Array) -> list[str]:
            taken = batch.take(indices)
            parts = []
            for col in taken.columns:
                text = col.fill_null("")
                needs = pc.match_substring_regex(text, f'["\n\r{_re_escape(delim)}]')
                quoted = pc.binary_join_element_wise('"', pc.replace_substring(text, '"', '""'), '"', "")
                parts.append(pc.if_else(needs, quoted, text))
            if not parts:
                return [""] * len(indices)
            return pc.binary_join_element_wise(*parts, delim).to_pylist()

        return raw

    def _read_error(self, exc: Exception) -> ImportFailed:
        src = self.source
        text = str(exc)
        if (
            "UTF8" in text
            or "utf-8" in text.lower()
            or isinstance(exc, UnicodeDecodeError)
            or "decode" in text
        ):
            return encoding_error(src.path, src.encoding)
        return file_error(src.path, f"cannot read as CSV: {text.splitlines()[0]}")


def _numbers_skipping(start: int, n: int, skip: np.ndarray) -> np.ndarray:
    """The next ``n`` record indices from ``start`` that are not in ``skip`` (sorted)."""
    if n == 0:
        return np.empty(0, dtype=np.int64)
    relevant = skip[skip >= start]
    candidates = np.arange(start, start + n + len(relevant), dtype=np.int64)
    keep = ~np.isin(candidates, relevant)
    return candidates[keep][:n]


def _re_escape(ch: str) -> str:
    return "\\" + ch if ch in r"\^$.|?*+()[]{}" else ch
