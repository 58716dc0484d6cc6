"""Opening an input file: what it is, how it is encoded, and its rows as streamed Arrow batches.

A file is checked before any row is read (missing, empty, binary, Excel, encoding) so that every such
fault gets one clear sentence. Rows come out as ``RawBatch``es: source columns (text for CSV, JSON lines
and whitespace tables; typed for Parquet) with the true row number of every row. Row numbers are what a
person sees: for CSV the header is row 1 and the first record row 2 (as in a spreadsheet, so a quoted
value spanning lines still counts once); for JSON lines and whitespace tables the line number; for
Parquet the record number from 1.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from segmint.adapters.importers._errors import Problem, file_error

__all__ = ["RawBatch", "Source", "open_source"]

SAMPLE = 1 << 16
BATCH_ROWS = 256 * 1024
CSV_BLOCK = 8 << 20


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


class _Restart(Exception):
    """Raised inside the CSV reader when skipped rows make the fast row numbering unsafe."""


@dataclass
class Source:
    path: Path
    kind: str  # csv | parquet | jsonl | whitespace
    header: list[str]
    size: int
    encoding: str = "utf8"
    delimiter: str = ","
    has_header: bool = True
    position: int = 0  # bytes consumed so far (approximate), for progress
    _skip: set[int] | None = None

    @property
    def name(self) -> str:
        return self.path.name

    # -- reading -----------------------------------------------------------------------------------
    def batches(self) -> Iterator[RawBatch]:
        reader = {
            "csv": self._csv,
            "parquet": self._parquet,
            "jsonl": self._jsonl,
            "whitespace": self._whitespace,
        }[self.kind]
        return reader()

    # CSV ----------------------------------------------------------------------------------------------
    def _csv(self) -> Iterator[RawBatch]:
        """Arrow's streaming CSV reader, every column as text. Arrow does not say where a skipped
        (ragged or blank) row was, so once one appears the file's skipped rows are located with Python's
        csv module and the read goes on from where it was, with exact numbering (batches already handed
        out were numbered correctly: they came before the first skipped row)."""
        self._done = 0
        try:
            yield from self._csv_pass(exact=False)
        except _Restart:
            self._skip = self._locate_skipped()
            yield from self._csv_pass(exact=True)

    def _csv_pass(self, exact: bool) -> Iterator[RawBatch]:
        skipped: list[tuple[int, str]] = []

        def handler(row) -> str:
            skipped.append((row.actual_columns, row.text))
            return "skip"

        read = pcsv.ReadOptions(
            skip_rows=1 if self.has_header else 0,
            column_names=self.header,
            encoding=self.encoding,
            block_size=CSV_BLOCK,
            use_threads=False,
        )
        parse = pcsv.ParseOptions(
            delimiter=self.delimiter,
            newlines_in_values=True,
            ignore_empty_lines=False,
            invalid_row_handler=handler,
        )
        convert = pcsv.ConvertOptions(
            column_types={c: pa.string() for c in self.header},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        )
        first_row = 2 if self.has_header else 1
        skip = np.array(sorted(self._skip or ()), dtype=np.int64)
        stream = pa.input_stream(str(self.path))
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
                self.position = stream.tell()
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
                    columns={c: batch.column(i) for i, c in enumerate(self.header)},
                    rows=pa.array(index + first_row, pa.int64()),
                    raw=self._csv_raw(batch),
                )
            if not exact and skipped:
                raise _Restart
            if exact:
                yield RawBatch(
                    columns={c: pa.array([], pa.string()) for c in self.header},
                    rows=pa.array([], pa.int64()),
                    raw=lambda idx: [],
                    problems=self._ragged_problems(),
                )
        finally:
            stream.close()

    def _ragged_problems(self) -> list[Problem]:
        expected = len(self.header)
        return [
            self._ragged(row, count, text, expected)
            for row, (count, text) in sorted(self._skip_detail.items())
            if text.strip() != ""
        ]

    def _ragged(self, row, count, text, expected) -> Problem:
        return Problem(
            self.name,
            row,
            None,
            text if len(text) <= 200 else text[:197] + "...",
            f"ragged row: {count} field{'s' if count != 1 else ''}, the header has {expected}",
            raw=text,
        )

    def _locate_skipped(self) -> set[int]:
        """Record indices (0-based, header excluded) of rows whose field count differs from the header,
        found with Python's csv module (the slow path, only for files that have such rows)."""
        expected = len(self.header)
        skip: set[int] = set()
        detail: dict[int, tuple[int, str]] = {}
        first_row = 2 if self.has_header else 1
        with open(self.path, encoding=_py_encoding(self.encoding), newline="") as fh:
            reader = csv.reader(fh, delimiter=self.delimiter)
            if self.has_header:
                next(reader, None)
            for index, record in enumerate(reader):
                if len(record) != expected:
                    skip.add(index)
                    text = self.delimiter.join(record)
                    detail[index + first_row] = (len(record), text)
        self._skip_detail = detail
        return skip

    def _csv_raw(self, batch: pa.RecordBatch) -> Callable[[pa.Array], list[str]]:
        delim = self.delimiter

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

    def _read_error(self, exc: Exception):
        text = str(exc)
        if (
            "UTF8" in text
            or "utf-8" in text.lower()
            or isinstance(exc, UnicodeDecodeError)
            or "decode" in text
        ):
            return self._encoding_error()
        return file_error(self.path, f"cannot read as CSV: {text.splitlines()[0]}")

    def _encoding_error(self):
        offset, row = _first_undecodable(self.path, self.encoding)
        where = f" at byte {offset} (row {row})" if offset is not None else ""
        return file_error(
            self.path,
            f"is not valid {self.encoding} text{where}: pass --encoding with the file's encoding "
            "(for example cp1252 or latin-1)",
            row=row,
        )

    # Parquet ------------------------------------------------------------------------------------------
    def _parquet(self) -> Iterator[RawBatch]:
        pf = pq.ParquetFile(self.path)
        total = max(pf.metadata.num_rows, 1)
        done = 0
        for batch in pf.iter_batches(batch_size=BATCH_ROWS):
            n = batch.num_rows
            rows = pa.array(np.arange(done + 1, done + n + 1, dtype=np.int64))
            done += n
            self.position = int(self.size * done / total)
            yield RawBatch(
                columns={name: batch.column(i) for i, name in enumerate(batch.schema.names)},
                rows=rows,
                raw=_json_raw(batch),
            )

    # JSON lines ---------------------------------------------------------------------------------------
    def _jsonl(self) -> Iterator[RawBatch]:
        """One JSON object per line, parsed with the standard library (exact line numbers and a precise
        message for a broken line). Values become text so they go through the same strict conversion as
        CSV; nested objects and arrays stay JSON text."""
        names = self.header
        index = {n: i for i, n in enumerate(names)}
        with open(self.path, encoding=_py_encoding(self.encoding), errors="strict") as fh:
            line_no = 0
            while True:
                try:
                    lines = fh.readlines(CSV_BLOCK)
                except UnicodeDecodeError:
                    raise self._encoding_error() from None
                if not lines:
                    break
                cols: list[list[str | None]] = [[] for _ in names]
                rows: list[int] = []
                texts: list[str] = []
                problems: list[Problem] = []
                for line in lines:
                    line_no += 1
                    stripped = line.strip()
                    if not stripped:
                        continue
                    try:
                        obj = json.loads(stripped)
                    except json.JSONDecodeError as exc:
                        problems.append(
                            Problem(
                                self.name,
                                line_no,
                                None,
                                _short(stripped),
                                f"not valid JSON: {exc.msg}",
                                raw=stripped,
                            )
                        )
                        continue
                    if not isinstance(obj, dict):
                        problems.append(
                            Problem(
                                self.name, line_no, None, _short(stripped), "not a JSON object", raw=stripped
                            )
                        )
                        continue
                    rows.append(line_no)
                    texts.append(stripped)
                    values: list[str | None] = [None] * len(names)
                    for key, value in obj.items():
                        i = index.get(key)
                        if i is not None:
                            values[i] = _json_text(value)
                    for i, v in enumerate(values):
                        cols[i].append(v)
                self.position = fh.buffer.tell() if hasattr(fh, "buffer") else self.position
                yield RawBatch(
                    columns={n: pa.array(cols[i], pa.string()) for i, n in enumerate(names)},
                    rows=pa.array(rows, pa.int64()),
                    raw=lambda idx, texts=texts: [texts[i] for i in idx.to_pylist()],
                    problems=problems,
                )

    # Whitespace-separated tables (CDNOW) --------------------------------------------------------------
    def _whitespace(self) -> Iterator[RawBatch]:
        """Columns separated by runs of spaces or tabs, split with Arrow's regex kernels in blocks."""
        expected = len(self.header)
        first_line = 2 if self.has_header else 1
        line_no = first_line - 1
        with open(self.path, encoding=_py_encoding(self.encoding)) as fh:
            if self.has_header:
                fh.readline()
            while True:
                try:
                    lines = fh.readlines(CSV_BLOCK)
                except UnicodeDecodeError:
                    raise self._encoding_error() from None
                if not lines:
                    break
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
                        self.name,
                        int(r),
                        None,
                        _short(t),
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
                self.position = fh.buffer.tell() if hasattr(fh, "buffer") else self.position
                yield RawBatch(
                    columns={
                        n: pc.list_element(good, i) if len(good) else pa.array([], pa.string())
                        for i, n in enumerate(self.header)
                    },
                    rows=pa.array(numbers[ok.to_numpy(zero_copy_only=False)], pa.int64()),
                    raw=lambda idx, texts=texts: texts.take(idx).to_pylist(),
                    problems=problems,
                )


