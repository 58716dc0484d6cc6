"""Fixtures of the rule-language tests (helpers live in rule_fixtures.py)."""

from __future__ import annotations

import ibis
import pytest


@pytest.fixture(scope="session")
def duck():
    con = ibis.duckdb.connect()
    con.raw_sql("SET TimeZone = 'UTC'")
    yield con
    con.disconnect()
