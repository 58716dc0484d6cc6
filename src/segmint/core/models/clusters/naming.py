"""Short names and one-line descriptions for clusters, generated from what sets them apart.

A marketer reads "Frequent high-spend mobile shoppers", not "cluster 3". The name takes the (up to
three) strongest distinguishing traits that have words, orders them the way people speak (lifecycle,
then frequency, value, habits, channel), and ends with a noun: "browsers" when the cluster barely buys,
"shoppers" otherwise. Names are made unique across a model: a clash is resolved by adding the next
distinguishing trait, and as a last resort the cluster number.

Traits without words of their own get a generic phrase from their name ("high refund rate").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from segmint.core.models.clusters.profiles import ClusterProfile, TraitEffect

__all__ = ["VOCABULARY", "describe", "name_clusters", "phrase"]

# trait -> (word when high, word when low, order in the name). Lower order comes first.
VOCABULARY: dict[str, tuple[str, str, int]] = {
    "tenure_days": ("long-standing", "new", 0),
    "recency_days": ("lapsed", "recent", 1),
    "days_since_last_seen": ("dormant", "recently active", 1),
    "orders_count": ("frequent", "rare-buying", 2),
    "orders_90d": ("frequent", "rare-buying", 2),
    "orders_365d": ("frequent", "rare-buying", 2),
    "total_spent": ("high-spend", "low-spend", 3),
    "clv_historical": ("high-value", "low-value", 3),
    "spent_365d": ("high-spend", "low-spend", 3),
    "aov": ("big-basket", "small-basket", 4),
    "discount_share": ("discount-driven", "full-price", 5),
    "seasonal_share": ("seasonal", "year-round", 5),
    "refund_rate": ("refund-prone", "", 5),
    "sessions_30d": ("highly active", "inactive", 6),
    "sessions_90d": ("highly active", "inactive", 6),
    "product_views_30d": ("browsing-heavy", "", 6),
    "product_views_90d": ("browsing-heavy", "", 6),
    "cart_adds_30d": ("cart-filling", "", 6),
    "cart_adds_90d": ("cart-filling", "", 6),
    "email_open_rate_90d": ("email-engaged", "email-ignoring", 7),
    "mobile_share": ("mobile", "desktop", 8),
}
CATEGORY_ORDER = 8
# Places in a name of the words about buying frequency, spend and basket size.
BUYING_ORDERS = (2, 3, 4)
# Under this mean order count a cluster is called "browsers" rather than "shoppers".
BROWSER_ORDERS = 0.5


def phrase(effect: TraitEffect) -> tuple[str, int] | None:
    """The words for one distinguishing trait (and their place in a name), or None if it has none."""
    if effect.level is not None:
        if effect.effect <= 0:
            return None
        return f"{effect.level.replace('_', ' ')}", CATEGORY_ORDER
    high, low, order = VOCABULARY.get(effect.trait, ("", "", 9))
    word = high if effect.effect > 0 else low
    if word:
        return word, order
    if effect.trait in VOCABULARY:
        return None
    label = effect.trait.replace("_", " ")
    return (f"high {label}" if effect.effect > 0 else f"low {label}"), 9


def _noun(profile: ClusterProfile) -> str:
    for e in profile.effects:
        if e.trait == "orders_count" and e.level is None and e.value is not None:
            return "browsers" if e.value < BROWSER_ORDERS else "shoppers"
    return "customers"


def _words(profile: ClusterProfile, threshold: float, noun: str) -> list[tuple[str, int]]:
    """Candidate words, strongest effect first, without repeats. "Browsers" need no words about how
    often or how much they buy: the noun says it."""
    seen: set[str] = set()
    out: list[tuple[str, int]] = []
    for effect in profile.effects:
        if abs(effect.effect) < threshold:
            break
        found = phrase(effect)
        if found is None or found[0] in seen or (noun == "browsers" and found[1] in BUYING_ORDERS):
            continue
        seen.add(found[0])
        out.append(found)
    return out


def _compose(words: list[tuple[str, int]], noun: str) -> str:
    ordered = [w for w, _ in sorted(words, key=lambda item: item[1])]
    if not ordered and noun != "browsers":
        ordered = ["typical"]
    text = " ".join([*ordered, noun])
    return text[0].upper() + text[1:]


def name_clusters(
    profiles: Iterable[ClusterProfile],
    keep: Mapping[int, str] | None = None,
    *,
    threshold: float = 0.5,
    max_words: int = 3,
) -> dict[int, str]:
    """A unique name per cluster number. ``keep`` holds names carried over from a previous fit (matched
    clusters keep their name); the other clusters get new names that differ from those and each other."""
    keep = dict(keep or {})
    profiles = list(profiles)
    taken = {name.lower() for name in keep.values()}
    names: dict[int, str] = {}
    pending = []
    for p in profiles:
        if p.cluster in keep:
            names[p.cluster] = keep[p.cluster]
        else:
            pending.append(p)
    candidates = {p.cluster: _words(p, threshold, _noun(p)) for p in pending}
    used = {p.cluster: min(max_words, len(candidates[p.cluster])) for p in pending}
    for _ in range(10):
        proposed = {p.cluster: _compose(candidates[p.cluster][: used[p.cluster]], _noun(p)) for p in pending}
        clashes = _clashes(proposed, taken)
        if not clashes:
            break
        grew = False
        for cluster in clashes:
            if used[cluster] < len(candidates[cluster]):
                used[cluster] += 1
                grew = True
        if not grew:
            break
    for p in pending:
        name = _compose(candidates[p.cluster][: used[p.cluster]], _noun(p))
        if (
            name.lower() in taken
            or sum(
                _compose(candidates[q.cluster][: used[q.cluster]], _noun(q)).lower() == name.lower()
                for q in pending
            )
            > 1
        ):
            name = f"{name} (group {p.cluster})"
        taken.add(name.lower())
        names[p.cluster] = name
    return names


def _clashes(proposed: Mapping[int, str], taken: set[str]) -> list[int]:
    counts: dict[str, int] = {}
    for name in proposed.values():
        counts[name.lower()] = counts.get(name.lower(), 0) + 1
    return [c for c, name in proposed.items() if counts[name.lower()] > 1 or name.lower() in taken]


def describe(profile: ClusterProfile, *, threshold: float = 0.5, limit: int = 4) -> str:
    """One sentence: size, then the distinguishing traits with cluster and base values."""
    parts = []
    for e in profile.distinguishing(threshold, limit):
        if e.level is not None:
            parts.append(f"{e.trait.replace('_', ' ')} {e.level}: {e.value:.0%} (base {e.base:.0%})")
        else:
            parts.append(
                f"{e.trait.replace('_', ' ')} {_fmt(e.trait, e.value)} (base {_fmt(e.trait, e.base)})"
            )
    head = f"{profile.share:.0%} of customers ({profile.size:,})"
    if not parts:
        return head + "; close to the average customer on every trait."
    return head + "; " + "; ".join(parts) + "."


def _fmt(trait: str, value: float | None) -> str:
    if value is None:
        return "n/a"
    if trait.endswith(("_share", "_rate")) or "_rate_" in trait:
        return f"{value:.0%}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"
