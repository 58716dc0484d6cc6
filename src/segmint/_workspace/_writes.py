"""Methods of :class:`segmint.Workspace` that bring data in, write segments and run the pipeline."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from segmint._workspace._args import (
    PathLike,
    Time,
    _instant,
    _path,
    _paths,
    _pipeline_report,
    _rows,
    _text,
    _time,
)
from segmint._workspace._base import _Plumbing
from segmint.errors import SegmintError

if TYPE_CHECKING:
    import pandas as pd


class _Writes(_Plumbing):
    """Data in, segments as code, running: the methods that write (refused when read-only), and
    validate, which checks the segment files."""

    # -- data in ------------------------------------------------------------------------------------
    def import_files(
        self,
        fmt: str,
        files: PathLike | Iterable[PathLike],
        *,
        table: str | None = None,
        mapping: Mapping[str, Any] | PathLike | None = None,
        keep_good: bool = False,
        delimiter: str | None = None,
        encoding: str | None = None,
        date_format: str | None = None,
        timezone: str | None = None,
        currency: str | None = None,
    ) -> dict[str, Any]:
        """Import files in one all-or-nothing transaction, as ``segmint import``; the import report."""
        from segmint.batch.importing import import_files

        options = {
            "delimiter": delimiter,
            "encoding": encoding,
            "date_format": date_format,
            "timezone": timezone,
            "currency": currency,
        }
        chosen = dict(mapping) if isinstance(mapping, Mapping) else mapping
        report = self._write(
            "import files",
            import_files,
            _text(fmt, "fmt"),
            _paths(files),
            table=table,
            mapping=chosen,
            keep_good=bool(keep_good),
            options=options,
        )
        return report.to_dict()

    def load_generated(self, folder: PathLike) -> dict[str, int]:
        """Load a shop written by :func:`segmint.generate` (or ``segmint generate``); rows per table."""
        from segmint.demo.generate import load_generated

        return self._write("load a generated shop", load_generated, _path(folder))

    # -- segments as code ---------------------------------------------------------------------------
    def install_library(self, overwrite: bool = False) -> list[str]:
        """Copy the ready-made segments into ``segments/``; the names written."""
        from segmint.batch.definitions import install_library

        return self._write("install the segment library", install_library, bool(overwrite))

    def validate(self) -> pd.DataFrame:
        """Check every segment file, as ``segmint segments validate``; one row per segment."""
        from segmint.batch.definitions import validate

        rows = self._read(validate)
        return _rows(rows, columns=["name", "family", "group", "file", "hash"])

    def save_segment(
        self,
        name: str,
        rule: str,
        *,
        family: str | None = None,
        description: str | None = None,
        tags: Iterable[str] | None = None,
        group: str | None = None,
        params: Mapping[str, Any] | None = None,
        mode: Literal["create", "replace", "version"] = "create",
        as_of: Time | None = None,
    ) -> dict[str, Any]:
        """Write ``segments/<name>.yaml`` and evaluate the segment (and those using it) as of ``as_of``
        (default: the latest run), as the API and the dashboard builder save a segment. ``mode``:
        ``create`` (a new name), ``replace`` (exactly these fields) or ``version`` (fields not given
        keep their values)."""
        from segmint.batch.admin import save_and_evaluate

        if mode not in ("create", "replace", "version"):
            raise SegmintError(f"mode must be 'create', 'replace' or 'version', not {mode!r}")
        data = {
            "name": name,
            "rule": rule,
            "family": family,
            "description": description,
            "tags": list(tags) if tags is not None and not isinstance(tags, str) else tags,
            "group": group,
            "params": dict(params) if params is not None else None,
        }
        return self._write("save a segment", save_and_evaluate, data, mode=mode, as_of=_time(as_of))

    # -- running ------------------------------------------------------------------------------------
    def run(self, as_of: Time | None = None) -> dict[str, Any]:
        """Traits, every segment and its history as of ``as_of`` (default: the end of the data), as
        ``segmint run``; the run's report."""
        from segmint.batch.pipeline import run_pipeline

        return _pipeline_report(self._write("run", run_pipeline, _time(as_of)))

    def backfill(self, start: Time, end: Time, every: str = "1w") -> list[dict[str, Any]]:
        """Run at ``start``, ``start + every``, … up to ``end``, as ``segmint run --from --to --every``;
        one report per time."""
        from segmint.batch.pipeline import backfill_pipeline

        results = self._write(
            "backfill",
            backfill_pipeline,
            _instant(start, "start"),
            _instant(end, "end"),
            _text(every, "every"),
        )
        return [_pipeline_report(r) for r in results]
