"""Import files into a workspace: one call is one all-or-nothing transaction.

Files are checked and streamed batch by batch; good rows are staged in the engine (so a file larger
than memory imports), cross-row checks run there, and the canonical tables are merged by key inside
``store.transaction()``. A file already imported (same SHA-256, same format) is skipped, so importing
twice changes nothing; a newer export updates changed records by key and adds new ones.

Strict by default: one bad row and nothing is stored. With ``keep_good`` the good rows load and every
bad row goes to ``quarantine`` with file, row number, column, value, reason and raw text.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa
import yaml

from segmint.adapters.importers import FORMATS, make_importer
from segmint.adapters.importers._base import Importer, Options
from segmint.adapters.importers._errors import ImportFailed, Problem, file_error, rows_failed
from segmint.adapters.importers._fields import resolve
from segmint.adapters.importers._parse import check_format
from segmint.adapters.importers._pipeline import convert_batch
from segmint.adapters.importers._source import Source, open_source
from segmint.core.progress import NO_PROGRESS, Progress
from segmint.core.schema import CANONICAL, IMPORTS, QUARANTINE

__all__ = ["FORMATS", "ImportFailed", "ImportReport", "import_files", "load_mapping"]


@dataclass
class ImportReport:
    import_id: str
    format: str
    files: list[str]
    sha256s: list[str]
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    tables: dict[str, int] = field(default_factory=dict)
    skipped: bool = False
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_mapping(mapping: dict | Path | str | None) -> tuple[dict[str, str], dict[str, Any]]:
    """A mapping file or dict -> (canonical column -> source column, reading options).

    The YAML file is either flat (``order_id: Order Number``) or has ``columns:`` plus any of
    ``table``, ``delimiter``, ``encoding``, ``date_format``, ``timezone``."""
    if mapping is None:
        return {}, {}
    if isinstance(mapping, str | Path):
        path = Path(mapping)
        if not path.exists():
            raise file_error(path, "mapping file not found")
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise file_error(path, f"is not valid YAML: {exc}") from None
    else:
        data = dict(mapping)
    if not isinstance(data, dict):
        raise file_error(str(mapping), "a mapping must be a YAML mapping of canonical column: source column")
    settings = {
        k: data[k] for k in ("table", "delimiter", "encoding", "date_format", "timezone") if k in data
    }
    columns = data.get("columns", {} if settings or "columns" in data else data)
    if not isinstance(columns, dict) or not all(isinstance(v, str) for v in columns.values()):
        raise file_error(str(mapping), "columns must map each canonical column to a source column name")
    return {str(k): v for k, v in columns.items()}, settings


def _options(options: dict | None, settings: dict) -> Options:
    merged = {**settings, **{k: v for k, v in (options or {}).items() if v is not None}}
    fmt = merged.get("date_format")
    formats = None
    if fmt:
        formats = tuple(fmt) if isinstance(fmt, list | tuple) else (fmt,)
        for f in formats:
            try:
                check_format(f)
            except ValueError as exc:
                raise file_error("--date-format", str(exc)) from None
    tz = merged.get("timezone") or "UTC"
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(tz)
    except Exception:
        raise file_error(
            "--timezone", f"unknown time zone {tz!r} (use a tz-database name like Europe/Paris)"
        ) from None
    return Options(
        delimiter=merged.get("delimiter"),
        encoding=merged.get("encoding"),
        date_formats=formats,
        timezone=tz,
        currency=merged.get("currency"),
        extra={
            k: v
            for k, v in merged.items()
            if k not in {"delimiter", "encoding", "date_format", "timezone", "currency"}
        },
    )


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _new_id() -> str:
    return f"imp-{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def import_files(
    ws,
    fmt: str,
    paths: list[Path],
    *,
    table: str | None = None,
    mapping: dict | Path | None = None,
    keep_good: bool = False,
    progress: Progress = NO_PROGRESS,
    options: dict | None = None,
) -> ImportReport:
    """Import ``paths`` in format ``fmt`` (see ``FORMATS``) into the workspace ``ws``.

    ``progress`` hears of each batch of rows read (in bytes of the files: the one measure known before
    reading), then of each step after the reading: cross-row checks, one merge per canonical table."""
    if fmt not in FORMATS:
        import difflib

        close = difflib.get_close_matches(fmt, sorted(FORMATS), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise file_error("FORMAT", f"unknown format {fmt!r}{hint} Formats: {', '.join(sorted(FORMATS))}")
    columns, settings = load_mapping(mapping)
    if columns and fmt != "generic":
        raise file_error("--map", "a column mapping applies to the generic format only")
    table = table or settings.get("table")
    importer = make_importer(fmt, _options(options, settings), table=table, mapping=columns)
    paths = [Path(p) for p in paths]
    if not paths:
        raise file_error("FILE", "no file given")
    for p in paths:
        if not p.exists():
            raise file_error(p, "file not found")
    import_id = _new_id()
    report = ImportReport(import_id, importer.label(), [str(p) for p in paths], [])
    todo: list[tuple[Path, str]] = []
    seen: set[str] = set()
    for p in paths:
        sha = sha256_of(p)
        report.sha256s.append(sha)
        if sha in seen or _already_imported(ws, sha, importer.label()):
            report.notes.append(f"{p.name}: already imported (same content), skipped")
            continue
        seen.add(sha)
        todo.append((p, sha))
    if not todo:
        report.skipped = True
        return report
    return _run(ws, importer, todo, report, keep_good, progress)


def _already_imported(ws, sha: str, label: str) -> bool:
    t = ws.table(IMPORTS.name)
    hits = t.filter(t.sha256 == sha, t.format == label, t.status.isin(["loaded", "partial"])).count()
    return int(hits.to_pyarrow().as_py()) > 0


def _open(importer: Importer, path: Path) -> Source:
    return open_source(
        path,
        kind=importer.reader,
        encoding=importer.options.encoding,
        delimiter=importer.options.delimiter,
        whitespace_names=importer.whitespace_names,
    )


def _run(
    ws, importer: Importer, todo, report: ImportReport, keep_good: bool, progress: Progress
) -> ImportReport:
    started = datetime.now(UTC).replace(tzinfo=None)
    sources = [_open(importer, p) for p, _ in todo]  # every file is checked before any row is read
    plans = []
    for src in sources:
        fields = importer.fields(src)
        plans.append((fields, resolve(fields, src.header, src.path)))
    staged_fields = {
        f.name: f for fields, resolved in plans for f in fields if importer.stage_field(f, resolved)
    }
    all_fields, _ = plans[0]
    names = set(staged_fields)
    schema = importer.stream_schema([f for f in all_fields if f.name in names], {n: n for n in names})
    problems: list[Problem] = []
    counts = {"read": [0] * len(sources), "bad": [0] * len(sources)}
    total_bytes = sum(s.size for s in sources) or 1
    done_bytes = 0

    def batches():
        nonlocal done_bytes
        for i, src in enumerate(sources):
            fields, resolved = plans[i]
            shown = 0
            for raw in src.batches():
                result = convert_batch(importer, fields, resolved, raw, i, src.name, schema)
                problems.extend(result.problems)
                counts["read"][i] += result.rows_read
                counts["bad"][i] += result.bad_rows
                # The position is approximate and a CSV re-read (ragged rows) starts it again: report
                # the furthest point reached, within the file.
                shown = max(shown, min(src.position, src.size))
                rows = counts["read"][i]
                progress(done_bytes + shown, total_bytes, f"reading {src.name}: {rows:,} rows")
                yield result.good
            done_bytes += src.size
            progress(done_bytes, total_bytes, f"read {src.name}: {counts['read'][i]:,} rows")

    store = ws.store
    if store.is_duckdb:  # DuckDB's own console progress bar would garble the CLI's output
        ws.con.raw_sql("SET enable_progress_bar = false")
    staged = store.stage(batches(), schema, prefix="import")
    temps = [staged]
    try:
        t = ws.con.table(staged)
        progress(0, None, "checking rows across the import")
        cross = _cross_row_problems(importer, t, sources)
        problems.extend(cross)
        cross_rows: dict[int, set[int]] = {}
        for p in cross:
            idx = next(i for i, s in enumerate(sources) if s.name == p.file)
            cross_rows.setdefault(idx, set()).add(p.row)  # type: ignore[arg-type]
        for idx, rows in cross_rows.items():
            counts["bad"][idx] += len(rows)
        rejected = sum(counts["bad"])
        if problems and not keep_good:
            problems.sort(key=lambda p: (p.file, p.row is None, p.row or 0))
            raise rows_failed(problems, rejected, len(problems))
        if cross_rows:
            bad = ibis.memtable(
                pa.table(
                    {
                        "_file": pa.array([i for i, rows in cross_rows.items() for _ in rows], pa.int32()),
                        "_row": pa.array([r for rows in cross_rows.values() for r in rows], pa.int64()),
                    }
                )
            )
            good_name = f"{staged}_good"
            ws.con.create_table(good_name, t.anti_join(bad, ["_file", "_row"]), temp=store.is_duckdb)
            temps.append(good_name)
            t = ws.con.table(good_name)
            if keep_good:
                _fill_raw(sources, problems, cross_rows)
        notes, skipped = importer.notes(t)
        report.notes.extend(notes)
        good_per_file = _per_file(t)
        outputs = importer.build(t, ws.con.table)
        with store.transaction():
            for step, (name, expr) in enumerate(outputs):
                progress(step, len(outputs), f"merging {name}")
                spec = CANONICAL[name]
                expr = expr.select(*[expr[c].cast(spec.columns[c]).name(c) for c in expr.columns])
                tmp = f"{staged}_{name}"
                ws.con.create_table(tmp, expr, temp=store.is_duckdb, overwrite=True)
                temps.append(tmp)
                report.tables[name] = report.tables.get(name, 0) + store.count(tmp)
                store.upsert(spec, tmp)
            progress(len(outputs), len(outputs), "recording the import")
            finished = datetime.now(UTC).replace(tzinfo=None)
            ids = _file_ids(report.import_id, len(sources))
            file_rows: list[dict[str, Any]] = []
            for i, (src, (_, sha)) in enumerate(zip(sources, todo, strict=True)):
                loaded = good_per_file.get(i, 0) - skipped.get(i, 0)
                file_rows.append(
                    {
                        "import_id": ids[i],
                        "format": importer.label(),
                        "file": str(src.path.resolve()),
                        "sha256": sha,
                        "started_at": started,
                        "finished_at": finished,
                        "rows_read": counts["read"][i],
                        "rows_loaded": loaded,
                        "rows_rejected": counts["bad"][i],
                        "status": "partial" if counts["bad"][i] else "loaded",
                        "detail": json.dumps(
                            {"import": report.import_id, "notes": report.notes, "tables": report.tables}
                        ),
                    }
                )
            store.append(IMPORTS.name, pa.Table.from_pylist(file_rows, schema=_arrow_schema(IMPORTS)))
            if problems:
                by_name = {s.name: ids[i] for i, s in enumerate(sources)}
                q = [
                    {
                        "import_id": by_name.get(p.file, report.import_id),
                        "file": p.file,
                        "row_number": p.row,
                        "column_name": p.column,
                        "value": p.value,
                        "reason": p.reason,
                        "raw": p.raw,
                    }
                    for p in problems
                ]
                store.append(QUARANTINE.name, pa.Table.from_pylist(q, schema=_arrow_schema(QUARANTINE)))
        report.rows_read = sum(counts["read"])
        report.rows_rejected = rejected
        report.rows_loaded = sum(good_per_file.values()) - sum(skipped.values())
        return report
    finally:
        for name in temps:
            with contextlib.suppress(Exception):  # cleanup never hides the real error
                store.drop(name)


def _file_ids(base: str, n: int) -> list[str]:
    return [base] if n == 1 else [f"{base}-{i + 1}" for i in range(n)]


def _arrow_schema(spec) -> pa.Schema:
    return ibis.schema({k: v.copy(nullable=True) for k, v in spec.columns.items()}).to_pyarrow()


def _per_file(t: ibis.Table) -> dict[int, int]:
    rows = t.group_by("_file").agg(n=t._row.count()).to_pyarrow().to_pylist()
    return {int(r["_file"]): int(r["n"]) for r in rows}


def _cross_row_problems(importer: Importer, t: ibis.Table, sources: list[Source]) -> list[Problem]:
    out: list[Problem] = []
    for expr in importer.checks(t):
        for r in expr.order_by(["_file", "_row"]).to_pyarrow().to_pylist():
            out.append(
                Problem(sources[r["_file"]].name, int(r["_row"]), r["column_name"], r["value"], r["reason"])
            )
    return out


def _fill_raw(sources: list[Source], problems: list[Problem], wanted: dict[int, set[int]]) -> None:
    """Cross-row problems were found after staging; read those rows' raw text again for quarantine."""
    texts: dict[tuple[str, int], str] = {}
    for idx, rows in wanted.items():
        src = sources[idx]
        target = pa.array(sorted(rows), pa.int64())
        for raw in src.batches():
            import pyarrow.compute as pc

            hit = pc.is_in(raw.rows, value_set=target)
            if pc.any(hit).as_py():
                positions = pc.indices_nonzero(hit)
                for r, text in zip(raw.rows.take(positions).to_pylist(), raw.raw(positions), strict=True):
                    texts[(src.name, r)] = text
    for i, p in enumerate(problems):
        if p.raw is None and p.row is not None and (p.file, p.row) in texts:
            problems[i] = Problem(p.file, p.row, p.column, p.value, p.reason, texts[(p.file, p.row)])
