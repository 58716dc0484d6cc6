"""The fast parsing path stores exactly what the model path stores, and never accepts what it refuses."""

from __future__ import annotations

import json
from datetime import datetime

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from segmint.live.tracking import parse_batch, parse_message, to_rows
from segmint.live.tracking_fast import fast_rows

AT = datetime(2024, 5, 1, 12, 0, 0)

ids = st.one_of(st.none(), st.sampled_from(["u1", "u2", "a1", "", "x" * 257]), st.integers(0, 3))
stamps = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "2024-04-30T10:00:00Z",
            "2024-04-30T10:00:00.123456+02:00",
            "2024-04-30T10:00:00",
            "2024-13-30T10:00:00Z",
            "yesterday",
            "2024-04-30 10:00:00",
        ]
    ),
    st.just(1714470000),
)
props = st.one_of(
    st.just({}),
    st.just(None),
    st.just([1]),
    st.fixed_dictionaries(
        {},
        optional={
            "product_id": st.sampled_from(["p1", 7, None]),
            "cart_id": st.just("k1"),
            "price": st.sampled_from([9.5, "12", "n/a", True]),
            "color": st.just("red"),
            "session_id": st.just("s1"),
        },
    ),
)
context = st.one_of(
    st.just({}),
    st.just("x"),
    st.fixed_dictionaries(
        {},
        optional={
            "device": st.sampled_from([{"type": "mobile"}, "tablet"]),
            "os": st.just({"name": "iOS"}),
            "userAgent": st.just("Mozilla/5.0 Chrome/120 Safari/537"),
            "campaign": st.just({"name": "spring"}),
        },
    ),
)


@st.composite
def messages(draw):
    kind = draw(st.sampled_from(["track", "track", "page", "screen", "identify", "alias", "bogus", None]))
    msg = {"type": kind} if kind is not None else {}
    for key, strategy in (
        ("messageId", ids),
        ("userId", ids),
        ("anonymousId", ids),
        ("timestamp", stamps),
        ("originalTimestamp", stamps),
        ("properties", props),
        ("context", context),
        ("event", st.sampled_from(["Product Added", "Wishlist Shared!", "", 5])),
        ("name", st.sampled_from(["Home", None, 3])),
        ("channel", st.sampled_from(["web", "y" * 65])),
        ("traits", st.just({"email": "a@b.c", "plan": "pro"})),
        ("previousId", st.sampled_from(["a1", None])),
    ):
        if draw(st.booleans()):
            msg[key] = draw(strategy)
    return msg


def _comparable(rows):
    gen = [i.startswith("gen-") for i in rows.message_ids]
    events = {k: list(v) for k, v in rows.events.items()}
    events["event_id"] = [None if i.startswith("gen-") else i for i in events["event_id"]]
    return gen, events, rows.links, rows.customers


@settings(max_examples=300, deadline=None)
@given(st.lists(messages(), min_size=1, max_size=4), context)
def test_fast_path_matches_the_models(batch, shared) -> None:
    body = json.dumps({"batch": batch, "context": shared}).encode()
    fast = fast_rows(body, AT)
    try:
        slow = to_rows(parse_batch(body), AT)
    except ValidationError:
        assert fast is None  # refused by the models: the fast path must not accept it
        return
    if fast is not None:
        assert _comparable(fast) == _comparable(slow)


def test_plain_batch_takes_the_fast_path_with_hand_checked_columns() -> None:
    body = json.dumps(
        {
            "batch": [
                {
                    "type": "track",
                    "messageId": "m1",
                    "userId": "u1",
                    "event": "Product Added",
                    "timestamp": "2024-04-30T10:00:00+02:00",
                    "properties": {"product_id": "p1", "price": "12.5", "color": "red"},
                },
                {"type": "identify", "messageId": "m2", "userId": "u1", "anonymousId": "a9"},
                {"type": "page", "messageId": "m3", "anonymousId": "a9", "name": "Home"},
            ],
            "context": {"device": {"type": "mobile"}},
        }
    ).encode()
    rows = fast_rows(body, AT)
    assert rows is not None
    assert rows.message_ids == ["m1", "m2", "m3"]
    assert rows.events["name"] == ["added_to_cart", "page_viewed"]
    assert rows.events["occurred_at"] == [datetime(2024, 4, 30, 8, 0, 0), AT]
    assert rows.events["customer_id"] == ["u1", "u1"]  # a9 was linked to u1 earlier in the batch
    assert rows.events["value"] == [12.5, None]
    assert rows.events["properties"] == ['{"color":"red"}', '{"page_name":"Home"}']
    assert rows.events["device_type"] == ["mobile", "mobile"]
    assert rows.links == [("a9", "u1", AT)]


def test_single_call_needs_the_models_only_when_unusual() -> None:
    plain = json.dumps({"messageId": "m1", "userId": "u1", "event": "Order Completed"}).encode()
    rows = fast_rows(plain, AT, "track")
    assert rows is not None and rows.events["name"] == ["order_completed"]
    numeric_time = json.dumps({"messageId": "m1", "userId": "u1", "event": "x", "timestamp": 0}).encode()
    assert fast_rows(numeric_time, AT, "track") is None
    assert to_rows([parse_message("track", numeric_time)], AT).events["occurred_at"] == [datetime(1970, 1, 1)]
