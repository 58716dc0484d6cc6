"""The product catalog, and fast vectorised product choice for baskets and product views.

The catalog is small (a few thousand products) and generated once per seed; choosing products for
millions of lines is a single ``searchsorted`` over per-taste cumulative weights laid end to end.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pyarrow as pa

from segmint.core.synth import arrow
from segmint.core.synth.calendar import Calendar
from segmint.core.synth.personas import PERSONAS

__all__ = ["CATEGORIES", "Catalog", "build_catalog"]

# category -> (subcategory, typical price); slugs are lower-case so rules read `category = 'outdoor'`.
CATEGORIES: dict[str, tuple[tuple[str, float], ...]] = {
    "apparel": (
        ("t_shirts", 25),
        ("shirts", 45),
        ("dresses", 70),
        ("jackets", 140),
        ("jeans", 75),
        ("sweaters", 65),
    ),
    "shoes": (("sneakers", 95), ("running_shoes", 120), ("boots", 150), ("sandals", 45)),
    "beauty": (("skincare", 30), ("makeup", 22), ("fragrance", 70), ("haircare", 18)),
    "home": (("bedding", 80), ("kitchen", 40), ("decor", 35), ("lighting", 60)),
    "electronics": (("headphones", 120), ("smart_home", 90), ("phone_accessories", 25), ("wearables", 200)),
    "outdoor": (("camping", 110), ("hiking", 85), ("cycling", 150), ("garden", 40)),
    "sports": (("fitness", 50), ("yoga", 35), ("team_sports", 40), ("swimming", 30)),
    "kids": (("toys", 30), ("baby_care", 25), ("kids_clothing", 28), ("games", 35)),
    "books": (("fiction", 15), ("non_fiction", 20), ("cookbooks", 28), ("children_books", 12)),
    "grocery": (("coffee_tea", 14), ("snacks", 8), ("organic_food", 12), ("wine", 22)),
}
# How likely a product of the category is eco-friendly, and how popular the category is.
ECO_SHARE = {"outdoor": 0.35, "grocery": 0.4, "home": 0.25, "apparel": 0.2, "beauty": 0.25, "kids": 0.15}
CATEGORY_POPULARITY = {
    "apparel": 1.6, "shoes": 1.0, "beauty": 1.2, "home": 1.0, "electronics": 0.9,
    "outdoor": 0.7, "sports": 0.7, "kids": 0.8, "books": 0.6, "grocery": 1.1,
}  # fmt: skip
GIFT_SUBCATEGORIES = {"fragrance", "toys", "games", "headphones", "wearables", "wine", "decor", "cookbooks"}
BRANDS = (
    "Northwind", "Alder & Co", "Bluepeak", "Cedar Lane", "Driftwood", "Ember", "Fjordline", "Golden Hour",
    "Harbor", "Ironbark", "Juniper", "Kestrel", "Lumen", "Maple Row", "Nimbus", "Oakridge", "Pebble",
    "Quartz", "Riverstone", "Saltmarsh", "Tamarind", "Umbra", "Vela", "Willow", "Yarrow", "Zephyr",
    "Brightside", "Copperfield", "Dunmore", "Evergreen", "Foxglove", "Greystone", "Highline", "Islay",
)  # fmt: skip
ADJECTIVES = (
    "Classic", "Essential", "Everyday", "Premium", "Lightweight", "Organic", "Urban", "Heritage", "Pro",
    "Soft", "Signature", "Compact", "Deluxe", "Recycled", "Modern", "Vintage",
)  # fmt: skip


@dataclass
class Catalog:
    """Products sorted by category, plus what baskets need to choose among them quickly."""

    table: pa.Table
    category: np.ndarray  # category number per product
    price: np.ndarray
    eco: np.ndarray
    ids: pa.Array
    category_names: pa.Array
    category_weights: np.ndarray  # overall popularity per category (sums to 1)
    # Concatenated cumulative weights: row r = persona * 2 + eco_taste, ``n_cat`` per row.
    flat: np.ndarray

    @property
    def size(self) -> int:
        return len(self.price)

    def choose(self, rng: np.random.Generator, taste: np.ndarray, category: np.ndarray) -> np.ndarray:
        """Product numbers for items given their taste row and category: one searchsorted call."""
        n_cat = len(self.category_weights)
        key = (taste * n_cat + category).astype(np.float64) + rng.random(len(taste)) * (1 - 1e-9)
        pos = np.searchsorted(self.flat, key, side="right")
        return (pos - taste * self.size).astype(np.int64)


def build_catalog(rng: np.random.Generator, calendar: Calendar, size: int = 2000) -> Catalog:
    names = list(CATEGORIES)
    sub_rows = [(c, s, p) for c in names for s, p in CATEGORIES[c]]
    sub_weight = np.array([CATEGORY_POPULARITY[c] / len(CATEGORIES[c]) for c, _, _ in sub_rows])
    sub = np.sort(rng.choice(len(sub_rows), size=size, p=sub_weight / sub_weight.sum()))
    cat_of_sub = np.array([names.index(c) for c, _, _ in sub_rows])
    base = np.array([p for _, _, p in sub_rows], dtype=np.float64)
    category = cat_of_sub[sub]
    price = np.round(base[sub] * rng.lognormal(0.0, 0.45, size), 0) - 0.01
    price = np.maximum(price, 2.99)
    eco_p = np.array([ECO_SHARE.get(c, 0.08) for c, _, _ in sub_rows])[sub]
    eco = rng.random(size) < eco_p
    popularity = rng.lognormal(0.0, 1.1, size)
    brand = rng.integers(0, len(BRANDS), size)
    adjective = rng.integers(0, len(ADJECTIVES), size)
    created = calendar.start - timedelta(days=1)
    age_days = rng.integers(0, 3 * 365, size)

    bestseller = popularity >= np.quantile(popularity, 0.95)
    premium = price >= 2 * base[sub]
    gift = np.array([s in GIFT_SUBCATEGORIES for _, s, _ in sub_rows])[sub]
    organic = np.array([s == "organic_food" for _, s, _ in sub_rows])[sub] | (eco & (adjective == 5))
    tags = np.column_stack([eco, organic, bestseller, premium, gift])

    numbers = np.arange(1, size + 1)
    sub_names = [s for _, s, _ in sub_rows]
    product_names = [
        f"{BRANDS[brand[i]]} {ADJECTIVES[adjective[i]]} {sub_names[sub[i]].replace('_', ' ').title()}"
        for i in range(size)
    ]
    table = pa.table(
        {
            "product_id": arrow.fixed_ids("p", numbers, 5),
            "sku": arrow.fixed_ids("SKU-", numbers * 7 + 100000, 7),
            "name": pa.array(product_names, type=pa.string()),
            "category": arrow.labels(names, category),
            "subcategory": arrow.labels(sub_names, sub),
            "brand": arrow.labels(BRANDS, brand),
            "price": arrow.money(price),
            "tags": arrow.list_column(
                tags, ["eco_friendly", "organic", "bestseller", "premium", "gift_idea"]
            ),
            "created_at": arrow.timestamps(
                np.full(size, (created - calendar.start).total_seconds() + calendar.start_s)
                - age_days * 86400.0
            ),
        }
    )
    cat_weight = np.array([CATEGORY_POPULARITY[c] for c in names])
    flat = _taste_table(category, price, eco, gift, popularity, len(names))
    return Catalog(
        table=table,
        category=category,
        price=price,
        eco=eco,
        ids=table["product_id"].combine_chunks(),
        category_names=pa.array(names, type=pa.string()),
        category_weights=cat_weight / cat_weight.sum(),
        flat=flat,
    )


def _taste_table(
    category: np.ndarray,
    price: np.ndarray,
    eco: np.ndarray,
    gift: np.ndarray,
    popularity: np.ndarray,
    n_cat: int,
):
    """Per taste row (persona x eco), each category's products span [row*n_cat + c, row*n_cat + c + 1)
    by cumulative weight, so one searchsorted picks a product for any (taste, category) pair."""
    rows = []
    for r in range(len(PERSONAS) * 2):
        persona, eco_taste = divmod(r, 2)
        p = PERSONAS[persona]
        w = popularity * (price / 40.0) ** p.price_taste * np.where(gift, p.gift_taste, 1.0)
        if eco_taste:
            w = w * np.where(eco, 6.0, 1.0)
        cum = np.empty_like(w)
        for c in range(n_cat):
            sel = category == c
            part = np.cumsum(w[sel])
            cum[sel] = part / part[-1]
        cum = np.minimum(cum, 1.0)
        rows.append(r * n_cat + category + cum)
    return np.concatenate(rows)
