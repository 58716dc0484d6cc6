"""Membership history as intervals, and the maths on it, as engine-independent Ibis expressions.

History is known only at evaluated times ("runs"). An interval ``[valid_from, valid_to)`` says: the
customer was a member at every run ``t`` with ``valid_from <= t < valid_to`` (``valid_to`` missing: still
a member at the latest run). Only changes are stored, so a customer who stays in a segment for a year
of weekly runs is one row.

A run at ``t`` can land anywhere among earlier runs (a backfill): with ``t_prev``/``t_next`` the
neighbouring runs of that segment, only intervals containing ``t_prev``, ``t`` or ``t_next`` can change,
and their new shape follows from three states per customer (member at ``t_prev``, at ``t``, at
``t_next``). :func:`rebuild` computes the new intervals and :func:`diff` what to delete and insert, so
re-running a time with the same data changes nothing and runs in any order give the same history as
runs in time order.
"""

from __future__ import annotations

from datetime import datetime

import ibis
import ibis.expr.types as ir

__all__ = [
    "boundaries",
    "diff",
    "entries_exits",
    "members_at",
    "migration_matrix",
    "rebuild",
    "size_over_time",
]

# Open intervals compare equal through this stand-in for "no end".
_OPEN = ibis.timestamp("9999-12-31 00:00:00")


def _contains(h: ir.Table, t: ir.Value) -> ir.BooleanValue:
    return ((h.valid_from <= t) & (h.valid_to.isnull() | (h.valid_to > t))).fill_null(False)


def members_at(history: ir.Table, t: datetime) -> ir.Table:
    """``segment, customer_id`` of every membership holding at run time ``t``."""
    lit = ibis.literal(t, type="timestamp")
    return history.filter(_contains(history, lit)).select("segment", "customer_id")


def rebuild(history: ir.Table, bounds: ir.Table, members: ir.Table) -> tuple[ir.Table, ir.Table]:
    """New intervals around one run per segment.

    ``bounds``: ``segment, t, t_prev, t_next, version`` (one row per evaluated segment; ``t_prev`` /
    ``t_next`` missing at the ends). ``members``: ``segment, customer_id`` at ``t``.
    Returns ``(old, new)``: the stored intervals the run can affect, and what they become.
    """
    h = history.inner_join(bounds, "segment")
    hit_prev = _contains(h, h.t_prev)
    hit_t = _contains(h, h.t)
    hit_next = _contains(h, h.t_next)
    old = h.filter(hit_prev | hit_t | hit_next)
    old_rows = _shape(old)

    o = old.mutate(
        in_prev=_contains(old, old.t_prev).cast("int8"),
        in_next=_contains(old, old.t_next).cast("int8"),
    )
    per_customer = o.group_by("segment", "customer_id").aggregate(
        s_prev=o.in_prev.max(),
        s_next=o.in_next.max(),
        l_vf=o.valid_from.min(where=o.in_prev == 1),
        l_ver=o.segment_version.min(where=o.in_prev == 1),
        r_vt=o.valid_to.coalesce(_OPEN).max(where=o.in_next == 1),
        r_ver=o.segment_version.max(where=o.in_next == 1),
    )
    now = members.select("segment", "customer_id").distinct().mutate(s_t=ibis.literal(1, "int8"))
    j = per_customer.outer_join(now, ["segment", "customer_id"])
    states = j.select(
        segment=j.segment.coalesce(j.segment_right),
        customer_id=j.customer_id.coalesce(j.customer_id_right),
        s_prev=j.s_prev.fill_null(0) == 1,
        s_next=j.s_next.fill_null(0) == 1,
        s_t=j.s_t.fill_null(0) == 1,
        l_vf=j.l_vf,
        l_ver=j.l_ver,
        r_vt=j.r_vt,
        r_ver=j.r_ver,
    )
    b2 = bounds.view()
    states = states.view()
    j = states.inner_join(b2, states.segment == b2.segment)
    end_next = j.t_next.coalesce(_OPEN)
    # Left piece: the interval running into t_prev, continued to t (and beyond when still a member).
    left_end = ibis.cases(
        (j.s_t & j.s_next, j.r_vt),
        (j.s_t, end_next),
        else_=j.t,
    )
    left = j.filter(j.s_prev).select(
        "segment", "customer_id", valid_from=j.l_vf, valid_to=left_end, segment_version=j.l_ver
    )
    # Middle piece: starts at t when the customer was out at t_prev.
    mid_end = ibis.cases((j.s_next, j.r_vt), else_=end_next)
    mid = j.filter(~j.s_prev & j.s_t).select(
        "segment", "customer_id", valid_from=j.t, valid_to=mid_end, segment_version=j.version
    )
    # Right piece: out at t, in again at t_next, so the interval holding t_next now starts there.
    right = j.filter(~j.s_t & j.s_next).select(
        "segment",
        "customer_id",
        valid_from=j.t_next,
        valid_to=j.r_vt,
        segment_version=j.r_ver,
    )
    new = _shape(left).union(_shape(mid)).union(_shape(right))
    new = new.mutate(valid_to=ibis.ifelse(new.valid_to == _OPEN, ibis.null("timestamp"), new.valid_to))
    return old_rows, new


