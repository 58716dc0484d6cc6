"""Ground-truth personas: the latent type behind each synthetic customer.

Each persona is a set of parameters of the generating process, chosen so that personas differ clearly in
value and behaviour (recency, frequency, spend, basket size, discount use, browsing, email engagement,
gift-season share, tenure) while individual customers still vary a lot inside a persona (gamma-distributed
rates, beta-distributed propensities, exponential lifetimes), as real customer bases do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["PERSONAS", "Persona", "persona_table"]


@dataclass(frozen=True)
class Persona:
    name: str
    share: float
    description: str
    # Sign-up: fraction of the period [lo, hi] (or the last ``recent_days`` days when set).
    signup: tuple[float, float] = (0.0, 0.8)
    recent_days: float = 0.0
    # Buy-till-you-die: Poisson purchase rate per 30 days ~ Gamma(shape, mean), exponential lifetime.
    buys_at_signup: bool = True
    rate_mean: float = 0.5
    rate_shape: float = 3.0
    lifetime_days: float = 1500.0
    churn_before_end_days: float = 0.0  # lifetimes forced to end at least this long before the end
    gift_boost: float = 0.0  # > 0: purchases and visits concentrate in the gift season
    # 0: repeat orders at Poisson times (bursty); 1: evenly spread over the customer's active time
    # (a steady cadence, e.g. a monthly shop), jittered by (1 - regularity) of a gap.
    regularity: float = 0.0
    # Baskets.
    extra_lines: float = 0.5
    extra_quantity: float = 0.15
    price_taste: float = 0.0  # exponent on price in product choice: > 0 premium, < 0 cheap
    gift_taste: float = 1.0  # weight of gift-tagged products in product choice
    discount_p: float = 0.2
    refund_p: float = 0.04
    cancel_p: float = 0.02
    # Channels: web, app, store shares of orders.
    channels: tuple[float, float, float] = (0.5, 0.2, 0.3)
    # Browsing without buying: sessions per 30 days, extra views per session, cart and checkout odds
    # (most browsing sessions that matter put something in the cart and leave it there).
    browse_rate: float = 0.3
    extra_views: float = 1.0
    cart_p: float = 0.6
    checkout_p: float = 0.18
    # Email: opt-in odds, open rate ~ Beta(mean, strength), click given open, unsubscribe per send.
    email_opt_in_p: float = 0.6
    open_mean: float = 0.3
    click_p: float = 0.2
    unsub_p: float = 0.004
    # Demographics.
    age_mean: float = 42.0
    income: tuple[float, ...] = (0.2, 0.25, 0.3, 0.15, 0.1)
    mobile_p: float = 0.6


PERSONAS: tuple[Persona, ...] = (
    Persona(
        "loyal_high_spender",
        0.13,
        "Long-standing customers who shop on a steady monthly cadence, spend a lot per order, visit often, "
        "rarely need a discount and read the newsletter.",
        signup=(0.0, 0.35),
        rate_mean=1.3,
        rate_shape=8.0,
        lifetime_days=12000.0,
        regularity=0.8,
        extra_lines=0.8,
        extra_quantity=0.3,
        price_taste=0.9,
        discount_p=0.06,
        refund_p=0.03,
        cancel_p=0.01,
        channels=(0.13, 0.1, 0.77),
        browse_rate=0.55,
        extra_views=0.5,
        cart_p=0.8,
        email_opt_in_p=0.92,
        open_mean=0.7,
        click_p=0.3,
        unsub_p=0.001,
        age_mean=46.0,
        income=(0.03, 0.07, 0.25, 0.35, 0.3),
        mobile_p=0.55,
    ),
    Persona(
        "bargain_hunter",
        0.2,
        "Regular buyers of cheap items who almost always use a discount code, click on promotions and leave "
        "carts waiting for a better price.",
        signup=(0.0, 0.6),
        rate_mean=0.95,
        rate_shape=6.0,
        lifetime_days=8000.0,
        regularity=0.2,
        extra_lines=0.3,
        extra_quantity=0.05,
        price_taste=-1.5,
        discount_p=0.9,
        refund_p=0.05,
        cancel_p=0.03,
        channels=(0.16, 0.1, 0.74),
        browse_rate=0.45,
        extra_views=0.4,
        cart_p=0.9,
        email_opt_in_p=0.85,
        open_mean=0.55,
        click_p=0.4,
        unsub_p=0.002,
        age_mean=37.0,
        income=(0.3, 0.35, 0.25, 0.07, 0.03),
        mobile_p=0.7,
    ),
    Persona(
        "window_shopper",
        0.2,
        "Frequent visitors who view many products and fill carts but rarely, if ever, buy.",
        signup=(0.3, 0.9),
        buys_at_signup=False,
        rate_mean=0.02,
        rate_shape=1.0,
        lifetime_days=3000.0,
        extra_lines=0.2,
        price_taste=0.0,
        discount_p=0.3,
        channels=(0.5, 0.3, 0.2),
        browse_rate=0.5,
        extra_views=3.0,
        cart_p=0.8,
        email_opt_in_p=0.5,
        open_mean=0.22,
        click_p=0.15,
        unsub_p=0.006,
        age_mean=31.0,
        income=(0.3, 0.3, 0.25, 0.1, 0.05),
        mobile_p=0.8,
    ),
    Persona(
        "seasonal_gift_buyer",
        0.15,
        "Customers who shop almost only in the gift season (mid-November to Christmas), a few large baskets "
        "of gift items a year apart, and hardly visit or read emails the rest of the year.",
        signup=(0.0, 0.5),
        rate_mean=0.25,
        rate_shape=6.0,
        lifetime_days=8000.0,
        gift_boost=40.0,
        extra_lines=0.9,
        extra_quantity=0.7,
        price_taste=0.6,
        gift_taste=10.0,
        discount_p=0.3,
        refund_p=0.08,
        cancel_p=0.02,
        channels=(0.22, 0.03, 0.75),
        browse_rate=0.12,
        extra_views=0.8,
        cart_p=0.85,
        email_opt_in_p=0.35,
        open_mean=0.1,
        click_p=0.1,
        unsub_p=0.01,
        age_mean=50.0,
        income=(0.1, 0.2, 0.35, 0.2, 0.15),
        mobile_p=0.45,
    ),
    Persona(
        "new_customer",
        0.12,
        "Customers acquired in the last five months: a small trial order (usually with the welcome code), "
        "many exploring visits, curious about the newsletter.",
        recent_days=150.0,
        rate_mean=0.8,
        rate_shape=3.0,
        lifetime_days=1500.0,
        extra_lines=0.3,
        price_taste=-0.4,
        discount_p=0.6,
        channels=(0.27, 0.13, 0.6),
        browse_rate=0.9,
        extra_views=0.5,
        cart_p=0.8,
        email_opt_in_p=0.75,
        open_mean=0.5,
        click_p=0.25,
        unsub_p=0.004,
        age_mean=34.0,
        mobile_p=0.7,
    ),
    Persona(
        "churned",
        0.2,
        "Customers who bought for a few months early on and then stopped: no orders or visits for a long "
        "time, emails left unread.",
        signup=(0.0, 0.4),
        rate_mean=1.0,
        rate_shape=3.0,
        lifetime_days=120.0,
        churn_before_end_days=240.0,
        extra_lines=0.5,
        price_taste=0.0,
        discount_p=0.25,
        refund_p=0.1,
        cancel_p=0.04,
        channels=(0.18, 0.09, 0.73),
        browse_rate=0.5,
        extra_views=0.4,
        cart_p=0.85,
        email_opt_in_p=0.6,
        open_mean=0.2,
        click_p=0.15,
        unsub_p=0.02,
        age_mean=44.0,
        mobile_p=0.55,
    ),
)


def persona_table(field: str) -> np.ndarray:
    """One persona parameter as an array indexed by persona number (for vectorised lookups)."""
    return np.array([getattr(p, field) for p in PERSONAS])