# -- opening -------------------------------------------------------------------------------------------


def open_source(
    path: Path,
    *,
    kind: str | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    whitespace_names: dict[int, list[str]] | None = None,
) -> Source:
    """Check a file and prepare to stream it. ``kind`` forces a reader (``whitespace`` for CDNOW);
    otherwise Parquet is recognised by content, JSON lines by extension or a leading ``{``, and
    anything else that is text is CSV."""
    path = Path(path)
    if not path.exists():
        raise file_error(path, "file not found")
    if path.is_dir():
        raise file_error(path, "is a folder, not a file")
    size = path.stat().st_size
    if size == 0:
        raise file_error(path, "file is empty")
    with open(path, "rb") as fh:
        head = fh.read(SAMPLE)
    if head.startswith(b"PAR1"):
        if kind not in (None, "parquet"):
            raise file_error(path, f"is a Parquet file; this format reads {kind} text files")
        return _open_parquet(path, size)
    _reject_binary(path, head)
    enc = _codec_name(encoding) if encoding else _detect_encoding(path, head)
    text = _decode_sample(path, head, enc, size)
    if text.strip() == "":
        raise file_error(path, "file is empty (only blank lines)")
    if kind == "whitespace":
        return _open_whitespace(path, size, enc, text, whitespace_names or {})
    first = text.lstrip()[:1]
    if kind == "jsonl" or (
        kind is None and (path.suffix.lower() in (".jsonl", ".ndjson", ".json") or first == "{")
    ):
        return _open_jsonl(path, size, enc, text)
    return _open_csv(path, size, enc, text, delimiter)


