"""The trait catalog: what each trait is called, its type, family, unit and meaning.

A trait's value is computed by a *trait group*: a function of the canonical tables and ``as_of`` that
returns one Ibis table keyed by ``customer_id`` with several trait columns. Grouping keeps the engine
work to one aggregation per source table instead of one per trait. The catalog is the contract that the
rule language type-checks against and that ``segmint traits list`` prints.

Two kinds of group (see :func:`segmint.core.traits.compute.trait_table`):

* a *source* group reads canonical tables and returns ``customer_id`` plus its trait columns; all
  source groups are left-joined once onto the customer universe;
* a *derived* group (``derived=True``) receives the joined wide table under the key ``"traits"`` and
  returns it with its columns added (a projection, no join): scores that rank all customers, or traits
  that combine two sources (consent from the profile and from unsubscribe events).

Either kind may also return helper columns whose names start with ``_``; later derived groups can read
them and they are dropped from the final table. A group whose builder takes a third ``settings``
argument sets ``needs_settings=True`` (thresholds such as the lifecycle windows come from there).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

__all__ = [
    "FAMILIES",
    "Catalog",
    "TraitGroup",
    "TraitSpec",
]

FAMILIES = (
    "identity",
    "demographic",
    "geographic",
    "psychographic",
    "technographic",
    "behavioral",
    "needs",
    "value",
    "lifecycle",
    "predictive",
    "consent",
)


@dataclass(frozen=True)
class TraitSpec:
    """One trait as users see it."""

    name: str
    dtype: dt.DataType
    family: str
    description: str
    unit: str = ""
    # The value for a customer the trait's source has no rows for: 0 for counts and sums, False for
    # flags such as one_time_buyer; None (missing) for everything else (AOV, recency, preferred device).
    default: object = None

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"trait {self.name!r}: unknown family {self.family!r}; use one of {FAMILIES}")

    @property
    def type_name(self) -> str:
        """A short type name for people: number, integer, text, boolean, timestamp, date, list."""
        d = self.dtype
        if d.is_boolean():
            return "boolean"
        if d.is_integer():
            return "integer"
        if d.is_numeric():
            return "number"
        if d.is_timestamp():
            return "timestamp"
        if d.is_date():
            return "date"
        if d.is_array():
            return "list"
        return "text"


# A group builder receives the bound canonical tables by name (Mapping[str, ibis.Table]) and the as_of
# instant (datetime), plus the resolved trait settings (a dict) when its group sets ``needs_settings``,
# and returns a table with ``customer_id`` plus exactly the columns its specs name. The arity depends
# on that flag, so the type cannot say more than "returns a table".
GroupBuilder = Callable[..., ibis.Table]


@dataclass(frozen=True)
class TraitGroup:
    name: str
    specs: tuple[TraitSpec, ...]
    build: GroupBuilder
    # Groups that read other groups' output (e.g. RFM scores read recency) list them here.
    depends_on: tuple[str, ...] = ()
    # Derived groups get {"traits": wide table} and return it with their columns added.
    derived: bool = False
    # The builder takes a third argument: the resolved trait settings (a dict).
    needs_settings: bool = False
    # The customers the group knows as of a time (``customer_id``, distinct): exactly the rows ``build``
    # gives, without computing its traits. Groups that define the customer universe have it.
    ids: Callable[[Mapping[str, ir.Table], datetime], ir.Table] | None = None


class Catalog:
    """An ordered, name-unique collection of trait specs (and the groups that compute them)."""

    def __init__(self, groups: Iterable[TraitGroup] = (), extra: Iterable[TraitSpec] = ()) -> None:
        self.groups: dict[str, TraitGroup] = {}
        self._specs: dict[str, TraitSpec] = {}
        for group in groups:
            self.add_group(group)
        for spec in extra:
            self.add(spec)

    def add_group(self, group: TraitGroup) -> None:
        if group.name in self.groups:
            raise ValueError(f"trait group {group.name!r} is defined twice")
        for spec in group.specs:
            self.add(spec)
        self.groups[group.name] = group

    def add(self, spec: TraitSpec) -> None:
        if spec.name in self._specs:
            raise ValueError(f"trait {spec.name!r} is defined twice")
        self._specs[spec.name] = spec

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def __getitem__(self, name: str) -> TraitSpec:
        return self._specs[name]

    def __iter__(self):
        return iter(self._specs.values())

    def __len__(self) -> int:
        return len(self._specs)

    def get(self, name: str) -> TraitSpec | None:
        return self._specs.get(name)

    @property
    def names(self) -> list[str]:
        return list(self._specs)

    def by_family(self, family: str) -> list[TraitSpec]:
        return [s for s in self._specs.values() if s.family == family]
