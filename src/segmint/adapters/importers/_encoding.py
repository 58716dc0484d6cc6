"""Is a file text, and in which encoding: binary files refused with what they are, the encoding detected
(or the one asked for checked), and the first undecodable byte located for the message."""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from segmint.adapters.importers._errors import ImportFailed, file_error

__all__ = [
    "SAMPLE",
    "codec_name",
    "decode_sample",
    "detect_encoding",
    "encoding_error",
    "py_encoding",
    "reject_binary",
]

# Bytes read from the start of a file to recognise it (format, encoding, delimiter, header).
SAMPLE = 1 << 16

_BINARY_MAGIC = {
    b"PK\x03\x04": "an Excel workbook or zip archive; save it as CSV (File > Save as > CSV UTF-8)",
    b"\xd0\xcf\x11\xe0": "an old Excel (.xls) workbook; save it as CSV",
    b"\x1f\x8b": "gzip-compressed; decompress it first (gunzip)",
    b"%PDF": "a PDF document, not a data file",
    b"SQLite format 3": "an SQLite database, not a data file",
}


def reject_binary(path: Path, head: bytes) -> None:
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


def detect_encoding(path: Path, head: bytes) -> str:
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


def codec_name(encoding: str) -> str:
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise file_error(
            "--encoding", f"unknown encoding {encoding!r} (try utf-8, cp1252 or latin-1)"
        ) from None
    return "utf8" if name in ("utf-8", "utf-8-sig") else name


def py_encoding(enc: str) -> str:
    return "utf-8-sig" if enc in ("utf8", "utf-8") else enc


def decode_sample(path: Path, head: bytes, enc: str, size: int) -> str:
    decoder = codecs.getincrementaldecoder(py_encoding(enc))(errors="strict")
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


def line_blocks(fh: TextIO, path: Path, encoding: str, block: int) -> Iterator[list[str]]:
    """The lines of an open text file in lists of about ``block`` bytes; a byte that does not decode
    is the error :func:`encoding_error` names."""
    while True:
        try:
            lines = fh.readlines(block)
        except UnicodeDecodeError:
            raise encoding_error(path, encoding) from None
        if not lines:
            return
        yield lines


def encoding_error(path: Path, encoding: str) -> ImportFailed:
    """The error for a file that stops decoding part-way, naming the byte and row where it does."""
    offset, row = _first_undecodable(path, encoding)
    where = f" at byte {offset} (row {row})" if offset is not None else ""
    return file_error(
        path,
        f"is not valid {encoding} text{where}: pass --encoding with the file's encoding "
        "(for example cp1252 or latin-1)",
        row=row,
    )


def _first_undecodable(path: Path, enc: str) -> tuple[int | None, int | None]:
    decoder = codecs.getincrementaldecoder(py_encoding(enc))(errors="strict")
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
