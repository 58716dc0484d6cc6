"""Generated names: readable, ordered as people speak, unique, and carried over when asked."""

from __future__ import annotations

from segmint.core.models.clusters.naming import describe, name_clusters
from segmint.core.models.clusters.profiles import ClusterProfile, TraitEffect


def _profile(cluster: int, *effects: tuple[str, str | None, float], orders: float = 5.0) -> ClusterProfile:
    listed = [TraitEffect(t, level, 1.0, 0.5, e) for t, level, e in effects]
    listed.append(TraitEffect("orders_count", None, orders, 3.0, 0.0))
    listed.sort(key=lambda e: -abs(e.effect))
    return ClusterProfile(cluster, 100, 0.1, listed)


def test_name_from_the_strongest_traits_in_speaking_order():
    p = _profile(1, ("mobile_share", None, 1.4), ("total_spent", None, 1.1), ("orders_count", None, 1.8))
    assert name_clusters([p]) == {1: "Frequent high-spend mobile shoppers"}


def test_browsers_and_generic_words():
    window = _profile(2, ("product_views_30d", None, 2.0), ("total_spent", None, -1.5), orders=0.0)
    odd = _profile(3, ("returns_ratio", None, 0.9))
    names = name_clusters([window, odd])
    assert names[2] == "Browsing-heavy browsers"  # "low-spend" is implied by "browsers"
    assert names[3] == "High returns ratio shoppers"


def test_names_are_unique_even_when_the_top_traits_agree():
    a = _profile(1, ("recency_days", None, 1.5), ("email_open_rate_90d", None, -0.8))
    b = _profile(2, ("recency_days", None, 1.4), ("mobile_share", None, 0.7))
    c = _profile(3, ("recency_days", None, 1.3))
    names = name_clusters([a, b, c], max_words=1)
    assert len(set(names.values())) == 3
    assert names[1] == "Lapsed email-ignoring shoppers"
    assert names[2] == "Lapsed mobile shoppers"
    assert names[3] == "Lapsed shoppers"


def test_kept_names_win_and_new_names_avoid_them():
    a = _profile(1, ("recency_days", None, 1.5))
    b = _profile(2, ("recency_days", None, 1.2))
    names = name_clusters([a, b], keep={1: "Lapsed shoppers"})
    assert names[1] == "Lapsed shoppers"
    assert names[2] != "Lapsed shoppers" and names[2].startswith("Lapsed shoppers")


def test_description_has_cluster_and_base_values():
    p = ClusterProfile(
        4,
        1234,
        0.123,
        [
            TraitEffect("discount_share", None, 0.7, 0.2, 2.1),
            TraitEffect("aov", None, 37.0, 72.8, -1.1),
            TraitEffect("preferred_device", "mobile", 0.89, 0.48, 0.8),
            TraitEffect("tenure_days", None, 5, 6, 0.1),
        ],
    )
    assert describe(p) == (
        "12% of customers (1,234); discount share 70% (base 20%); aov 37 (base 72.8); "
        "preferred device mobile: 89% (base 48%)."
    )
