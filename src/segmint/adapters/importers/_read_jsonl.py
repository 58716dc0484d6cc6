"""Reading JSON lines: one object per line, its values as text (nested values as JSON text)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from segmint.adapters.importers._encoding import line_blocks, py_encoding
from segmint.adapters.importers._errors import Problem
from segmint.adapters.importers._raw import RawBatch, short

if TYPE_CHECKING:
    from segmint.adapters.importers._source import Source

__all__ = ["read_jsonl"]


def read_jsonl(source: Source, block: int) -> Iterator[RawBatch]:
    """One JSON object per line, parsed with the standard library (exact line numbers and a precise
    message for a broken line), in batches of about ``block`` bytes. Values become text so they go
    through the same strict conversion as CSV; nested objects and arrays stay JSON text."""
    names = source.header
    index = {n: i for i, n in enumerate(names)}
    with open(source.path, encoding=py_encoding(source.encoding), errors="strict") as fh:
        line_no = 0
        for lines in line_blocks(fh, source.path, source.encoding, block):
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
                            source.name,
                            line_no,
                            None,
                            short(stripped),
                            f"not valid JSON: {exc.msg}",
                            raw=stripped,
                        )
                    )
                    continue
                if not isinstance(obj, dict):
                    problems.append(
                        Problem(
                            source.name, line_no, None, short(stripped), "not a JSON object", raw=stripped
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
            # typeshed types a text file's .buffer as a protocol without tell(); open() gives a BufferedReader.
            source.position = fh.buffer.tell() if hasattr(fh, "buffer") else source.position  # type: ignore[attr-defined]
            yield RawBatch(
                columns={n: pa.array(cols[i], pa.string()) for i, n in enumerate(names)},
                rows=pa.array(rows, pa.int64()),
                raw=_lines_raw(texts),
                problems=problems,
            )


def _lines_raw(texts: list[str]) -> Callable[[pa.Array], list[str]]:
    def raw(indices: pa.Array) -> list[str]:
        return [texts[i] for i in indices.to_pylist()]

    return raw


def _json_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)
