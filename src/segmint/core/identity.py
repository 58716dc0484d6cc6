"""Identity stitching: which customer an anonymous id belongs to, as of a time.

The rule, stated once (both forms below implement it and nothing else does):

    As of ``T``, an anonymous id belongs to the customer of its **winning link** among the links of
    ``identities`` known at ``T``. A link is known at ``T`` when ``linked_at <= T``; a link without a
    time has been known since always. With no ``T`` (``as_of=None``) every link is known.

    Between two links of the same anonymous id, the winner is decided by, in this order:

    1. a link with a time beats a link without one (a missing time counts as the oldest);
    2. the later ``linked_at`` wins;
    3. on equal times, the smaller ``customer_id`` wins.

    An anonymous id with no link known at ``T`` belongs to nobody.

The order is total for distinct customers, so the winner never depends on row order or on the engine.
Point in time: a run as of ``T`` sees only what was known at ``T``, so an identify call made after ``T``
changes nothing about ``T`` (re-running a past ``as_of`` reproduces it); once made, it attributes the
anonymous id's earlier events to the customer for every later ``as_of``.

Two forms, the same ordering written as the same three terms:

* :func:`identity_map` — an Ibis expression (batch traits and rules, and the SQL the live service
  compiles from it);
* :func:`beats` / :class:`IdentityLinks` — plain Python, for state held in memory (the ingest writer's
  anonymous id → customer map, kept current as identify calls arrive).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import ibis
import ibis.expr.types as ir

from segmint.core.timeutil import to_utc_naive

__all__ = ["IdentityLinks", "beats", "identity_map", "known_at"]


def identity_map(identities: ir.Table, as_of: datetime | None = None) -> ir.Table:
    """``(anonymous_id, customer_id, linked_at)``: one row per anonymous id with a link known at
    ``as_of``, holding its winning link (see the module docstring for the rule). ``linked_at`` lets
    state held in memory go on applying the rule to links that arrive later."""
    links = identities
    if as_of is not None:
        at = ibis.literal(to_utc_naive(as_of), type="timestamp")
        links = links.filter(links.linked_at.isnull() | (links.linked_at <= at))
    ranked = links.mutate(
        _rank=ibis.row_number().over(
            group_by=links.anonymous_id,
            order_by=[
                ibis.desc(links.linked_at.notnull()),  # 1. a time beats no time
                ibis.desc(links.linked_at),  # 2. the later time wins
                ibis.asc(links.customer_id),  # 3. then the smaller customer_id
            ],
        )
    )
    return ranked.filter(ranked._rank == 0).select("anonymous_id", "customer_id", "linked_at")


def known_at(linked_at: datetime | None, as_of: datetime | None) -> bool:
    """Whether a link made at ``linked_at`` counts for a run as of ``as_of`` (the Ibis filter above)."""
    return as_of is None or linked_at is None or linked_at <= to_utc_naive(as_of)


def beats(
    customer_id: str, linked_at: datetime | None, other_customer_id: str, other_linked_at: datetime | None
) -> bool:
    """Whether link ``(customer_id, linked_at)`` wins over ``(other_customer_id, other_linked_at)`` for
    the same anonymous id (the ``order_by`` of :func:`identity_map`, term by term)."""
    if (linked_at is None) != (other_linked_at is None):  # 1. a time beats no time
        return linked_at is not None
    if linked_at is not None and other_linked_at is not None and linked_at != other_linked_at:
        return linked_at > other_linked_at  # 2. the later time wins
    return customer_id < other_customer_id  # 3. then the smaller customer_id


class IdentityLinks:
    """Anonymous id → customer of its winning link, held in memory and kept current link by link.

    ``customer_of`` is a plain dict (the ingest writer reads it for every anonymous event). Offering a
    link applies :func:`beats` against the current winner; because the order is total, the winner of all
    links offered so far equals :func:`identity_map` over the same links, whatever order they came in.
    Links not known at ``as_of`` (when given) are ignored, as :func:`identity_map` ignores them.
    """

    def __init__(self, as_of: datetime | None = None) -> None:
        self.as_of = as_of
        self.customer_of: dict[str, str] = {}
        self._linked_at: dict[str, datetime | None] = {}

    @classmethod
    def of_winners(
        cls,
        anonymous_ids: list[str],
        customer_ids: list[str],
        linked_at: list[datetime | None],
        as_of: datetime | None = None,
    ) -> IdentityLinks:
        """State from winning links already chosen by :func:`identity_map` (one per anonymous id), as
        loaded at start: two dict builds instead of a comparison per link."""
        out = cls(as_of)
        out.customer_of = dict(zip(anonymous_ids, customer_ids, strict=True))
        out._linked_at = dict(zip(anonymous_ids, linked_at, strict=True))
        return out

    @classmethod
    def of(
        cls, links: Iterable[tuple[str, str, datetime | None]], as_of: datetime | None = None
    ) -> IdentityLinks:
        out = cls(as_of)
        out.offer_all(links)
        return out

    def offer(self, anonymous_id: str, customer_id: str, linked_at: datetime | None) -> bool:
        """Apply one link; True when it became the anonymous id's winning link."""
        won = self.challenged_by([(anonymous_id, customer_id, linked_at)])
        self.update(won)
        return bool(won)

    def challenged_by(
        self, links: Iterable[tuple[str, str, datetime | None]]
    ) -> dict[str, tuple[str, datetime | None]]:
        """The anonymous ids whose winning link would change if these links were added, with their new
        winning link; nothing changes until :meth:`update` (so a caller can apply them only once the
        links are durably stored)."""
        won: dict[str, tuple[str, datetime | None]] = {}
        for anonymous_id, customer_id, linked_at in links:
            if not known_at(linked_at, self.as_of):
                continue
            if anonymous_id in won:
                current: tuple[str, datetime | None] | None = won[anonymous_id]
            elif anonymous_id in self.customer_of:
                current = (self.customer_of[anonymous_id], self._linked_at[anonymous_id])
            else:
                current = None
            if current is None or beats(customer_id, linked_at, *current):
                won[anonymous_id] = (customer_id, linked_at)
        return won

    def update(self, won: dict[str, tuple[str, datetime | None]]) -> None:
        """Apply what :meth:`challenged_by` returned."""
        for anonymous_id, (customer_id, linked_at) in won.items():
            self.customer_of[anonymous_id] = customer_id
            self._linked_at[anonymous_id] = linked_at

    def offer_all(self, links: Iterable[tuple[str, str, datetime | None]]) -> None:
        for anonymous_id, customer_id, linked_at in links:
            self.offer(anonymous_id, customer_id, linked_at)

    def get(self, anonymous_id: str) -> str | None:
        return self.customer_of.get(anonymous_id)

    def linked_at(self, anonymous_id: str) -> datetime | None:
        """When the anonymous id's winning link was made (None: unknown, or known since always)."""
        return self._linked_at.get(anonymous_id)

    def __contains__(self, anonymous_id: object) -> bool:
        return anonymous_id in self.customer_of

    def __len__(self) -> int:
        return len(self.customer_of)
