"""The fast path of ingest parsing: JSON bytes straight to table rows for well-formed messages.

Validating every message into a Pydantic model costs ~20 µs per event, about a third of what the service
spends on an event. Almost every message in real traffic has the plain shape (string ids, an ISO-8601
timestamp, object properties and context), so :func:`fast_rows` parses the body with orjson and checks
that shape by hand while it builds the columns. Anything it is not sure about (a missing or mistyped
field, a numeric timestamp, an unknown type) makes it give up and return ``None``; the caller then runs
the Pydantic path (``parse_batch``/``parse_message`` + ``to_rows``), which either accepts the body with
the same result or produces the usual 400 error with the failing paths. The fast path therefore never
accepts a body the models refuse and never changes what an accepted body stores (tested on both paths).

Identify and alias calls are rare and carry free-form traits: they are validated by their model even
here, one message at a time.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

import orjson
from pydantic import ValidationError

from segmint.core.timeutil import to_utc_naive
from segmint.live.tracking import (
    _SINGLE,
    MAX_ID,
    Rows,
    add_event,
    add_message,
    canonical_name,
)

__all__ = ["fast_rows"]

MAX_BATCH = 10_000
# Shapes both Pydantic and ``datetime.fromisoformat`` read the same way.
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})?")
_EVENT_TYPES = ("track", "page", "screen")


class _Unsure(Exception):
    """The message is not of the plain shape: leave it to the models."""


def fast_rows(
    body: bytes, received_at: datetime, kind: str | None = None, links: dict[str, str] | None = None
) -> Rows | None:
    """Rows for a ``/v1/batch`` body (``kind`` None) or a single call of type ``kind``, or ``None`` when
    the body needs the model path (which also produces the errors)."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if type(data) is not dict:
        return None
    if kind is None:
        messages = data.get("batch")
        shared = data.get("context")
        if type(messages) is not list or not 1 <= len(messages) <= MAX_BATCH:
            return None
        if shared is not None and type(shared) is not dict:
            return None
    else:
        data["type"] = kind
        messages, shared = [data], None
    rows = Rows()
    links = dict(links or {})
    stamps: dict[str, datetime] = {}  # the same timestamp text is common within a batch
    try:
        for message in messages:
            if type(message) is not dict:
                return None
            _add(rows, message, received_at, links, shared, stamps)
    except _Unsure:
        return None
    return rows


def _id(message: dict, key: str) -> str | None:
    value = message.get(key)
    if value is None:
        return None
    if type(value) is not str or not 1 <= len(value) <= MAX_ID:
        raise _Unsure
    return value


def _short(message: dict, key: str, limit: int) -> str | None:
    value = message.get(key)
    if value is None:
        return None
    if type(value) is not str or len(value) > limit:
        raise _Unsure
    return value


def _obj(message: dict, key: str) -> dict[str, Any]:
    value = message.get(key, _ABSENT)
    if value is _ABSENT:
        return {}
    if type(value) is not dict:
        raise _Unsure
    return value


_ABSENT = object()


def _when(message: dict, received_at: datetime, stamps: dict[str, datetime]) -> datetime:
    for key in ("timestamp", "originalTimestamp"):
        value = message.get(key)
        if value is None:
            continue
        if type(value) is not str:
            raise _Unsure
        parsed = stamps.get(value)
        if parsed is None:
            if not _ISO.fullmatch(value):
                raise _Unsure
            try:
                parsed = to_utc_naive(datetime.fromisoformat(value))
            except ValueError:
                raise _Unsure from None
            stamps[value] = parsed
        return parsed  # ``timestamp`` wins when both are given
    return received_at


def _add(
    rows: Rows,
    message: dict,
    received_at: datetime,
    links: dict[str, str],
    shared: dict | None,
    stamps: dict[str, datetime],
) -> None:
    kind = message.get("type")
    if kind not in _EVENT_TYPES:
        if kind not in ("identify", "alias"):
            raise _Unsure
        try:
            model = _SINGLE[kind].validate_python(message)
        except ValidationError:
            raise _Unsure from None
        if shared and not model.context:
            model.context = shared
        add_message(rows, model, received_at, links)
        return
    message_id = _id(message, "messageId")
    anonymous_id = _id(message, "anonymousId")
    user_id = _id(message, "userId")
    if not user_id and not anonymous_id:
        raise _Unsure
    # Both timestamps must be valid when present, as the models require.
    when = _when(message, received_at, stamps)
    if message.get("timestamp") is not None and message.get("originalTimestamp") is not None:
        _when({"timestamp": message["originalTimestamp"]}, received_at, stamps)
    ctx = _obj(message, "context")
    channel = _short(message, "channel", 64)
    props = dict(_obj(message, "properties"))
    if kind == "track":
        event = message.get("event")
        if type(event) is not str or not 1 <= len(event) <= 200:
            raise _Unsure
        name = canonical_name(event)
    else:
        page_name = _short(message, "name", 200)
        category = _short(message, "category", 200)
        name = "screen_viewed" if kind == "screen" else "page_viewed"
        if page_name is not None:
            props.setdefault("page_name", page_name)
        if category is not None:
            props.setdefault("page_category", category)
    if not ctx and shared:
        ctx = shared
    if message_id is None:  # stored, but its retries cannot be recognised
        message_id = f"gen-{uuid.uuid4().hex}"
    rows.message_ids.append(message_id)
    customer = user_id or (links.get(anonymous_id) if anonymous_id else None)
    add_event(rows.events, message_id, customer, anonymous_id, name, when, received_at, ctx, props, channel)
