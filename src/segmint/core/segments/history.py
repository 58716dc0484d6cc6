"""Membership history as intervals, and the maths on it, as engine-independent Ibis expressions.

History is known only at evaluated times ("runs"). An interval ``[valid_from, valid_to)`` says: the
customer was a member at every run ``t`` with ``valid_from <= t < valid_to`` (``valid_to`` missing: still
a member at the latest run). Only changes are stored, so a customer who stays in a segment for a year
of weekly runs is one row.

This module is the one membership state machine: every writer (batch runs, backfills, the live
engine, cluster assignments) turns "members at t" into history through it. :func:`forward` is the case
of an observation later than everything stored (a run, a live tick): entries and exits at ``t``.
:func:`observe` is the general case, an observation anywhere among earlier ones (a backfill, a re-run):
it holds from ``t`` until the next thing known (the segment's next run, the customer's next stored
change), and :func:`diff` says what to delete and insert, so re-running a time with the same data
changes nothing and runs in any order give the same history as runs in time order.
"""

from __future__ import annotations

from datetime import datetime

import ibis
import ibis.expr.types as ir

__all__ = [
    "boundaries",
    "diff",
    "entries_exits",
    "forward",
    "members_at",
    "migration_matrix",
    "observe",
    "size_over_time",
    "versions_at",
]

# Open intervals compare equal through this stand-in for "no end".
_OPEN = ibis.timestamp("9999-12-31 00:00:00")


def _contains(h: ir.Table, t: ir.Value) -> ir.BooleanValue:
    return ((h.valid_from <= t) & (h.valid_to.isnull() | (h.valid_to > t))).fill_null(False)


def members_at(history: ir.Table, t: datetime) -> ir.Table:
    """``segment, customer_id`` of every membership holding at run time ``t``."""
    lit = ibis.literal(t, type="timestamp")
    return history.filter(_contains(history, lit)).select("segment", "customer_id")


def observe(history: ir.Table, scope: ir.Table, members: ir.Table, at: datetime) -> tuple[ir.Table, ir.Table]:
    """What one observation of memberships at ``at`` does to the stored intervals.

    The rule: an observation at ``at`` holds from ``at`` until the next thing known about that customer
    and segment, ``n`` = the earlier of the segment's next run after ``at`` and the customer's next
    stored boundary (an entry or exit) after ``at``; before ``at`` and from ``n`` on, what was stored
    stays. Touching intervals merge, so a member who stays a member keeps one interval.

    ``history``: stored intervals of the segments (and customers) observed; ``scope``: ``segment,
    version, t_next`` (one row per observed segment; ``t_next`` its next run after ``at`` or missing);
    ``members``: ``segment, customer_id`` holding at ``at``. Returns ``(old, new)``: the stored intervals
    the observation can affect and what they become (feed both to :func:`diff`).
    """
    t = ibis.literal(at, type="timestamp")
    # Intervals entirely before ``at`` cannot change (one ending exactly at ``at`` may extend).
    h = history.filter(history.valid_to.isnull() | (history.valid_to >= t))
    h = h.inner_join(scope.select("segment"), "segment")
    pairs = (
        h.select("segment", "customer_id")
        .union(members.select("segment", "customer_id"))
        .distinct()
        .inner_join(scope, "segment")
    )
    # Next stored boundary after ``at``, per pair.
    nb = h.group_by("segment", "customer_id").aggregate(
        b_from=h.valid_from.min(where=h.valid_from > t),
        b_to=h.valid_to.min(where=h.valid_to > t),
    )
    p = pairs.left_join(nb, ["segment", "customer_id"]).select(
        "segment", "customer_id", "version", "t_next", "b_from", "b_to"
    )
    firsts = [p.t_next, p.b_from, p.b_to]
    n_expr = ibis.null("timestamp")
    for cand in firsts:  # the earliest non-missing candidate (missing means none, i.e. never)
        n_expr = ibis.cases(
            (n_expr.isnull(), cand), (cand.isnull(), n_expr), (cand < n_expr, cand), else_=n_expr
        )
    p = p.select("segment", "customer_id", "version", n=n_expr)

    j = h.inner_join(p, ["segment", "customer_id"])
    end = j.valid_to.coalesce(_OPEN)
    nn = j.n.coalesce(_OPEN)
    # The intervals the observation touches: those reaching ``at`` from the left or holding it, and the
    # one starting exactly at ``n`` (it may merge with a new membership).
    touched = j.filter((j.valid_from <= nn) & (end >= t))
    old = _shape(touched)
    is_left = touched.valid_from < t  # reaches ``at`` from the left (holds it, or ends exactly at it)
    covers = (touched.valid_from <= t) & (touched.valid_to.isnull() | (touched.valid_to > t))
    is_right = (touched.valid_from == touched.n) & touched.n.notnull() & (touched.valid_from > t)
    agg = touched.group_by("segment", "customer_id").aggregate(
        l_vf=touched.valid_from.min(where=is_left),
        l_ver=touched.segment_version.max(where=is_left),
        cov=covers.any(),
        cov_end=touched.valid_to.coalesce(_OPEN).max(where=covers),
        cov_ver=touched.segment_version.max(where=covers),
        r_end=touched.valid_to.coalesce(_OPEN).max(where=is_right),
        r_ver=touched.segment_version.max(where=is_right),
        has_r=is_right.any(),
    )
    now = members.select("segment", "customer_id").distinct().mutate(_m=ibis.literal(True))
    s = p.left_join(agg, ["segment", "customer_id"]).select(
        "segment", "customer_id", "version", "n",
        "l_vf", "l_ver", "cov", "cov_end", "cov_ver", "r_end", "r_ver", "has_r",
    )  # fmt: skip
    s = s.left_join(now, ["segment", "customer_id"]).select(s, m=now._m.fill_null(False))
    s = s.mutate(cov=s.cov.fill_null(False), has_r=s.has_r.fill_null(False))
    n_end = s.n.coalesce(_OPEN)
    # The interval holding ``at`` runs on past ``n`` (``n`` is a run time the customer stayed in over).
    past_n = s.cov & s.n.notnull() & (s.cov_end > n_end)
    # Member at ``at``: one interval from where the left one started (or ``at``) to where what is known
    # from ``n`` on ends (or ``n``).
    member_end = ibis.cases((past_n, s.cov_end), (s.has_r, s.r_end), else_=n_end)
    joined = s.filter(s.m).select(
        "segment",
        "customer_id",
        valid_from=s.l_vf.coalesce(t),
        valid_to=member_end,
        segment_version=ibis.ifelse(s.l_vf.notnull(), s.l_ver, s.version),
    )
    # Not a member: the left interval ends at ``at``; from ``n`` on, what was known stays.
    left = s.filter(~s.m & s.l_vf.notnull()).select(
        "segment", "customer_id", valid_from=s.l_vf, valid_to=t, segment_version=s.l_ver
    )
    right_cov = s.filter(~s.m & past_n).select(
        "segment", "customer_id", valid_from=s.n, valid_to=s.cov_end, segment_version=s.cov_ver
    )
    right_r = s.filter(~s.m & s.has_r).select(
        "segment", "customer_id", valid_from=s.n, valid_to=s.r_end, segment_version=s.r_ver
    )
    new = _shape(joined).union(_shape(left)).union(_shape(right_cov)).union(_shape(right_r))
    new = new.mutate(valid_to=ibis.ifelse(new.valid_to == _OPEN, ibis.null("timestamp"), new.valid_to))
    return old, new


