"""The synthetic shop, one block of customers at a time.

A shop is cut into fixed-size customer blocks. Each block draws from its own random stream derived from
(seed, block number), so blocks can be generated in any order or in parallel, memory stays bounded, and
the same seed always gives byte-identical data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pyarrow as pa

from segmint.core.schema import TABLES
from segmint.core.synth import arrow
from segmint.core.synth.behaviour import make_behaviour
from segmint.core.synth.calendar import Calendar, Curve
from segmint.core.synth.catalog import Catalog, build_catalog
from segmint.core.synth.people import make_people
from segmint.core.synth.personas import PERSONAS
from segmint.core.synth.purchases import make_orders

__all__ = ["BLOCK_SIZE", "BLOCK_TABLES", "DEFAULT_END", "DEFAULT_START", "Shop", "arrow_schema"]

BLOCK_SIZE = 25_000
DEFAULT_START = datetime(2024, 1, 1)
DEFAULT_END = datetime(2025, 12, 31, 23, 59, 59)
CATALOG_STREAM = 2**31 - 1
# Tables produced per block, in the order they are written.
BLOCK_TABLES = ("customers", "orders", "order_lines", "events", "identities", "personas")


def arrow_schema(name: str) -> pa.Schema:
    """The Arrow schema of a canonical table, exactly as core/schema.py declares it."""
    return TABLES[name].schema.to_pyarrow()


@dataclass
class Shop:
    """Generation settings plus the shared, seed-determined parts (calendar, curves, catalog)."""

    customers: int
    seed: int = 0
    start: datetime = DEFAULT_START
    end: datetime = DEFAULT_END
    block_size: int = BLOCK_SIZE
    calendar: Calendar = field(init=False)
    curves: list[Curve] = field(init=False)
    catalog: Catalog = field(init=False)

    def __post_init__(self) -> None:
        if self.customers < 1:
            raise ValueError("a shop needs at least one customer")
        if self.end <= self.start:
            raise ValueError("the end of the generated period must be after its start")
        self.calendar = Calendar(self.start, self.end)
        self.curves = [self.calendar.retail_curve(p.gift_boost) for p in PERSONAS]
        self.catalog = build_catalog(self._rng(CATALOG_STREAM), self.calendar)

    @property
    def blocks(self) -> int:
        return math.ceil(self.customers / self.block_size)

    def _rng(self, stream: int) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(stream,)))

    def products(self) -> pa.Table:
        return self.catalog.table.cast(arrow_schema("products"))

    def block(self, number: int) -> dict[str, pa.Table]:
        """Every table's rows for customer block ``number`` (0-based), in canonical schemas."""
        if not 0 <= number < self.blocks:
            raise IndexError(f"block {number} outside 0..{self.blocks - 1}")
        rng = self._rng(number)
        first = number * self.block_size + 1
        size = min(self.block_size, self.customers - number * self.block_size)
        cal, curves, catalog = self.calendar, self.curves, self.catalog
        people = make_people(rng, cal, first, size, curves)
        orders = make_orders(rng, cal, people, catalog, curves, number)
        behaviour = make_behaviour(rng, cal, people, orders, catalog, curves, number)
        customers = _apply_unsubscribes(people.table, behaviour.unsubscribed_at)
        tables = {
            "customers": customers,
            "orders": orders.table,
            "order_lines": orders.lines,
            "events": behaviour.events,
            "identities": behaviour.identities,
            "personas": people.personas,
        }
        return {name: t.cast(arrow_schema(name)) for name, t in tables.items()}


def _apply_unsubscribes(customers: pa.Table, unsubscribed_at: np.ndarray) -> pa.Table:
    """Customers who unsubscribed are no longer opted in to email; the consent time is the change."""
    gone = ~np.isnan(unsubscribed_at)
    if not gone.any():
        return customers
    opt_in = customers["email_opt_in"].to_numpy(zero_copy_only=False)
    at = customers["email_opt_in_at"].cast(pa.int64()).to_numpy(zero_copy_only=False)
    at_s = np.where(gone, unsubscribed_at, np.nan_to_num(at.astype(np.float64) / 1e6))
    has_at = gone | ~customers["email_opt_in_at"].is_null().to_numpy(zero_copy_only=False)
    updated = customers["updated_at"].cast(pa.int64()).to_numpy(zero_copy_only=False) / 1e6
    columns = {
        "email_opt_in": pa.array(opt_in & ~gone),
        "email_opt_in_at": arrow.timestamps(np.where(has_at, at_s, 0.0), has_at),
        "updated_at": arrow.timestamps(np.where(gone, np.maximum(updated, unsubscribed_at), updated)),
    }
    for name, column in columns.items():
        customers = customers.set_column(customers.schema.get_field_index(name), name, column)
    return customers
