"""Synthetic trait tables with known groups, for testing the clustering core without the generator.

Six persona-like groups with long-tailed, zero-inflated traits similar to what the trait catalog gives
(counts, money, shares, days, a device), so the preprocessing and k search meet realistic shapes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

NUMERIC = [
    "recency_days",
    "orders_count",
    "total_spent",
    "aov",
    "discount_share",
    "sessions_30d",
    "product_views_30d",
    "email_open_rate_90d",
    "seasonal_share",
    "tenure_days",
    "mobile_share",
]

# persona: (recency, orders, aov, discount, sessions, views, open rate, seasonal, tenure, mobile, device)
GROUPS = {
    "loyal": (15, 12, 120, 0.05, 8, 40, 0.6, 0.15, 900, 0.3, "desktop"),
    "bargain": (40, 6, 35, 0.7, 5, 30, 0.4, 0.2, 600, 0.5, "mobile"),
    "window": (None, 0, None, 0.0, 10, 80, 0.2, 0.0, 300, 0.8, "mobile"),
    "seasonal": (200, 3, 80, 0.1, 1, 5, 0.3, 0.9, 1000, 0.4, "desktop"),
    "new": (10, 1, 60, 0.1, 3, 15, 0.5, 0.1, 20, 0.6, "mobile"),
    "churned": (500, 2, 50, 0.2, 0, 0, 0.02, 0.2, 1200, 0.3, "tablet"),
}


def persona_frame(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    """``n`` customers spread evenly over the six groups, with a ``persona`` column (the truth)."""
    rng = np.random.default_rng(seed)
    names = list(GROUPS)
    persona = np.array(names)[np.arange(n) % len(names)]
    rng.shuffle(persona)
    rows = {c: np.empty(n) for c in NUMERIC}
    device = np.empty(n, dtype=object)
    for name, (rec, orders, aov, disc, sess, views, opens, seas, tenure, mobile, dev) in GROUPS.items():
        m = persona == name
        size = int(m.sum())
        count = rng.poisson(orders, size) if orders else np.zeros(size)
        if orders:
            count = np.maximum(count, 1)
        rows["orders_count"][m] = count
        order_value = aov * rng.lognormal(0, 0.35, size) if aov else np.full(size, np.nan)
        rows["aov"][m] = np.where(count > 0, order_value, np.nan)
        rows["total_spent"][m] = np.where(count > 0, order_value * count, 0.0)
        rows["recency_days"][m] = rec * rng.lognormal(0, 0.4, size) if rec else np.nan
        rows["discount_share"][m] = np.clip(rng.normal(disc, 0.08, size), 0, 1) * (count > 0)
        rows["sessions_30d"][m] = rng.poisson(sess, size)
        rows["product_views_30d"][m] = rng.poisson(views, size)
        rows["email_open_rate_90d"][m] = np.clip(rng.normal(opens, 0.1, size), 0, 1)
        rows["seasonal_share"][m] = np.clip(rng.normal(seas, 0.08, size), 0, 1) * (count > 0)
        rows["tenure_days"][m] = tenure * rng.lognormal(0, 0.3, size)
        rows["mobile_share"][m] = np.clip(rng.normal(mobile, 0.1, size), 0, 1)
        device[m] = np.where(rng.random(size) < 0.85, dev, rng.choice(["desktop", "mobile", "tablet"], size))
    frame = pd.DataFrame(rows)
    frame.insert(0, "customer_id", [f"c{i:06d}" for i in range(n)])
    frame["preferred_device"] = device
    frame["persona"] = persona
    return frame
