"""Traits: per-customer facts as of a time, defined once as Ibis expressions.

``default_catalog()`` lists every built-in trait (name, type, family, unit, description);
``trait_table(tables, as_of)`` builds the wide table of all of them for every customer.
"""

from segmint.core.traits.catalog import FAMILIES, Catalog, TraitGroup, TraitSpec
from segmint.core.traits.compute import default_catalog, trait_table
from segmint.core.traits.rfm import RFM_GRID, RFM_GROUPS
from segmint.core.traits.settings import DEFAULT_SETTINGS, TraitSettingsError, resolve_settings

__all__ = [
    "DEFAULT_SETTINGS",
    "FAMILIES",
    "RFM_GRID",
    "RFM_GROUPS",
    "Catalog",
    "TraitGroup",
    "TraitSettingsError",
    "TraitSpec",
    "default_catalog",
    "resolve_settings",
    "trait_table",
]
