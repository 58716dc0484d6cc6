"""Opening an input file: what it is, how it is encoded, and its rows as streamed Arrow batches.

A file is checked before any row is read (missing, empty, binary, Excel, encoding) so that every such
fault gets one clear sentence. Rows come out as ``RawBatch``es: source columns (text for CSV, JSON lines
and whitespace tables; typed for Parquet) with the true row number of every row. Row numbers are what a
person sees: for CSV the header is row 1 and the first record row 2 (as in a spreadsheet, so a quoted
value spanning lines still counts once); for JSON lines and whitespace tables the line number; for
Parquet the record number from 1.

This module recognises a file and reads its header; the readers, one per format, are in ``_read_*``,
encoding detection in ``_encoding``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from segmint.adapters.importers._encoding import (
    SAMPLE,
    codec_name,
    decode_sample,
    detect_encoding,
    py_encoding,
    reject_binary,
)
from segmint.adapters.importers._errors import file_error
from segmint.adapters.importers._raw import RawBatch
from segmint.adapters.importers._read_csv import read_csv
from segmint.adapters.importers._read_jsonl import read_jsonl
from segmint.adapters.importers._read_parquet import read_parquet
from segmint.adapters.importers._read_whitespace import read_whitespace

__all__ = ["RawBatch", "Source", "open_source"]

# Records per batch read from Parquet; bytes of text per batch read from CSV, JSON lines and
# whitespace tables (read from here at each read, so a test can make batches small).
BATCH_ROWS = 256 * 1024
CSV_BLOCK = 8 << 20


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

    @property
    def name(self) -> str:
        return self.path.name

    def batches(self) -> Iterator[RawBatch]:
        """The file's rows in batches, by the reader of its kind."""
        read, block = {
            "csv": (read_csv, CSV_BLOCK),
            "parquet": (read_parquet, BATCH_ROWS),
            "jsonl": (read_jsonl, CSV_BLOCK),
            "whitespace": (read_whitespace, CSV_BLOCK),
        }[self.kind]
        return read(self, block)


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
    reject_binary(path, head)
    enc = codec_name(encoding) if encoding else detect_encoding(path, head)
    text = decode_sample(path, head, enc, size)
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
    if not data_lines and len(text.encode(py_encoding(enc), errors="replace")) >= size - 4:
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


def _sniff_delimiter(sample: str) -> str:
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        counts = {d: sample.splitlines()[0].count(d) for d in ",;\t|"} if sample else {}
        best = max(counts, key=counts.__getitem__) if counts else ","
        return best if counts.get(best) else ","
