"""Trait settings: the thresholds a shop may tune in ``segmint.toml`` under ``[traits]``.

Defaults follow common e-commerce practice (a 90-day active window, 180 days to lapse). Every value is
validated here so a typo in the settings file gets a clear message instead of a wrong segment.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from segmint.errors import SegmintError

__all__ = ["DEFAULT_SETTINGS", "TraitSettingsError", "resolve_settings"]

DEFAULT_SETTINGS: dict[str, Any] = {
    # lifecycle_stage: new = first order within new_days; active = last order within active_days;
    # at_risk = last order older than active_days but within lapsed_days; lapsed = older than that;
    # reactivated = ordered within active_days after a gap longer than reactivated_gap_days.
    "new_days": 30,
    "active_days": 90,
    "lapsed_days": 180,
    "reactivated_gap_days": 180,
    # abandoned_carts_*: a cart is abandoned when no order completes it within this many minutes.
    "abandon_after_minutes": 60,
    # seasonal_share: the share of orders placed in these months (gift season).
    "seasonal_months": (11, 12),
}


class TraitSettingsError(SegmintError):
    """A ``[traits]`` setting is unknown or out of range."""


def resolve_settings(settings: Mapping[str, Any] | None) -> dict[str, Any]:
    """Defaults overlaid with ``settings``, checked."""
    out = dict(DEFAULT_SETTINGS)
    for key, value in (settings or {}).items():
        if key not in DEFAULT_SETTINGS:
            raise TraitSettingsError(
                f"unknown trait setting {key!r}; known settings: {', '.join(DEFAULT_SETTINGS)}"
            )
        out[key] = value
    for key in ("new_days", "active_days", "lapsed_days", "reactivated_gap_days", "abandon_after_minutes"):
        value = out[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise TraitSettingsError(f"trait setting {key} must be a positive number, not {value!r}")
    if out["lapsed_days"] < out["active_days"]:
        raise TraitSettingsError(
            f"trait setting lapsed_days ({out['lapsed_days']}) must not be shorter than active_days "
            f"({out['active_days']})"
        )
    months = tuple(out["seasonal_months"])
    if not months or any(isinstance(m, bool) or not isinstance(m, int) or not 1 <= m <= 12 for m in months):
        raise TraitSettingsError(f"trait setting seasonal_months must list months 1-12, not {months!r}")
    out["seasonal_months"] = months
    return out