def forward(current: ir.Table, members: ir.Table, scope: ir.Table, at: datetime) -> ir.Table:
    """The changes of an observation later than anything stored (the usual run, every live tick): who
    entered (a member now, no open membership) and who exited (an open membership, no longer a member).
    ``current``: ``segment, customer_id, since, segment_version`` of the open memberships observed;
    ``scope``: ``segment, version``. Returns ``segment, customer_id, kind, at, segment_version, since,
    interval_version``: a change carries the version evaluated at ``at`` (the one that decided it, see
    :func:`versions_at`); ``since`` and ``interval_version`` are where an exit's interval started and
    the version it keeps. Applying it closes the exits' open intervals at ``at`` and opens one from
    ``at`` for each entry, which is what :func:`observe` gives in this case."""
    t = ibis.literal(at, type="timestamp")
    new = members.select("segment", "customer_id").distinct()
    entered = new.anti_join(current, ["segment", "customer_id"]).inner_join(scope, "segment")
    exited = current.anti_join(new, ["segment", "customer_id"]).inner_join(scope, "segment")
    return entered.select(
        segment=entered.segment.cast("string"),
        customer_id=entered.customer_id.cast("string"),
        kind=ibis.literal("entered"),
        at=t,
        segment_version=entered.version.cast("int64"),
        since=ibis.null("timestamp"),
        interval_version=entered.version.cast("int64"),
    ).union(
        exited.select(
            segment=exited.segment.cast("string"),
            customer_id=exited.customer_id.cast("string"),
            kind=ibis.literal("exited"),
            at=t,
            segment_version=exited.version.cast("int64"),
            since=exited.since.cast("timestamp"),
            interval_version=exited.segment_version.cast("int64"),
        )
    )


def versions_at(runs: ir.Table, scope: ir.Table, at: datetime) -> ir.Table:
    """``segment, at, version``: the version of each scoped segment evaluated at each of its run times,
    with this observation's version at ``at`` (it replaces what a run there recorded before).

    The rule it serves: a change at a run time carries the version evaluated then (an exit caused by a
    new definition says so), and an interval carries the version that opened it. A re-run after a
    definition changed restamps the changes and intervals at that time, so history, the change log
    and ``segment_runs`` always name the same version for the same time."""
    t = ibis.literal(at, type="timestamp")
    other = runs.filter(runs.as_of != t).semi_join(scope, "segment")
    return other.select(
        "segment", at=other.as_of.cast("timestamp"), version=other.segment_version.cast("int64")
    ).union(scope.select("segment", at=t, version=scope.version.cast("int64")))


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
