"""Resolving behaviour to customers: events and identity stitching.

An event belongs to its ``customer_id``; an event with only an ``anonymous_id`` belongs to the customer
that anonymous id is linked to in ``identities``. The link counts whenever it was made, even after
``as_of`` or after the event: an identify call stitches the visitor's earlier anonymous browsing onto
the customer, as Segment's identity resolution does. (A consequence: re-running a past ``as_of`` after
new identify calls can attribute more of that past behaviour.) An anonymous id linked to several
customers (a shared device) counts for the most recently linked one (ties: smallest customer_id).
Anonymous events never linked belong to nobody.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import ibis
import ibis.expr.types as ir

from segmint.core.traits._time import ts_literal

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

_EPOCH = datetime(1970, 1, 1)


def identity_map(identities: ir.Table) -> ir.Table:
    """One customer per anonymous id: the latest link (missing link times count as oldest)."""
    ranked = identities.mutate(
        _rank=ibis.row_number().over(
            group_by=identities.anonymous_id,
            order_by=[ibis.desc(identities.linked_at.fill_null(ts_literal(_EPOCH))), identities.customer_id],
        )
    )
    return ranked.filter(ranked._rank == 0).select("anonymous_id", "customer_id")


def resolved_events(
    tables: Mapping[str, ir.Table],
    as_of: datetime,
    names: Sequence[str] | None = None,
    since: datetime | None = None,
) -> ir.Table:
    """Events up to ``as_of`` with the customer they belong to (``customer_id`` never missing); only
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
    links = identity_map(tables["identities"])
    stitched = anon.inner_join(links, anon.anonymous_id == links.anonymous_id).select(
        links.customer_id, *(anon[c] for c in EVENT_COLUMNS)
    )
    return _nullable(known).union(_nullable(stitched), distinct=False)


def _nullable(table: ir.Table) -> ir.Table:
    """The same columns, all nullable: engines report nullability differently after joins, and a
    union needs equal schemas."""
    return table.select(**{c: table[c].cast(t.copy(nullable=True)) for c, t in table.schema().items()})


def stitched_events(events: ir.Table, identities: ir.Table, as_of: datetime | None = None) -> ir.Table:
    """Every event column, with ``customer_id`` filled from ``identities`` for anonymous events (the
    same stitching as :func:`resolved_events`, without the time filter: the rule compiler applies its
    own windows). Rules see the stitched customer exactly as traits do."""
    known = events.filter(events.customer_id.notnull())
    anon = events.filter(events.customer_id.isnull() & events.anonymous_id.notnull())
    if as_of is not None:  # links made later are not known at as_of
        identities = identities.filter(
            identities.linked_at.isnull() | (identities.linked_at <= ts_literal(as_of))
        )
    links = identity_map(identities).rename(_linked_customer="customer_id", _linked_anon="anonymous_id")
    joined = anon.inner_join(links, anon.anonymous_id == links._linked_anon)
    stitched = joined.mutate(customer_id=joined._linked_customer).select(*events.columns)
    return _nullable(known).union(_nullable(stitched), distinct=False)
