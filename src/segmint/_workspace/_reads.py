"""Methods of :class:`segmint.Workspace` that read traits and segments."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from segmint._workspace._args import (
    _SEGMENT_COLUMNS,
    PathLike,
    Time,
    _frame,
    _id,
    _instant,
    _path,
    _rows,
    _text,
    _time,
)
from segmint._workspace._base import _Plumbing

if TYPE_CHECKING:
    import pandas as pd

    from segmint._workspace import Explanation


class _Reads(_Plumbing):
    """Traits and segments: the methods that read (every one works on a read-only workspace)."""

    # -- traits -------------------------------------------------------------------------------------
    def traits(self, as_of: Time | None = None, customers: Iterable[str] | str | None = None) -> pd.DataFrame:
        """Every trait of every customer as of ``as_of`` (default: the latest run, else the end of the
        data): the stored table when it is valid for that time, else computed without storing. With
        ``customers``, only those, computed from their own rows (the same values). ``attrs["as_of"]``
        is the time used."""
        from segmint.batch import traits

        t = _time(as_of) or self._default_time()
        if customers is None:
            table, stored = self._read(traits.traits_at, t)
        else:
            ids = [_id(c) for c in ([customers] if isinstance(customers, str | int) else customers)]
            table, _ = self._read(traits.restricted_traits, t, ids)
            # Inputs that are not cut down to these customers (predictions) bring rows of others, with
            # values computed from none of their orders: keep the customers asked for, as profile does.
            table = table.filter(table.customer_id.isin(ids))
            stored = False
        frame = _frame(table.order_by("customer_id"))
        frame.attrs.update(as_of=t, stored=stored)
        return frame

    def profile(self, customer_id: str, as_of: Time | None = None) -> dict[str, Any]:
        """One customer's traits grouped by family, as ``segmint profile`` (same default time)."""
        from segmint.batch.traits import profile

        return self._read(profile, _id(customer_id), _time(as_of))

    # -- segments -----------------------------------------------------------------------------------
    def segments(self, as_of: Time | None = None) -> pd.DataFrame:
        """Every segment with its family, group, rule, version and members, as ``segmint segments
        list``: current members, or members at a past time."""
        from segmint.batch.reads import segment_summaries

        t = _time(as_of)
        frame = _rows(self._read(segment_summaries, t), columns=_SEGMENT_COLUMNS)
        frame.attrs["as_of"] = t
        return frame

    def members(self, name: str, as_of: Time | None = None) -> pd.DataFrame:
        """``customer_id, since`` of a segment's members: current, or at a past time."""
        from segmint.batch.reads import members

        t = _time(as_of)
        frame = _frame(self._read(members, _text(name, "name"), t))
        frame.attrs.update(segment=name, as_of=t)
        return frame

    def count(self, name: str, as_of: Time | None = None) -> int:
        """How many customers are in a segment: current, or at a past time."""
        from segmint.batch.reads import members

        table = self._read(members, _text(name, "name"), _time(as_of))
        return int(table.count().to_pyarrow().as_py())

    def select(self, rule: str, as_of: Time | None = None) -> pd.DataFrame:
        """The customers an ad-hoc rule matches (nothing is saved), as ``segmint segments count``.
        ``attrs["as_of"]`` is the time used (default: the latest run, else the end of the data)."""
        from segmint.batch.select import select

        chosen = self._read(select, _text(rule, "rule"), _time(as_of))
        frame = _frame(chosen.table.order_by("customer_id"))
        frame.attrs.update(rule=rule, as_of=chosen.as_of, stored_traits=chosen.traits_reused)
        return frame

    def explain(self, customer_id: str, segment: str, as_of: Time | None = None) -> Explanation:
        """Each clause of a segment's rule with the customer's values and whether it holds, as
        ``segmint explain`` (default time: the latest run, else the end of the data)."""
        # Public names live in segmint._workspace, which imports this module: import at call time.
        from segmint._workspace import Explanation
        from segmint.batch.explain import explain

        out = self._read(explain, _id(customer_id), _text(segment, "segment"), _time(as_of))
        return Explanation(
            segment=out["segment"],
            customer_id=out["customer_id"],
            as_of=datetime.fromisoformat(out["as_of"]),
            found=out["found"],
            result=out["result"],
            clauses=out["clauses"],
            lines=tuple(out["lines"]),
        )

    def kpis(
        self, names: Iterable[str] | str | None = None, as_of: Time | None = None, period: str = "90d"
    ) -> pd.DataFrame:
        """Size, revenue, AOV, repeat rate, retention, conversion and e-mail rates per segment (all by
        default) and for the whole base, as ``segmint segments kpis``."""
        from segmint.batch.kpis import kpis

        chosen = [names] if isinstance(names, str) else (list(names) if names is not None else None)
        rows = self._read(kpis, chosen, _time(as_of), _text(period, "period"))
        frame = _rows(rows)
        frame.attrs["as_of"] = rows[0]["as_of"] if rows else None
        return frame

    def history(self, names: Iterable[str] | str | None = None) -> pd.DataFrame:
        """``segment, as_of, size`` at every run time, as ``segmint segments history``."""
        from segmint.batch.reads import size_over_time

        chosen = [names] if isinstance(names, str) else (list(names) if names is not None else None)
        return _rows(self._read(size_over_time, chosen), columns=["segment", "as_of", "size"])

    def changes(self, name: str, start: Time, end: Time) -> pd.DataFrame:
        """Customers who entered or left a segment between two run times, as ``segmint segments
        changes``."""
        from segmint.batch.reads import entries_exits

        rows = self._read(entries_exits, _text(name, "name"), _instant(start, "start"), _instant(end, "end"))
        return _rows(rows, columns=["customer_id", "change"])

    def migration(self, group: str, start: Time, end: Time) -> pd.DataFrame:
        """How customers moved between the exclusive segments of ``group`` (e.g. ``rfm``) between two
        run times, as ``segmint segments migration``: one row per (from, to) pair."""
        from segmint.batch.reads import migration

        rows = self._read(migration, _text(group, "group"), _instant(start, "start"), _instant(end, "end"))
        return _rows(rows)

    def overlap(self, names: Iterable[str], as_of: Time | None = None) -> pd.DataFrame:
        """Customers in both of each pair of segments, share and Jaccard index, as ``segmint segments
        overlap``."""
        from segmint.batch.reads import overlap

        chosen = [names] if isinstance(names, str) else list(names)
        return _rows(self._read(overlap, [_text(n, "name") for n in chosen], _time(as_of)))

    def export(self, name: str, path: PathLike, as_of: Time | None = None) -> int:
        """Write a segment's members (with e-mail and opt-in) to a ``.csv`` or ``.parquet`` file, as
        ``segmint segments export``; how many were written."""
        from segmint.batch.exports import export_members

        return self._read(export_members, _text(name, "name"), _path(path), _time(as_of))