def _open_parquet(path: Path, size: int) -> Source:
    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:
        raise file_error(path, f"is not a readable Parquet file: {exc}") from None
    if pf.metadata.num_rows == 0:
        raise file_error(path, "has no rows")
    return Source(path, "parquet", list(pf.schema_arrow.names), size)


def _open_csv(path: Path, size: int, enc: str, text: str, delimiter: str | None) -> Source:
    lines = text.splitlines()
    if delimiter:
        delim = "\t" if delimiter in ("\\t", "tab", "TAB") else delimiter
        if len(delim) != 1:
            raise file_error(path, f"the delimiter must be one character, got {delimiter!r}")
    else:
        delim = _sniff_delimiter("\n".join(lines[:50]))
    header = next(csv.reader(io.StringIO(text), delimiter=delim), [])
    header = [h.strip() for h in header]
    if not any(header):
        raise file_error(path, "has no header row (the first line is blank)", row=1)
    seen: dict[str, int] = {}
    for i, name in enumerate(header):
        if not name:
            header[i] = name = f"column {i + 1}"
        if name in seen:
            raise file_error(
                path,
                f"column {name!r} appears twice in the header (columns {seen[name] + 1} and {i + 1})",
                row=1,
                column=name,
            )
        seen[name] = i
    data_lines = [ln for ln in lines[1:] if ln.strip()]
    if not data_lines and len(text.encode(_py_encoding(enc), errors="replace")) >= size - 4:
        raise file_error(path, "has a header but no data rows")
    return Source(path, "csv", header, size, encoding=enc, delimiter=delim)


def _open_jsonl(path: Path, size: int, enc: str, text: str) -> Source:
    """JSON lines: the columns are the keys seen in the first rows plus any later key a format asks
    for (the importer passes its known names through ``header`` after opening)."""
    keys: dict[str, None] = {}
    for line in text.splitlines()[:1000]:
        line = line.strip()
        if not line:
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict):
            keys.update(dict.fromkeys(obj))
    return Source(path, "jsonl", list(keys), size, encoding=enc)


def _open_whitespace(path: Path, size: int, enc: str, text: str, names: dict[int, list[str]]) -> Source:
    first = next((ln.split() for ln in text.splitlines() if ln.strip()), [])
    has_header = bool(first) and not all(_numberish(t) for t in first)
    if has_header:
        header = [h.lower() for h in first]
    elif len(first) in names:
        header = list(names[len(first)])
    else:
        counts = " or ".join(str(k) for k in sorted(names))
        raise file_error(
            path, f"has no header and {len(first)} columns in its first row; expected {counts}", row=1
        )
    return Source(path, "whitespace", header, size, encoding=enc, has_header=has_header)


