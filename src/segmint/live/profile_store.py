"""Profile lookups (``GET /v1/profiles/{id}``), and the customer rows, anonymous ids and live
memberships held in memory for them.

The store is loaded once at start when the shop fits (``max_customers``) and kept current by the two
writers: the ingest writer reports customers an identify changed and new identity links, the live
engine reports every membership change after it commits. Lookups then cost a dictionary read, answered
on the event loop; a shop too large to hold, a lookup of more events than are cached, or stored traits
fall back to database reads on a read thread (:mod:`segmint.adapters.profile_reads`).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import orjson

from segmint.adapters import profile_reads
from segmint.adapters.workspace import Workspace
from segmint.live.recent_events import PROFILE_EVENT_COLUMNS

if TYPE_CHECKING:
    from segmint.live.service import Service

__all__ = ["ProfileStore", "read_profile"]


class ProfileStore:
    def __init__(self, max_customers: int = 500_000) -> None:
        self.max_customers = max_customers
        self.complete = False
        self._customers: dict[str, dict[str, Any]] = {}
        self._anon: dict[str, list[str]] = {}
        self._members: dict[str, dict[str, dict[str, Any]]] = {}
        self._members_loaded = False
        self._customers_loaded = False
        self._lock = threading.Lock()

    # -- loading (start) ------------------------------------------------------------------------------
    def load_customers(self, ws: Workspace) -> None:
        """Customers and identity links (the ingest writer's workspace, before serving)."""
        customers = profile_reads.all_customers(ws, self.max_customers)
        if customers is None:
            return
        anon = profile_reads.anonymous_ids_by_customer(ws)
        with self._lock:
            self._customers, self._anon = customers, anon
            self._customers_loaded = True
            self.complete = self._members_loaded

    def load_memberships(self, ws: Workspace) -> None:
        """Current memberships (the live engine's workspace, before its first evaluation)."""
        members: dict[str, dict[str, dict[str, Any]]] = {}
        for segment, cid, since, version in profile_reads.current_memberships(ws):
            members.setdefault(cid, {})[segment] = {
                "segment": segment,
                "since": since,
                "segment_version": version,
            }
        with self._lock:
            self._members = members
            self._members_loaded = True
            self.complete = self._customers_loaded

    # -- updates ----------------------------------------------------------------------------------------
    def customers_changed(self, rows: Iterable[dict[str, Any]]) -> None:
        with self._lock:
            for row in rows:
                self._customers[row["customer_id"]] = row
            if len(self._customers) > self.max_customers:
                self.complete = False

    def linked(self, links: Iterable[tuple[str, str]]) -> None:
        with self._lock:
            for anonymous_id, customer_id in links:
                ids = self._anon.setdefault(customer_id, [])
                if anonymous_id not in ids:
                    ids.append(anonymous_id)
                    ids.sort()

    def apply(self, changes: Iterable[Any]) -> None:
        """Membership changes the live engine committed (entered/exited)."""
        with self._lock:
            for change in changes:
                mine = self._members.setdefault(change.customer_id, {})
                if change.kind == "entered":
                    mine[change.segment] = {
                        "segment": change.segment,
                        "since": change.at,
                        "segment_version": change.segment_version,
                    }
                else:
                    mine.pop(change.segment, None)

    # -- reads --------------------------------------------------------------------------------------------
    def get(self, customer_id: str) -> tuple[dict | None, list[str], list[dict]] | None:
        """``(customer row, anonymous ids, memberships)``, or ``None`` when not held in memory."""
        with self._lock:
            if not self.complete:
                return None
            customer = self._customers.get(customer_id)
            anon = list(self._anon.get(customer_id, ()))
            members = sorted(self._members.get(customer_id, {}).values(), key=lambda m: m["segment"])
            return (dict(customer) if customer else None), anon, [dict(m) for m in members]


# -- the lookup --------------------------------------------------------------------------------------------
class _NeedsDatabase(Exception):
    """Raised by the in-memory path when a lookup must read the database after all."""


async def read_profile(service: Service, customer_id: str, events: int) -> dict[str, Any] | None:
    """The customer's fields, anonymous ids, stored traits (with their time), live memberships and
    ``events`` latest events (own and stitched), or None when the customer is unknown. Answered on the
    event loop from memory when everything needed is held (no thread hop), else on a read thread."""
    if _in_memory(service, events):
        with contextlib.suppress(_NeedsDatabase):
            return _profile(service, customer_id, events, None)
    return await service.query(lambda view: _profile(service, customer_id, events, view))


def _in_memory(service: Service, events: int) -> bool:
    return (
        service.profiles.complete
        and ((service.recent.complete and events <= service.recent.depth) or events == 0)
        and not service.has_table("traits")
    )


def _profile(
    service: Service, customer_id: str, events: int, view: Workspace | None
) -> dict[str, Any] | None:
    held = service.profiles.get(customer_id)
    if held is not None:
        customer, anon, memberships = held
    elif view is None:
        raise _NeedsDatabase
    else:
        customer, memberships, anon = profile_reads.profile_row(view, customer_id)

    def load(cid: str, n: int) -> list[dict[str, Any]]:
        if view is None:
            raise _NeedsDatabase
        # Only the anonymous ids whose winning link is this customer's (segmint.core.identity): a shared
        # device's events belong to the customer linked last, as in traits and the recent-events cache.
        links = service.ingestor.links
        owned = [a for a in anon if links.get(a) == cid]
        return profile_reads.customer_events(view, cid, n, owned, PROFILE_EVENT_COLUMNS)

    recent = service.recent.get(customer_id, events, load) if events else []
    if customer is None and not recent:
        return None
    recent = [dict(e) for e in recent]
    for event in recent:
        if event["properties"]:
            with contextlib.suppress(ValueError):
                event["properties"] = orjson.loads(event["properties"])
    traits, traits_as_of = None, None
    if view is not None and service.has_table("traits"):
        traits = profile_reads.stored_traits(view, customer_id)
        if traits is not None:
            traits.pop("customer_id", None)
            traits_as_of = traits.pop("as_of", None) or traits.pop("_as_of", None)
    return {
        "customer_id": customer_id,
        "customer": customer,
        "anonymous_ids": list(anon or []),
        "traits": traits,
        "traits_as_of": traits_as_of,
        "memberships": memberships,
        "recent_events": recent,
    }