def _shape(t: ir.Table) -> ir.Table:
    return t.select(
        segment=t.segment.cast("string"),
        customer_id=t.customer_id.cast("string"),
        valid_from=t.valid_from.cast("timestamp"),
        valid_to=t.valid_to.cast("timestamp"),
        segment_version=t.segment_version.cast("int64"),
    )


def _keyed(t: ir.Table) -> ir.Table:
    return t.mutate(_vt=t.valid_to.coalesce(_OPEN), _ver=t.segment_version.fill_null(-1))


def diff(old: ir.Table, new: ir.Table) -> tuple[ir.Table, ir.Table]:
    """``(delete, insert)``: the old intervals that no longer hold and the new ones not yet stored."""
    cols = ["segment", "customer_id", "valid_from", "_vt", "_ver"]
    ko, kn = _keyed(old), _keyed(new)
    delete = ko.anti_join(kn, cols).drop("_vt", "_ver")
    insert = kn.anti_join(ko, cols).drop("_vt", "_ver")
    return delete, insert


def boundaries(intervals: ir.Table) -> ir.Table:
    """The entered/exited change events an interval set implies: ``segment, customer_id, kind, at,
    segment_version``."""
    entered = intervals.select(
        "segment",
        "customer_id",
        kind=ibis.literal("entered"),
        at=intervals.valid_from.cast("timestamp"),
        segment_version=intervals.segment_version,
    )
    closed = intervals.filter(intervals.valid_to.notnull())
    exited = closed.select(
        "segment",
        "customer_id",
        kind=ibis.literal("exited"),
        at=closed.valid_to.cast("timestamp"),
        segment_version=closed.segment_version,
    )
    return entered.union(exited)


def size_over_time(history: ir.Table, runs: ir.Table) -> ir.Table:
    """``segment, as_of, size`` at every run: intervals started by then minus intervals ended by then,
    from per-time counts so the cost is the number of distinct change times, not of members."""
    starts = history.group_by("segment", at=history.valid_from.cast("timestamp")).aggregate(
        delta=history.count().cast("int64")
    )
    ended = history.filter(history.valid_to.notnull())
    ends = ended.group_by("segment", at=ended.valid_to.cast("timestamp")).aggregate(
        delta=(-ended.count()).cast("int64")
    )
    deltas = starts.union(ends)
    r = runs.select("segment", "as_of").distinct()
    j = r.inner_join(deltas, [r.segment == deltas.segment, deltas.at <= r.as_of])
    sizes = j.group_by(segment=j.segment, as_of=j.as_of).aggregate(size=j.delta.sum())
    out = r.left_join(sizes, ["segment", "as_of"]).select(
        "segment", "as_of", size=ibis.coalesce(sizes.size, 0).cast("int64")
    )
    return out.order_by("segment", "as_of")


def entries_exits(history: ir.Table, segment: str, t1: datetime, t2: datetime) -> ir.Table:
    """``customer_id, change`` (``entered`` / ``exited``): members at ``t2`` who were not at ``t1`` and
    the reverse (the net change between two run times)."""
    h = history.filter(history.segment == segment)
    a = members_at(h, t1).select("customer_id").mutate(a=ibis.literal(1))
    b = members_at(h, t2).select("customer_id").mutate(b=ibis.literal(1))
    j = a.outer_join(b, "customer_id")
    j = j.select(customer_id=j.customer_id.coalesce(j.customer_id_right), a=j.a, b=j.b)
    out = j.filter(j.a.isnull() | j.b.isnull())
    return out.select("customer_id", change=ibis.ifelse(out.a.isnull(), "entered", "exited")).order_by(
        "change", "customer_id"
    )


NONE = "(none)"


def migration_matrix(history: ir.Table, segments: list[str], t1: datetime, t2: datetime) -> ir.Table:
    """``from_segment, to_segment, customers`` between two times over a family of exclusive segments;
    customers in none of them at one of the times appear as ``(none)``."""
    h = history.filter(history.segment.isin(segments))
    a = members_at(h, t1).rename(from_segment="segment")
    b = members_at(h, t2).rename(to_segment="segment")
    j = a.outer_join(b, "customer_id")
    j = j.select(
        from_segment=j.from_segment.fill_null(NONE),
        to_segment=j.to_segment.fill_null(NONE),
    )
    return (
        j.group_by("from_segment", "to_segment")
        .aggregate(customers=j.count())
        .order_by("from_segment", "to_segment")
    )


def overlapping(history: ir.Table, segments: list[str], t: datetime) -> ir.Table:
    """Customers in more than one segment of a supposedly exclusive family at ``t``."""
    m = members_at(history.filter(history.segment.isin(segments)), t)
    c = m.group_by("customer_id").aggregate(n=m.count())
    return c.filter(c.n > 1)
