"""Segment tracking-spec messages and how they map onto Segmint's canonical tables.

The messages are validated by Pydantic straight from JSON bytes (``parse_batch``), which keeps per-event
cost to a few microseconds. ``to_rows`` then turns them into columns for ``events``, links for
``identities`` and trait updates for ``customers``; it is pure so it is tested without a server.

Choices (Segment's spec leaves them open):

* ``messageId`` is the idempotency key (``event_id``). A message without one gets a random id, so it
  is stored but a retry of it cannot be recognised.
* Track event names are mapped to the canonical names when they are Segment e-commerce spec names
  ("Product Added" → ``added_to_cart``); other names are lower-cased with spaces turned into ``_``.
  Page and screen calls become ``page_viewed`` / ``screen_viewed``.
* ``timestamp`` (else ``originalTimestamp``, else the receive time) is when the event happened.
"""

from __future__ import annotations

import functools
import json
import re
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from segmint.core.timeutil import to_utc_naive

__all__ = [
    "EVENT_COLUMNS",
    "Alias",
    "Batch",
    "Identify",
    "Message",
    "Page",
    "Rows",
    "Track",
    "add_event",
    "add_message",
    "canonical_name",
    "parse_batch",
    "parse_message",
    "to_rows",
]

MAX_ID = 256

Id = Annotated[str, Field(min_length=1, max_length=MAX_ID)]


