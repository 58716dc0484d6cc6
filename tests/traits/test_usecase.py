"""compute_traits materialises the traits table; profile and the CLI show one customer's traits."""

from __future__ import annotations

import json

import pytest

from segmint.batch.traits import TraitsError, compute_traits, profile, workspace_catalog
from segmint.cli.main import main

from .fixture import B, T, load


@pytest.fixture
def shop(workspace):
    load(workspace)
    return workspace


def test_compute_traits_writes_one_row_per_customer(shop):
    run = compute_traits(shop, T)
    assert run.as_of == T
    assert run.customers == 6
    assert run.traits == len(workspace_catalog(shop))
    rows = {r["customer_id"]: r for r in shop.table("traits").to_pyarrow().to_pylist()}
    assert rows["c1"]["rfm_group"] == "Champions"
    assert rows["c1"]["share_shoes"] == pytest.approx(140 / 230)
    # A past run overwrites: c2 and c4 do not exist yet at B.
    assert compute_traits(shop, B).customers == 4
    assert shop.count("traits") == 4


def test_workspace_catalog_adds_a_share_per_stored_category(shop):
    names = workspace_catalog(shop).names
    assert "share_shoes" in names and "share_home_garden" in names


def test_profile_groups_traits_by_family(shop):
    result = profile(shop, "c1", "2025-05-01")
    assert result["as_of"] == B
    assert result["traits"]["value"]["orders_count"] == 1
    assert result["traits"]["lifecycle"]["lifecycle_stage"] == "at_risk"
    assert result["traits"]["consent"]["email_consent"] is True
    assert result["traits"]["demographic"]["age"] == 34


def test_profile_of_an_unknown_customer_and_a_bad_time_are_clear_errors(shop):
    with pytest.raises(TraitsError, match="no customer 'c2' as of 2025-05-01"):
        profile(shop, "c2", B)  # created after B
    with pytest.raises(TraitsError, match="cannot read time"):
        profile(shop, "c1", "yesterday-ish")


def test_cli_traits_list_and_profile(shop, capsys):
    root = str(shop.root)
    shop.close()
    main(["--workspace", root, "--json", "traits", "list", "--family", "value"])
    listed = json.loads(capsys.readouterr().out)
    assert {"name": "aov", "type": "number", "family": "value", "unit": "currency"}.items() <= next(
        r for r in listed if r["name"] == "aov"
    ).items()
    assert all(r["family"] == "value" for r in listed)

    main(["--workspace", root, "--json", "profile", "c1", "--as-of", "2025-06-30T12:00:00"])
    shown = json.loads(capsys.readouterr().out)
    assert shown["traits"]["value"]["rfm_score"] == "555"
    assert shown["traits"]["needs"]["top_category"] == "Shoes"

    main(["--workspace", root, "profile", "c1", "--as-of", "2025-06-30T12:00:00"])
    text = capsys.readouterr().out
    assert "technographic" in text and "Safari" in text

    with pytest.raises(SystemExit) as exc:
        main(["--workspace", root, "traits", "list", "--family", "vibes"])
    assert exc.value.code == 2
    assert "unknown trait family 'vibes'" in capsys.readouterr().err
