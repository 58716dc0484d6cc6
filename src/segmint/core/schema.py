"""The canonical data model: every table Segmint stores, as Ibis schemas.

Conventions (see DESIGN.md and docs/semantics.md):

* Timestamps are naive and always UTC. Importers convert every zone to UTC before storing; engines are
  run with their session time zone set to UTC so DuckDB and Spark read the same instants.
* Money is float64 rounded to cents at import (unit prices to 4 decimals). Sums are rounded when shown.
* Event properties that rules use most (product, category, cart, order, value) are promoted to typed
  columns so every engine can filter on them without JSON functions; the rest stay in ``properties``
  (JSON text).
* ``tags`` are arrays of lower-case strings; ``attributes`` is a JSON object as text (survey answers,
  interests, values, lifestyle).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.schema as sch

__all__ = [
    "CANONICAL",
    "DERIVED",
    "TABLES",
    "TableSpec",
    "schema_of",
    "unbound",
]

STR = dt.String(nullable=True)
TS = dt.Timestamp(nullable=True)
F64 = dt.Float64(nullable=True)
I64 = dt.Int64(nullable=True)
BOOL = dt.Boolean(nullable=True)
DATE = dt.Date(nullable=True)
TAGS = dt.Array(dt.string, nullable=True)


@dataclass(frozen=True)
class TableSpec:
    """A stored table: its columns, its key and the column its rows are dated by (if any)."""

    name: str
    columns: dict[str, dt.DataType]
    key: tuple[str, ...]
    required: tuple[str, ...] = ()
    time_column: str | None = None
    description: str = ""
    # Child tables whose rows are replaced together with a parent key (order_lines with orders).
    children: tuple[str, ...] = field(default=())

    @property
    def schema(self) -> sch.Schema:
        return ibis.schema(self.columns)


CUSTOMERS = TableSpec(
    name="customers",
    key=("customer_id",),
    required=("customer_id",),
    time_column="created_at",
    description="One row per known customer: demographics, geography, consent, attributes and PII.",
    columns={
        "customer_id": dt.String(nullable=False),
        "email": STR,
        "phone": STR,
        "first_name": STR,
        "last_name": STR,
        "created_at": TS,
        "birth_date": DATE,
        "gender": STR,
        "income_band": STR,
        "marital_status": STR,
        "education": STR,
        "occupation": STR,
        "country": STR,
        "region": STR,
        "city": STR,
        "postal_code": STR,
        "latitude": F64,
        "longitude": F64,
        "language": STR,
        "email_opt_in": BOOL,
        "email_opt_in_at": TS,
        "sms_opt_in": BOOL,
        "sms_opt_in_at": TS,
        "ads_opt_in": BOOL,
        "ads_opt_in_at": TS,
        "tags": TAGS,
        "attributes": STR,
        "source": STR,
        "updated_at": TS,
    },
)

PRODUCTS = TableSpec(
    name="products",
    key=("product_id",),
    required=("product_id",),
    description="The catalog: category, brand, price and tags (e.g. eco_friendly).",
    columns={
        "product_id": dt.String(nullable=False),
        "sku": STR,
        "name": STR,
        "category": STR,
        "subcategory": STR,
        "brand": STR,
        "price": F64,
        "tags": TAGS,
        "created_at": TS,
    },
)

ORDERS = TableSpec(
    name="orders",
    key=("order_id",),
    required=("order_id", "ordered_at"),
    time_column="ordered_at",
    children=("order_lines",),
    description="One row per order. status is paid, partially_refunded, refunded, cancelled or pending; "
    "customer_id is missing for guest checkouts.",
    columns={
        "order_id": dt.String(nullable=False),
        "customer_id": STR,
        "ordered_at": dt.Timestamp(nullable=False),
        "status": STR,
        "currency": STR,
        "subtotal": F64,
        "discount": F64,
        "discount_code": STR,
        "shipping": F64,
        "tax": F64,
        "total": F64,
        "refunded_amount": F64,
        "items_count": I64,
        "channel": STR,
        "device_type": STR,
        "source": STR,
        "cancelled_at": TS,
    },
)

ORDER_LINES = TableSpec(
    name="order_lines",
    key=("order_id", "line_no"),
    required=("order_id", "line_no"),
    description="Line items of orders.",
    columns={
        "order_id": dt.String(nullable=False),
        "line_no": dt.Int64(nullable=False),
        "product_id": STR,
        "sku": STR,
        "name": STR,
        "quantity": I64,
        "unit_price": F64,
        "discount": F64,
    },
)

EVENTS = TableSpec(
    name="events",
    key=("event_id",),
    required=("event_id", "name", "occurred_at"),
    time_column="occurred_at",
    description="Behaviour: views, carts, checkouts, orders, email engagement, searches. event_id is the "
    "client's messageId, so a retried event is stored once.",
    columns={
        "event_id": dt.String(nullable=False),
        "customer_id": STR,
        "anonymous_id": STR,
        "name": dt.String(nullable=False),
        "occurred_at": dt.Timestamp(nullable=False),
        "received_at": TS,
        "session_id": STR,
        "device_type": STR,
        "os": STR,
        "browser": STR,
        "channel": STR,
        "product_id": STR,
        "category": STR,
        "cart_id": STR,
        "order_id": STR,
        "campaign_id": STR,
        "value": F64,
        "properties": STR,
    },
)

IDENTITIES = TableSpec(
    name="identities",
    key=("anonymous_id", "customer_id"),
    required=("anonymous_id", "customer_id"),
    time_column="linked_at",
    description="Links between anonymous ids and customers, made by identify calls.",
    columns={
        "anonymous_id": dt.String(nullable=False),
        "customer_id": dt.String(nullable=False),
        "linked_at": TS,
    },
)

CANONICAL: dict[str, TableSpec] = {
    t.name: t for t in (CUSTOMERS, PRODUCTS, ORDERS, ORDER_LINES, EVENTS, IDENTITIES)
}

# Bookkeeping tables the workspace owns. Derived results (traits, memberships, predictions, ...) are
# declared by the modules that produce them.
IMPORTS = TableSpec(
    name="imports",
    key=("import_id",),
    description="One row per import: file, content hash, format and row counts.",
    columns={
        "import_id": dt.String(nullable=False),
        "format": STR,
        "file": STR,
        "sha256": STR,
        "started_at": TS,
        "finished_at": TS,
        "rows_read": I64,
        "rows_loaded": I64,
        "rows_rejected": I64,
        "status": STR,
        "detail": STR,
    },
)

QUARANTINE = TableSpec(
    name="quarantine",
    key=("import_id", "file", "row_number", "column_name"),
    description="Every rejected row of an import kept with --keep-good: where, what and why.",
    columns={
        "import_id": dt.String(nullable=False),
        "file": STR,
        "row_number": I64,
        "column_name": STR,
        "value": STR,
        "reason": STR,
        "raw": STR,
    },
)

PERSONAS = TableSpec(
    name="personas",
    key=("customer_id",),
    description="Ground-truth persona of each synthetic customer, kept apart from the data so segment and "
    "cluster quality can be scored.",
    columns={"customer_id": dt.String(nullable=False), "persona": STR},
)


SEGMENTS = TableSpec(
    name="segments",
    key=("name", "version"),
    description="Every version of every segment definition: a new version whenever its content hash changes.",
    columns={
        "name": dt.String(nullable=False),
        "version": dt.Int64(nullable=False),
        "family": STR,
        "description": STR,
        "rule": STR,
        "tags": TAGS,
        "owner": STR,
        "created_at": TS,
        "hash": STR,
    },
)

MEMBERSHIPS = TableSpec(
    name="memberships",
    key=("segment", "customer_id"),
    description="Current members of every segment (as of the latest evaluated time) and since when.",
    columns={
        "segment": dt.String(nullable=False),
        "customer_id": dt.String(nullable=False),
        "since": TS,
        "segment_version": I64,
    },
)

MEMBERSHIP_HISTORY = TableSpec(
    name="membership_history",
    key=("segment", "customer_id", "valid_from"),
    time_column="valid_from",
    description="Membership intervals [valid_from, valid_to) between evaluated times; only changes are "
    "stored, valid_to is missing while the membership is open.",
    columns={
        "segment": dt.String(nullable=False),
        "customer_id": dt.String(nullable=False),
        "valid_from": dt.Timestamp(nullable=False),
        "valid_to": TS,
        "segment_version": I64,
    },
)

CHANGES = TableSpec(
    name="changes",
    key=("seq",),
    time_column="at",
    description="The ordered log of customers entering and exiting segments.",
    columns={
        "seq": dt.Int64(nullable=False),
        "segment": dt.String(nullable=False),
        "customer_id": dt.String(nullable=False),
        "kind": STR,
        "at": TS,
        "segment_version": I64,
        "cause": STR,
    },
)

CHANGE_NUMBERS = TableSpec(
    name="change_numbers",
    key=("last",),
    description="The highest change number ever given (one row), so that the numbers of changes a re-run "
    "withdrew are never given again and every reader's cursor stays valid.",
    columns={"last": dt.Int64(nullable=False)},
)

SEGMENT_RUNS = TableSpec(
    name="segment_runs",
    key=("segment", "as_of"),
    time_column="as_of",
    description="Every time a segment was evaluated: the times its history is known at.",
    columns={
        "segment": dt.String(nullable=False),
        "as_of": dt.Timestamp(nullable=False),
        "segment_version": I64,
        "members": I64,
        "evaluated_at": TS,
    },
)

TRAIT_RUNS = TableSpec(
    name="trait_runs",
    key=("computed_at",),
    time_column="as_of",
    description="Every materialisation of the traits table: its as_of and a fingerprint of the data and "
    "settings it was computed on, so reads reuse it only while it is still valid.",
    columns={
        "as_of": dt.Timestamp(nullable=False),
        "computed_at": dt.Timestamp(nullable=False),
        "fingerprint": STR,
        "customers": I64,
        "traits": I64,
    },
)

# The real-time service's own state (issue 6): API keys (hashed), webhook subscriptions, the webhook outbox
# (due times are recomputed from the data at start, so they need no table).
API_KEYS = TableSpec(
    name="api_keys",
    key=("key_id",),
    description="API keys: only the sha256 of the token is stored; scopes are ingest, read and admin.",
    columns={
        "key_id": dt.String(nullable=False),
        "name": STR,
        "scopes": STR,
        "token_sha256": STR,
        "created_at": TS,
        "revoked_at": TS,
    },
)

WEBHOOKS = TableSpec(
    name="webhooks",
    key=("webhook_id",),
    description="Webhook subscriptions: a URL hears entered/exited changes of one segment (or all).",
    columns={
        "webhook_id": dt.String(nullable=False),
        "url": STR,
        "segment": STR,
        "kinds": STR,
        "secret": STR,
        "created_at": TS,
        "active": BOOL,
    },
)

OUTBOX = TableSpec(
    name="outbox",
    key=("delivery_id",),
    time_column="created_at",
    description="Webhook deliveries, written with the change that causes them; retried with backoff until "
    "delivered or dead.",
    columns={
        "delivery_id": dt.String(nullable=False),
        "webhook_id": STR,
        "change_seq": I64,
        "payload": STR,
        "status": STR,
        "attempts": I64,
        "next_attempt_at": TS,
        "last_error": STR,
        "last_status": I64,
        "created_at": TS,
        "delivered_at": TS,
    },
)

DERIVED: dict[str, TableSpec] = {
    t.name: t
    for t in (
        IMPORTS,
        QUARANTINE,
        PERSONAS,
        SEGMENTS,
        MEMBERSHIPS,
        MEMBERSHIP_HISTORY,
        CHANGES,
        CHANGE_NUMBERS,
        SEGMENT_RUNS,
        TRAIT_RUNS,
    )
}
DERIVED.update({t.name: t for t in (API_KEYS, WEBHOOKS, OUTBOX)})

# ML segments (issue 5): fitted cluster models, the current cluster of every customer, and the history
# of cluster membership (the same shape as membership_history, keyed by the segment name
# cluster:<model>:<number>).
CLUSTER_MODELS = TableSpec(
    name="cluster_models",
    key=("model", "version"),
    time_column="fitted_at",
    description="Every fit of every cluster model: preprocessing, centroids, chosen k and the scores per "
    "k, stability, 2-D projection and profiles (JSON text).",
    columns={
        "model": dt.String(nullable=False),
        "version": dt.Int64(nullable=False),
        "algorithm": STR,
        "k": I64,
        "traits": STR,
        "spec": STR,
        "selection": STR,
        "stability": STR,
        "projection": STR,
        "profiles": STR,
        "stability_ari": F64,
        "sample_size": I64,
        "fitted_at": TS,
        "as_of": TS,
    },
)

CLUSTER_ASSIGNMENTS = TableSpec(
    name="cluster_assignments",
    key=("model", "customer_id"),
    description="The current cluster (stable number) of every customer under every cluster model.",
    columns={
        "model": dt.String(nullable=False),
        "customer_id": dt.String(nullable=False),
        "cluster": I64,
        "version": I64,
        "assigned_at": TS,
    },
)

CLUSTER_HISTORY = TableSpec(
    name="cluster_history",
    key=("segment", "customer_id", "valid_from"),
    time_column="valid_from",
    description="Cluster membership intervals [valid_from, valid_to); only changes are stored.",
    columns={
        "segment": dt.String(nullable=False),
        "model": STR,
        "cluster": I64,
        "customer_id": dt.String(nullable=False),
        "valid_from": dt.Timestamp(nullable=False),
        "valid_to": TS,
        "version": I64,
    },
)

# Cluster memberships are recorded like every segment's (memberships, membership_history, changes);
# CLUSTER_HISTORY is the table older workspaces kept them in, migrated when they open.
DERIVED.update({t.name: t for t in (CLUSTER_MODELS, CLUSTER_ASSIGNMENTS)})

# Predictive models (issue 4): every fit of a BTYD model with its data window and metrics, and the scores
# of each customer under a fitted model.
MODEL_RUNS = TableSpec(
    name="model_runs",
    key=("run_id",),
    time_column="fitted_at",
    description="Every model fit: model, parameters and standard errors (JSON), data window, metrics (JSON).",
    columns={
        "run_id": dt.String(nullable=False),
        "model": STR,
        "parameters": STR,
        "standard_errors": STR,
        "log_likelihood": F64,
        "n_customers": I64,
        "time_unit": STR,
        "calibration_end": TS,
        "holdout_end": TS,
        "metrics": STR,
        "fitted_at": TS,
    },
)

PREDICTIONS = TableSpec(
    name="predictions",
    key=("customer_id", "run_id"),
    time_column="as_of",
    description="Per-customer scores of a model run as of a time: P(alive), expected orders in 90 days, "
    "12-month CLV and the expected next order time.",
    columns={
        "customer_id": dt.String(nullable=False),
        "run_id": dt.String(nullable=False),
        "as_of": TS,
        "p_alive": F64,
        "expected_orders_90d": F64,
        "clv_12m": F64,
        "next_order_at": TS,
        "scored_at": TS,
        "purchase_propensity_30d": F64,
    },
)

DERIVED.update({t.name: t for t in (MODEL_RUNS, PREDICTIONS)})

TABLES: dict[str, TableSpec] = {**CANONICAL, **DERIVED}


def schema_of(name: str) -> sch.Schema:
    """The Ibis schema of a canonical or bookkeeping table."""
    return TABLES[name].schema


def unbound(name: str) -> ibis.Table:
    """An unbound table with the canonical schema: core code builds expressions on these, and an engine
    adapter later binds them to real tables (or tests evaluate them with no engine at all)."""
    return ibis.table(schema_of(name), name=name)
