"""Why is (or isn't) a customer in a segment: each clause of its rule with the customer's values and
whether it holds, as of a time. The CLI, the API, the dashboard and the Python API all call
:func:`explain`.

Only that customer is evaluated: the traits are the stored ones when they are valid for the time
asked, else computed from the customer's own rows (and only the trait groups the rule reads), ranks
against the whole base included; events are the customer's own, stitched with the links known then;
``in_segment`` reads the referenced segment's membership at that time. Nothing is written.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import ibis

from segmint.adapters.workspace import Workspace
from segmint.batch.definitions import check_context, check_definition, load_definitions, resolve_rule
from segmint.batch.evaluate import compile_context
from segmint.batch.reads import default_as_of, require_segment, segment_members_at
from segmint.batch.traits import (
    catalog_for,
    restricted_tables,
    restricted_traits,
    rule_traits,
    stored_traits,
    workspace_catalog,
)
from segmint.core.rules import explain as explain_rule
from segmint.core.segments.definition import SegmentError
from segmint.core.timeutil import parse_as_of

__all__ = ["explain"]


def explain(
    ws: Workspace, customer_id: str, segment: str, as_of: datetime | str | None = None
) -> dict[str, Any]:
    """``{segment, customer_id, as_of, found, result, clauses, lines}`` for one customer and segment at
    ``as_of`` (default: the latest run, else the end of the data); ``as_of`` is the time used."""
    defs = {d.name: d for d in load_definitions(ws)}
    if segment not in defs:
        require_segment(ws, segment)  # unknown: "no segment called ...; did you mean"
        raise SegmentError(
            f"segment {segment!r} has no rule to explain (a cluster, or a segment whose definition was "
            "removed)",
            detail={"segment": segment, "reason": "no rule"},
        )
    t = parse_as_of(as_of) if as_of is not None else default_as_of(ws)
    defn = defs[segment]
    rule = resolve_rule(defn)
    catalog = workspace_catalog(ws)
    check_definition(rule, defn, catalog, defs)
    customer_id = str(customer_id)
    customers = ws.table("customers")
    if not int(
        customers.filter(customers.customer_id == ibis.literal(customer_id)).count().to_pyarrow().as_py()
    ):
        raise SegmentError(f"no customer with id {customer_id!r}", detail={"customer_id": customer_id})

    needed = rule_traits([rule], check_context(catalog, defs))
    traits = stored_traits(ws, t)
    subset = None if traits is not None else catalog_for(catalog, needed)
    # The customer's own rows, read once: the rule reads the customer's row, events and identities
    # (restrict() keeps exactly what decides this customer), traits computed here read them all.
    tables = restricted_tables(
        ws, [customer_id], only=None if subset is not None else ("customers", "events", "identities")
    )
    if traits is not None:
        traits = traits.filter(traits.customer_id == ibis.literal(customer_id))
    elif subset is not None:  # else the rule reads no trait: its clauses are on events and segments
        traits, _ = restricted_traits(ws, t, [customer_id], subset, tables)
        # Computed once into memory: the rule's clauses are each one query over the traits, and
        # compiling the whole trait expression for every clause costs more than the customer's rows.
        traits = ibis.memtable(traits.to_pyarrow(), schema=traits.schema())

    def lookup(name: str):
        members = segment_members_at(ws, name, t)
        return members.filter(members.customer_id == ibis.literal(customer_id))

    ctx = compile_context(traits, tables, t, catalog, lookup)

    def execute(expr) -> dict[str, Any] | None:
        rows = expr.to_pyarrow().to_pylist()
        return rows[0] if rows else None

    result = explain_rule(rule, ctx, customer_id, execute)
    return {"segment": segment, **result.to_dict(), "lines": result.root.lines()}
