"""The generated data itself: integrity between tables, realistic values, and persona separability."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score
from sklearn.preprocessing import RobustScaler

from segmint.core.schema import TABLES
from segmint.core.synth import PERSONAS, Shop, arrow_schema
from segmint.data.cities import CITIES, COUNTRIES

START, END = datetime(2024, 1, 1), datetime(2025, 12, 31, 23, 59, 59)


def test_cities_table_is_real_and_broad() -> None:
    assert len(CITIES) >= 150
    assert len({c.country for c in CITIES}) >= 25
    assert {c.country for c in CITIES} <= set(COUNTRIES)
    by_name = {c.city: c for c in CITIES}
    # Spot checks against well-known coordinates.
    assert by_name["Paris"].latitude == pytest.approx(48.857, abs=0.01)
    assert by_name["Sydney"].longitude == pytest.approx(151.209, abs=0.01)
    assert by_name["São Paulo"].latitude < 0 and by_name["New York"].longitude < 0
    for c in CITIES:
        assert -90 < c.latitude < 90 and -180 < c.longitude < 180 and c.population_k > 0


def test_keys_are_unique_and_required_columns_present(shop5k) -> None:
    _, t = shop5k
    for name, frame in t.items():
        spec = TABLES[name]
        assert not frame.duplicated(list(spec.key)).any(), name
        for column in spec.required:
            assert frame[column].notna().all(), (name, column)


def test_schemas_match_core_schema(shop5k) -> None:
    shop, _ = shop5k
    block = shop.block(0)
    for name, table in block.items():
        assert table.schema.equals(arrow_schema(name)), name


def test_referential_integrity(shop5k) -> None:
    _, t = shop5k
    customers, orders, lines, events = t["customers"], t["orders"], t["order_lines"], t["events"]
    ids = set(customers.customer_id)
    assert set(lines.order_id) == set(orders.order_id)
    assert set(orders.customer_id.dropna()) <= ids
    assert set(lines.product_id) <= set(t["products"].product_id)
    assert set(events.customer_id.dropna()) <= ids
    assert set(events.product_id.dropna()) <= set(t["products"].product_id)
    assert set(events.order_id.dropna()) <= set(orders.order_id)
    assert set(t["personas"].customer_id) == ids
    # Every web/app order has exactly one order_completed event at its time with its total.
    done = events[events.name == "order_completed"].set_index("order_id")
    online = orders[orders.channel != "store"].set_index("order_id")
    assert done.index.is_unique and set(done.index) == set(online.index)
    assert (done.occurred_at == online.ordered_at.loc[done.index]).all()
    assert np.allclose(done.value, online.total.loc[done.index])
    # Order totals add up, lines add up to subtotals.
    sums = (
        lines.assign(amount=lines.quantity * lines.unit_price)
        .groupby("order_id")[["amount", "discount"]]
        .sum()
    )
    o = orders.set_index("order_id")
    assert np.allclose(sums.amount.loc[o.index], o.subtotal, atol=0.011)
    assert np.allclose(sums.discount.loc[o.index], o.discount, atol=0.011)
    assert np.allclose(o.subtotal - o.discount + o.shipping + o.tax, o.total, atol=0.011)


def test_identities_stitch_anonymous_events(shop5k) -> None:
    _, t = shop5k
    events, identities, customers = t["events"], t["identities"], t["customers"]
    link = identities.set_index("anonymous_id").customer_id
    web = events[events.channel != "email"]
    assert web.anonymous_id.notna().all()
    known = web[web.customer_id.notna()]
    assert (link.loc[known.anonymous_id].to_numpy() == known.customer_id.to_numpy()).all()
    # Anonymous visits before sign-up belong to the customer the identity links them to.
    pre = web[web.customer_id.isna() & web.anonymous_id.str.startswith("a")]
    assert len(pre) > 0
    created = customers.set_index("customer_id").created_at
    owner = link.loc[pre.anonymous_id]
    assert (pre.occurred_at.to_numpy() < created.loc[owner].to_numpy()).all()
    # Guest checkouts: orders without a customer, their events carry only a guest anonymous id.
    guests = t["orders"][t["orders"].customer_id.isna()]
    assert 0.03 < len(guests) / len(t["orders"]) < 0.12
    guest_events = web[web.anonymous_id.str.startswith("g")]
    assert guest_events.customer_id.isna().all() and not set(guest_events.anonymous_id) & set(link.index)


def test_realistic_customers(shop5k) -> None:
    _, t = shop5k
    c = t["customers"]
    age = (pd.Timestamp(END) - pd.to_datetime(c.birth_date)).dt.days / 365.25
    assert age.min() >= 18 and age.max() <= 90.01
    assert 30 < age.mean() < 50
    centres = {(x.country, x.city): (x.latitude, x.longitude) for x in CITIES}
    lat0 = np.array([centres[(a, b)][0] for a, b in zip(c.country, c.city, strict=True)])
    lon0 = np.array([centres[(a, b)][1] for a, b in zip(c.country, c.city, strict=True)])
    assert (np.abs(c.latitude - lat0) < 0.4).all() and (np.abs(c.longitude - lon0) < 0.6).all()
    assert c.country.nunique() >= 20
    assert set(c.gender.dropna()) == {"female", "male", "non_binary"}
    assert c.email.str.fullmatch(r"[a-z.]+\d{6}@[a-z.]+").all() and c.email.is_unique
    assert (c.created_at >= pd.Timestamp(START)).all() and (c.created_at <= pd.Timestamp(END)).all()
    opted = c[c.email_opt_in]
    assert (opted.email_opt_in_at >= opted.created_at).all()
    assert not c.sms_opt_in[c.phone.isna()].any()
    surveyed = c.attributes.dropna().map(json.loads)
    assert 0.25 < len(surveyed) / len(c) < 0.45
    assert all(set(a) == {"interests", "values", "lifestyle"} and a["interests"] for a in surveyed)
    assert any("eco_conscious" in a["values"] for a in surveyed)
    assert any("vip" in tags for tags in c.tags)


def test_realistic_orders_and_seasonality(shop5k) -> None:
    _, t = shop5k
    o, products = t["orders"], t["products"]
    assert (o.ordered_at >= pd.Timestamp(START)).all() and (o.ordered_at <= pd.Timestamp(END)).all()
    per_month = o.groupby([o.ordered_at.dt.year, o.ordered_at.dt.month]).size()
    average = per_month.mean()
    for year in (2024, 2025):
        assert per_month[(year, 11)] > 1.3 * average and per_month[(year, 12)] > 1.3 * average
    status = o.status.value_counts(normalize=True)
    assert 0.01 < status["cancelled"] < 0.06 and 0.03 < status["refunded"] < 0.12
    assert status["partially_refunded"] > 0.003
    refunded = o[o.status == "refunded"]
    assert np.allclose(refunded.refunded_amount, refunded.total)
    partial = o[o.status == "partially_refunded"]
    assert ((partial.refunded_amount > 0) & (partial.refunded_amount < partial.total)).all()
    assert o[o.status == "cancelled"].cancelled_at.notna().all()
    assert o[o.status != "cancelled"].cancelled_at.isna().all()
    assert 0.3 < o.discount_code.notna().mean() < 0.6
    assert "BF25" in set(o.discount_code) and "WELCOME10" in set(o.discount_code)
    assert set(o.channel) == {"web", "app", "store"}
    assert any("eco_friendly" in tags for tags in products.tags)
    assert products.category.nunique() == 10 and (products.price > 0).all()


def test_sessions_funnels_and_emails(shop5k) -> None:
    _, t = shop5k
    e = t["events"]
    names = e.name.value_counts()
    for name in ("product_viewed", "added_to_cart", "checkout_started", "order_completed", "search",
                 "email_sent", "email_opened", "email_clicked", "unsubscribed"):  # fmt: skip
        assert names.get(name, 0) > 0, name
    assert names["email_opened"] < names["email_sent"] and names["email_clicked"] < names["email_opened"]
    carts = e[e.name == "added_to_cart"]
    assert carts.cart_id.notna().all()
    completed_carts = set(e[e.name == "order_completed"].cart_id)
    abandoned = set(carts.cart_id) - completed_carts
    # Real shops lose roughly 60-75% of carts before the order.
    assert 0.55 < len(abandoned) / len(set(carts.cart_id)) < 0.75
    web = e[e.channel != "email"]
    assert web.session_id.notna().all() and web.device_type.notna().all() and web.os.notna().all()
    assert set(web.device_type) == {"mobile", "desktop", "tablet"}
    assert web[web.channel == "web"].browser.notna().all() and web[web.channel == "app"].browser.isna().all()
    mail = e[e.channel == "email"]
    assert mail.campaign_id.str.fullmatch(r"cmp-\d{4}-w\d{2}").all() and mail.session_id.isna().all()
    assert (e.received_at >= e.occurred_at).all()
    # The history runs right up to the end, so "recent cart abandoners" exist as of the end.
    assert e.occurred_at.max() >= pd.Timestamp(END) - timedelta(hours=3)
    assert (carts.occurred_at > pd.Timestamp(END) - timedelta(days=1)).sum() > 0
    assert e.occurred_at.max() <= pd.Timestamp(END) and e.occurred_at.min() >= pd.Timestamp(START)


def persona_features(t: dict[str, pd.DataFrame], as_of: datetime) -> pd.DataFrame:
    """Simple per-customer value and behaviour aggregates, the way a clustering model would see them."""
    end = pd.Timestamp(as_of)
    c, o, e = t["customers"], t["orders"], t["events"]
    o = o[o.customer_id.notna() & (o.status != "cancelled")]
    g = o.groupby("customer_id")
    f = pd.DataFrame(index=c.customer_id)
    f["frequency"] = g.size()
    f["monetary"] = g.total.sum() - g.refunded_amount.sum()
    f["aov"] = f.monetary / f.frequency
    f["recency"] = (end - g.ordered_at.max()).dt.days
    f["discount_share"] = o.discount_code.notna().groupby(o.customer_id).mean()
    f["gift_season_share"] = o.ordered_at.dt.month.isin([11, 12]).groupby(o.customer_id).mean()
    f["tenure"] = (end - c.set_index("customer_id").created_at).dt.days
    e = e[e.customer_id.notna()]
    recent = e[e.occurred_at > end - pd.Timedelta(days=90)]
    f["sessions_90d"] = recent.groupby("customer_id").session_id.nunique()
    f["views_90d"] = recent[recent.name == "product_viewed"].groupby("customer_id").size()
    f["cart_adds_90d"] = recent[recent.name == "added_to_cart"].groupby("customer_id").size()
    sent = e[e.name == "email_sent"].groupby("customer_id").size()
    f["open_rate"] = e[e.name == "email_opened"].groupby("customer_id").size() / sent
    return f.fillna({"recency": f.tenure}).fillna(0.0).clip(lower=0)


def test_personas_are_recoverable_by_clustering(shop5k) -> None:
    _, t = shop5k
    features = persona_features(t, END)
    scaled = RobustScaler().fit_transform(np.log1p(features))
    labels = KMeans(n_clusters=len(PERSONAS), n_init=10, random_state=0).fit_predict(scaled)
    truth = t["personas"].set_index("customer_id").persona.loc[features.index]
    ari = adjusted_rand_score(truth, labels)
    print(f"persona recovery: ARI = {ari:.3f} on {len(features)} customers")
    assert ari >= 0.6
    shares = truth.value_counts(normalize=True)
    for p in PERSONAS:
        assert shares[p.name] == pytest.approx(p.share, abs=0.03)


def test_personas_differ_in_the_expected_direction(shop5k) -> None:
    _, t = shop5k
    f = persona_features(t, END)
    m = f.groupby(t["personas"].set_index("customer_id").persona.loc[f.index]).median()
    assert m.frequency.idxmax() == "loyal_high_spender" and m.monetary.idxmax() == "loyal_high_spender"
    # Big gift baskets: seasonal buyers spend about as much per order as loyal customers.
    assert set(m.aov.nlargest(2).index) == {"loyal_high_spender", "seasonal_gift_buyer"}
    assert (
        m.discount_share.idxmax() == "bargain_hunter"
        and m.aov["bargain_hunter"] < m.aov.drop("window_shopper").min() + 1e-9
    )
    assert m.views_90d.idxmax() == "window_shopper" and m.frequency["window_shopper"] == 0
    assert m.gift_season_share["seasonal_gift_buyer"] > 0.8
    assert m.tenure.idxmin() == "new_customer" and m.tenure["new_customer"] < 90
    assert m.recency.idxmax() in {"churned", "window_shopper"} and m.recency["churned"] > 240
    assert m.sessions_90d["churned"] == 0


def test_blocks_are_independent_and_ids_unique_across_blocks() -> None:
    shop = Shop(customers=900, seed=5, block_size=400)
    assert shop.blocks == 3
    blocks = [shop.block(i) for i in range(3)]
    assert blocks[2]["customers"].num_rows == 100
    for name, key in (("customers", "customer_id"), ("orders", "order_id"), ("events", "event_id")):
        ids = [x for b in blocks for x in b[name].column(key).to_pylist()]
        assert len(ids) == len(set(ids)), name
    assert Shop(customers=900, seed=5, block_size=400).block(1)["events"].equals(blocks[1]["events"])
    with pytest.raises(IndexError):
        shop.block(3)
