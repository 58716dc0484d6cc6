"""Overlap between segments: for every ordered pair, how many customers are in both, and that as a
share of the row segment (so the diagonal is 1 and a row reads "of A's members, x% are also in B")."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

__all__ = ["overlap_matrix"]


def overlap_matrix(members: ir.Table, segments: list[str]) -> ir.Table:
    """``segment_a, segment_b, both, share_of_a, jaccard`` over ``members`` (``segment, customer_id``)."""
    m = members.filter(members.segment.isin(segments)).select("segment", "customer_id").distinct()
    sizes = m.group_by("segment").aggregate(size=m.count())
    a = m.rename(segment_a="segment")
    b = m.rename(segment_b="segment")
    pairs = a.inner_join(b, "customer_id")
    both = pairs.group_by("segment_a", "segment_b").aggregate(both=pairs.count())
    grid = sizes.rename(segment_a="segment", size_a="size").cross_join(
        sizes.rename(segment_b="segment", size_b="size")
    )
    j = grid.left_join(both, ["segment_a", "segment_b"])
    n_both = j.both.fill_null(0)
    union = j.size_a + j.size_b - n_both
    out = j.select(
        segment_a=j.segment_a,
        segment_b=j.segment_b,
        both=n_both,
        share_of_a=ibis.ifelse(j.size_a > 0, n_both.cast("float64") / j.size_a, ibis.null("float64")),
        jaccard=ibis.ifelse(union > 0, n_both.cast("float64") / union, ibis.null("float64")),
    )
    return out.order_by("segment_a", "segment_b")