def _numberish(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


_BINARY_MAGIC = {
    b"PK\x03\x04": "an Excel workbook or zip archive; save it as CSV (File > Save as > CSV UTF-8)",
    b"\xd0\xcf\x11\xe0": "an old Excel (.xls) workbook; save it as CSV",
    b"\x1f\x8b": "gzip-compressed; decompress it first (gunzip)",
    b"%PDF": "a PDF document, not a data file",
    b"SQLite format 3": "an SQLite database, not a data file",
}


def _reject_binary(path: Path, head: bytes) -> None:
    for magic, what in _BINARY_MAGIC.items():
        if head.startswith(magic):
            raise file_error(path, f"is a binary file: {what}")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return
    sample = head[:8192]
    if b"\x00" in sample:
        raise file_error(path, "is a binary file, not text (it contains NUL bytes)")
    control = sum(1 for b in sample if b < 32 and b not in (9, 10, 13, 12))
    if sample and control / len(sample) > 0.05:
        raise file_error(path, "is a binary file, not text (too many control bytes)")


def _detect_encoding(path: Path, head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf8"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        head.decode("utf-8")
        return "utf8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 4 and len(head) == SAMPLE:  # a character cut by the sample's end
            return "utf8"
    from charset_normalizer import from_bytes

    best = from_bytes(head).best()
    if best is None:
        raise file_error(path, "is not text in any encoding Segmint recognises (binary file?)")
    name = best.encoding
    # On small samples a detector cannot tell single-byte code pages apart (cp850 vs cp1252 differ only
    # in which accented letter a byte is). Spreadsheet exports that are not UTF-8 are cp1252 in
    # practice, so a single-byte guess yields to cp1252 whenever the bytes are valid cp1252.
    single_byte = name.startswith(("cp", "latin", "iso8859", "mac", "windows")) and name not in (
        "cp932",
        "cp949",
        "cp950",
    )
    if single_byte:
        try:
            head.decode("cp1252")
            return "cp1252"
        except UnicodeDecodeError:
            pass
    return name


def _codec_name(encoding: str) -> str:
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise file_error(
            "--encoding", f"unknown encoding {encoding!r} (try utf-8, cp1252 or latin-1)"
        ) from None
    return "utf8" if name in ("utf-8", "utf-8-sig") else name


def _py_encoding(enc: str) -> str:
    return "utf-8-sig" if enc in ("utf8", "utf-8") else enc


def _decode_sample(path: Path, head: bytes, enc: str, size: int) -> str:
    decoder = codecs.getincrementaldecoder(_py_encoding(enc))(errors="strict")
    try:
        return decoder.decode(head, final=len(head) >= size)
    except UnicodeDecodeError as exc:
        row = head[: exc.start].count(b"\n") + 1
        raise file_error(
            path,
            f"is not valid {enc} text (byte 0x{head[exc.start]:02x} at offset {exc.start}, row {row}): "
            "pass --encoding with the file's encoding (for example cp1252 or latin-1)",
            row=row,
        ) from None


def _first_undecodable(path: Path, enc: str) -> tuple[int | None, int | None]:
    decoder = codecs.getincrementaldecoder(_py_encoding(enc))(errors="strict")
    offset, rows = 0, 1
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                start = max(exc.start, 0)
                return offset + start, rows + chunk[:start].count(b"\n")
            offset += len(chunk)
            rows += chunk.count(b"\n")
    return None, None


def _sniff_delimiter(sample: str) -> str:
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        counts = {d: sample.splitlines()[0].count(d) for d in ",;\t|"} if sample else {}
        best = max(counts, key=counts.get) if counts else ","
        return best if counts.get(best) else ","


def _numbers_skipping(start: int, n: int, skip: np.ndarray) -> np.ndarray:
    """The next ``n`` record indices from ``start`` that are not in ``skip`` (sorted)."""
    if n == 0:
        return np.empty(0, dtype=np.int64)
    relevant = skip[skip >= start]
    candidates = np.arange(start, start + n + len(relevant), dtype=np.int64)
    keep = ~np.isin(candidates, relevant)
    return candidates[keep][:n]


def _json_raw(batch: pa.RecordBatch) -> Callable[[pa.Array], list[str]]:
    def raw(indices: pa.Array) -> list[str]:
        return [json.dumps(r, default=str) for r in batch.take(indices).to_pylist()]

    return raw


def _json_text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _short(text: str) -> str:
    return text if len(text) <= 200 else text[:197] + "..."


def _re_escape(ch: str) -> str:
    return "\\" + ch if ch in r"\^$.|?*+()[]{}" else ch
