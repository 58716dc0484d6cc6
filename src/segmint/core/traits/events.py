"""Resolving behaviour to customers: events and identity stitching.

An event belongs to its ``customer_id``; an event with only an ``anonymous_id`` belongs to the customer
that anonymous id is linked to in ``identities`` as of the run (the rule, with its tie-break, is stated
once in :mod:`segmint.core.identity`). A link counts from its ``linked_at`` on, for the anonymous id's
earlier events too: an identify call stitches the visitor's earlier anonymous browsing onto the customer,
as Segment's identity resolution does, but a run as of a time before the call does not see it, so
re-running a past ``as_of`` reproduces that day. Anonymous events never linked belong to nobody.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import ibis.expr.types as ir

from segmint.core.identity import identity_map
from segmint.core.traits._time import ts_literal

# identity_map is re-exported: callers that stitch by hand import it from here.
__all__ = ["EVENT_COLUMNS", "identity_map", "resolved_events", "stitched_events"]

EVENT_COLUMNS = (
    "event_id",
    "name",
    "occurred_at",
    "session_id",
    "device_type",
    "os",
    "browser",
    "channel",
    "cart_id",
    "campaign_id",
)


def resolved_events(
    tables: Mapping[str, ir.Table],
    as_of: datetime,
    names: Sequence[str] | None = None,
    since: datetime | None = None,
) -> ir.Table:
    """Events up to ``as_of`` with the customer they belong to as of then (``customer_id`` never
    missing; anonymous events through the links known at ``as_of``); only
    those called one of ``names`` and later than ``since`` when given. Filtering here, before the
    stitching join, lets the engine skip the other events while scanning."""
    events = tables["events"]
    ev = events.filter(events.occurred_at <= ts_literal(as_of))
    if names is not None:
        ev = ev.filter(ev.name.isin(list(names)))
    if since is not None:
        ev = ev.filter(ev.occurred_at > ts_literal(since))
    known = ev.filter(ev.customer_id.notnull()).select("customer_id", *EVENT_COLUMNS)
    anon = ev.filter(ev.customer_id.isnull() & ev.anonymous_id.notnull())
    links = identity_map(tables["identities"], as_of)
    stitched = anon.inner_join(links, anon.anonymous_id == links.anonymous_id).select(
        links.customer_id, *(anon[c] for c in EVENT_COLUMNS)
    )
    return _nullable(known).union(_nullable(stitched), distinct=False)


def _nullable(table: ir.Table) -> ir.Table:
    """The same columns, all nullable: engines report nullability differently after joins, and a
    union needs equal schemas."""
    return table.select(**{c: table[c].cast(t.copy(nullable=True)) for c, t in table.schema().items()})


def stitched_events(events: ir.Table, identities: ir.Table, as_of: datetime | None = None) -> ir.Table:
    """Every event column, with ``customer_id`` filled from ``identities`` for anonymous events: the
    same stitching as :func:`resolved_events` (links known at ``as_of``), without the time filter on
    events, since the rule compiler applies its own windows. Rules see the stitched customer exactly as
    traits do. ``as_of=None`` counts every link, for callers with no time."""
    known = events.filter(events.customer_id.notnull())
    anon = events.filter(events.customer_id.isnull() & events.anonymous_id.notnull())
    links = identity_map(identities, as_of).rename(
        _linked_customer="customer_id", _linked_anon="anonymous_id"
    )
    joined = anon.inner_join(links, anon.anonymous_id == links._linked_anon)
    stitched = joined.mutate(customer_id=joined._linked_customer).select(*events.columns)
    return _nullable(known).union(_nullable(stitched), distinct=False)
