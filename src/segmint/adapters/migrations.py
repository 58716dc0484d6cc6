"""Bringing a workspace written by an older Segmint up to date when it is opened for writing.

Each step checks whether it is needed (cheaply) and is idempotent, so opening a current workspace costs
a few metadata reads and writes nothing. A workspace opened read-only is never migrated: its reads work
on the tables as they are.
"""

from __future__ import annotations

from segmint.adapters.store import TableStore

__all__ = ["migrate"]


def migrate(store: TableStore) -> None:
    with store.transaction():
        _cluster_history(store)
        _memberships_follow_history(store)


def _cluster_history(store: TableStore) -> None:
    """Cluster memberships used to live in ``cluster_history``; they are recorded in
    ``membership_history`` (and ``memberships``) like every segment's now. Moved once, then dropped."""
    if not store.exists("cluster_history"):
        return
    old = store.table("cluster_history")
    history = store.table("membership_history")
    moved = old.select(
        segment=old.segment.cast("string"),
        customer_id=old.customer_id.cast("string"),
        valid_from=old.valid_from.cast("timestamp"),
        valid_to=old.valid_to.cast("timestamp"),
        segment_version=old.version.cast("int64"),
    )
    fresh = moved.anti_join(history, ["segment", "customer_id", "valid_from"])
    if int(fresh.count().to_pyarrow().as_py()):
        store.append("membership_history", fresh.to_pyarrow())
    store.drop("cluster_history")


def _memberships_follow_history(store: TableStore) -> None:
    """``memberships`` is the open intervals of ``membership_history``, once each; an older Segmint could
    leave them apart (duplicates after a dashboard save, stale rows). Rebuilt when the counts differ."""
    m = store.table("memberships")
    h = store.table("membership_history")
    open_ = h.filter(h.valid_to.isnull())
    rows = int(m.count().to_pyarrow().as_py())
    want = int(open_.count().to_pyarrow().as_py())
    if (
        rows == want
        and int(m.select("segment", "customer_id").distinct().count().to_pyarrow().as_py()) == want
    ):
        return
    current = open_.select(
        "segment", "customer_id", since=open_.valid_from, segment_version=open_.segment_version
    ).distinct(on=["segment", "customer_id"], keep="first")
    store.replace("memberships", current.to_pyarrow())
