"""Customer rows, anonymous ids and live memberships held in memory for profile lookups.

Loaded once at start when the shop fits (``max_customers``) and kept current by the two writers: the
ingest writer reports customers an identify changed and new identity links, the live engine reports
every membership change after it commits. Lookups then cost a dictionary read; a shop too large to
hold falls back to database reads (``complete`` stays false).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

__all__ = ["ProfileStore"]


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
    def load_customers(self, raw) -> None:
        """Customers and identity links (the ingest writer's connection, before serving)."""
        if raw.execute("SELECT count(*) FROM customers").fetchone()[0] > self.max_customers:
            return
        result = raw.execute("SELECT * FROM customers")
        names = [d[0] for d in result.description]
        customers = {row[0]: dict(zip(names, row, strict=True)) for row in result.fetchall()}
        anon = dict(
            raw.execute(
                "SELECT customer_id, list(DISTINCT anonymous_id ORDER BY anonymous_id) FROM identities GROUP BY 1"
            ).fetchall()
        )
        with self._lock:
            self._customers, self._anon = customers, {k: list(v) for k, v in anon.items()}
            self._customers_loaded = True
            self.complete = self._members_loaded

    def load_memberships(self, raw) -> None:
        """Current memberships (the live engine's connection, before its first evaluation)."""
        members: dict[str, dict[str, dict[str, Any]]] = {}
        for segment, cid, since, version in raw.execute(
            "SELECT segment, customer_id, since, segment_version FROM memberships"
        ).fetchall():
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