class _Base(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    messageId: Id | None = None
    anonymousId: Id | None = None
    userId: Id | None = None
    timestamp: datetime | None = None
    originalTimestamp: datetime | None = None
    context: dict[str, Any] = Field(default_factory=dict)
    channel: str | None = Field(default=None, max_length=64)

    @model_validator(mode="after")
    def _needs_an_id(self):
        if not self.userId and not self.anonymousId:
            raise ValueError("a message needs userId or anonymousId")
        return self


class Track(_Base):
    type: Literal["track"] = "track"
    event: Annotated[str, Field(min_length=1, max_length=200)]
    properties: dict[str, Any] = Field(default_factory=dict)


class Page(_Base):
    type: Literal["page", "screen"] = "page"
    name: str | None = Field(default=None, max_length=200)
    category: str | None = Field(default=None, max_length=200)
    properties: dict[str, Any] = Field(default_factory=dict)


class Identify(_Base):
    type: Literal["identify"] = "identify"
    traits: dict[str, Any] = Field(default_factory=dict)


class Alias(_Base):
    """``previousId`` (an anonymous id) becomes the same person as ``userId``."""

    type: Literal["alias"] = "alias"
    previousId: Id
    userId: Id


Message = Annotated[Track | Page | Identify | Alias, Field(discriminator="type")]


class Batch(BaseModel):
    model_config = ConfigDict(extra="allow")
    batch: Annotated[list[Message], Field(min_length=1, max_length=10_000)]
    context: dict[str, Any] = Field(default_factory=dict)


_BATCH = TypeAdapter(Batch)
# One adapter per call type (the path names the type), so each is typed by the model it validates.
_SINGLE: dict[str, TypeAdapter[Any]] = {
    kind: TypeAdapter(model) for kind, model in (("track", Track), ("page", Page), ("identify", Identify))
}
_SINGLE["screen"] = _SINGLE["page"]
_SINGLE["alias"] = TypeAdapter(Alias)


def parse_batch(body: bytes) -> list[Track | Page | Identify | Alias]:
    """Validate a ``/v1/batch`` body; raises ``pydantic.ValidationError`` with the failing paths."""
    parsed = _BATCH.validate_json(body)
    if parsed.context:  # batch-level context applies to every message that has none of its own
        for message in parsed.batch:
            if not message.context:
                message.context = parsed.context
    return parsed.batch


def parse_message(kind: str, body: bytes) -> Track | Page | Identify | Alias:
    """Validate a single-call body (``/v1/track`` …); the call's path decides the type."""
    data = json.loads(body) if body else None
    if not isinstance(data, dict):
        # Let Pydantic produce the uniform error for a non-object body.
        return _SINGLE[kind].validate_python(data)
    data["type"] = kind
    return _SINGLE[kind].validate_python(data)


SPEC_NAMES = {
    "product viewed": "product_viewed",
    "product added": "added_to_cart",
    "product removed": "removed_from_cart",
    "cart viewed": "cart_viewed",
    "checkout started": "checkout_started",
    "order completed": "order_completed",
    "order refunded": "order_refunded",
    "order cancelled": "order_cancelled",
    "products searched": "search",
    "product list viewed": "product_list_viewed",
    "product added to wishlist": "added_to_wishlist",
    "email opened": "email_opened",
    "email link clicked": "email_clicked",
    "email delivered": "email_sent",
    "unsubscribed": "unsubscribed",
}
_NON_WORD = re.compile(r"[^0-9a-z]+")


@functools.lru_cache(maxsize=4096)
def canonical_name(event: str) -> str:
    """ "Product Added" → ``added_to_cart``; "Wishlist Shared!" → ``wishlist_shared``."""
    lowered = event.strip().lower()
    if lowered in SPEC_NAMES:
        return SPEC_NAMES[lowered]
    return _NON_WORD.sub("_", lowered).strip("_") or "event"


EVENT_COLUMNS = (
    "event_id",
    "customer_id",
    "anonymous_id",
    "name",
    "occurred_at",
    "received_at",
    "session_id",
    "device_type",
    "os",
    "browser",
    "channel",
    "product_id",
    "category",
    "cart_id",
    "order_id",
    "campaign_id",
    "value",
    "properties",
)
PROMOTED_TEXT = ("product_id", "category", "cart_id", "order_id", "campaign_id")
VALUE_KEYS = ("value", "revenue", "total", "price")

# identify traits that have a customers column (Segment's reserved traits, snake or camel case).
TRAIT_COLUMNS = {
    "email": "email",
    "phone": "phone",
    "firstName": "first_name",
    "first_name": "first_name",
    "lastName": "last_name",
    "last_name": "last_name",
    "createdAt": "created_at",
    "created_at": "created_at",
    "gender": "gender",
    "birthday": "birth_date",
    "language": "language",
}
ADDRESS_COLUMNS = {
    "country": "country",
    "state": "region",
    "region": "region",
    "city": "city",
    "postalCode": "postal_code",
    "postal_code": "postal_code",
}


class Rows:
    """What a group of messages adds: event columns, identity links and customer trait updates."""

    def __init__(self) -> None:
        self.events: dict[str, list[Any]] = {c: [] for c in EVENT_COLUMNS}
        self.links: list[tuple[str, str, datetime]] = []  # (anonymous_id, customer_id, linked_at)
        self.customers: list[dict[str, Any]] = []  # one dict per identify with a userId
        self.message_ids: list[str] = []  # every message, in order (identify/alias too)

    @property
    def n_events(self) -> int:
        return len(self.events["event_id"])


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    if type(value) is str:
        return value if len(value) <= MAX_ID else value[:MAX_ID]
    return str(value)[:MAX_ID]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) != float("inf") else None


def _browser(user_agent: Any) -> str | None:
    if not isinstance(user_agent, str):
        return None
    for token, name in (("Edg/", "edge"), ("OPR/", "opera"), ("Firefox/", "firefox"), ("Chrome/", "chrome")):
        if token in user_agent:
            return name
    if "Safari/" in user_agent:
        return "safari"
    return None


def _when(message: _Base, received_at: datetime) -> datetime:
    stamp = message.timestamp or message.originalTimestamp
    return to_utc_naive(stamp) if stamp is not None else received_at


def to_rows(messages: list, received_at: datetime, links: dict[str, str] | None = None) -> Rows:
    """Map validated messages to table rows. ``links`` (anonymous id → customer id, from earlier identify
    calls) attributes anonymous events to their customer; this batch's own links apply to later messages."""
    links = dict(links or {})
    rows = Rows()
    for message in messages:
        add_message(rows, message, received_at, links)
    return rows


def add_message(rows: Rows, message: Any, received_at: datetime, links: dict[str, str]) -> None:
    """Append one validated message (a model) to ``rows``; identify/alias update ``links`` in place."""
    message_id = message.messageId or f"gen-{uuid.uuid4().hex}"
    rows.message_ids.append(message_id)
    if isinstance(message, Alias):
        rows.links.append((message.previousId, message.userId, _when(message, received_at)))
        links[message.previousId] = message.userId
        return
    if isinstance(message, Identify):
        if message.anonymousId and message.userId:
            rows.links.append((message.anonymousId, message.userId, _when(message, received_at)))
            links[message.anonymousId] = message.userId
        if message.userId:
            rows.customers.append(_customer(message, received_at))
        return
    props = dict(message.properties)
    if isinstance(message, Track):
        name = canonical_name(message.event)
    else:
        name = "screen_viewed" if message.type == "screen" else "page_viewed"
        if message.name is not None:
            props.setdefault("page_name", message.name)
        if message.category is not None:
            props.setdefault("page_category", message.category)
    customer = message.userId or (links.get(message.anonymousId) if message.anonymousId else None)
    add_event(
        rows.events,
        message_id,
        customer,
        message.anonymousId,
        name,
        _when(message, received_at),
        received_at,
        message.context or {},
        props,
        message.channel,
    )


def add_event(
    ev: dict[str, list[Any]],
    message_id: str,
    customer: str | None,
    anonymous_id: str | None,
    name: str,
    occurred_at: datetime,
    received_at: datetime,
    ctx: dict[str, Any],
    props: dict[str, Any],
    channel: str | None,
) -> None:
    """Append one event's columns; ``props`` (a private copy) loses the keys promoted to columns."""
    device = ctx.get("device")
    os_info = ctx.get("os")
    campaign = ctx.get("campaign")
    ev["event_id"].append(message_id)
    ev["customer_id"].append(customer)
    ev["anonymous_id"].append(anonymous_id)
    ev["name"].append(name)
    ev["occurred_at"].append(occurred_at)
    ev["received_at"].append(received_at)
    ev["session_id"].append(_text(props.pop("session_id", None) or ctx.get("sessionId")))
    ev["device_type"].append(_text(device.get("type")) if isinstance(device, dict) else None)
    ev["os"].append(_text(os_info.get("name")) if isinstance(os_info, dict) else None)
    ev["browser"].append(_browser(ctx.get("userAgent")))
    ev["channel"].append(_text(channel))
    for column in PROMOTED_TEXT:
        ev[column].append(_text(props.pop(column, None)) if props else None)
    if ev["campaign_id"][-1] is None and isinstance(campaign, dict) and campaign.get("name") is not None:
        ev["campaign_id"][-1] = _text(campaign.get("name"))
    value = None
    if props:
        for key in VALUE_KEYS:
            if key in props:
                value = _number(props[key])
                if value is not None:
                    props.pop(key)
                    break
    ev["value"].append(value)
    ev["properties"].append(json.dumps(props, default=str, separators=(",", ":")) if props else None)


def _customer(message: Identify, received_at: datetime) -> dict[str, Any]:
    """The customers columns an identify call sets; traits without a column go to ``attributes``."""
    row: dict[str, Any] = {"customer_id": message.userId, "updated_at": _when(message, received_at)}
    extra: dict[str, Any] = {}
    for key, value in message.traits.items():
        if key in TRAIT_COLUMNS:
            column = TRAIT_COLUMNS[key]
            row[column] = _trait_value(column, value)
        elif key == "address" and isinstance(value, dict):
            for sub, sub_value in value.items():
                if sub in ADDRESS_COLUMNS:
                    row[ADDRESS_COLUMNS[sub]] = _text(sub_value)
                else:
                    extra[f"address_{sub}"] = sub_value
        else:
            extra[key] = value
    if extra:
        row["attributes"] = extra  # merged with stored attributes by the writer
    return row


def _trait_value(column: str, value: Any) -> Any:
    if column in ("created_at", "birth_date"):
        if not isinstance(value, str):
            return None
        try:
            parsed = to_utc_naive(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            return None
        return parsed.date() if column == "birth_date" else parsed
    return _text(value)
