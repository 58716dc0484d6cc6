"""The engine suite: every test here runs once per engine through the session-scoped ``con`` fixture.

``con`` is an Ibis connection to DuckDB or to PySpark (local mode, one session for the whole test
session) holding the canonical shop of :mod:`.shop`. Tests compare what the engine computes with a value
known independently (by construction, by hand, by a pure-Python or NumPy reference); what an engine is
known to get wrong or not to do at all is declared in :mod:`.known_gaps` and applied here, so a fixed
gap fails the suite until its declaration is removed.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import ibis
import ibis.expr.types as ir
import pytest

from segmint.core.schema import CANONICAL
from segmint.core.traits import default_catalog, trait_table

from .known_gaps import ENGINES, KNOWN_GAPS, gaps_for, keys_of
from .shop import AS_OF, CATEGORIES, shop_tables
from .support import load

HERE = Path(__file__).resolve().parent


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "engine_feature(name): the engine feature a test of tests/engines exercises; known gaps may be "
        "declared per feature (tests/engines/known_gaps.py)",
    )


def pyspark_missing() -> str | None:
    """Why PySpark cannot run here, or None."""
    if importlib.util.find_spec("pyspark") is None:
        return "PySpark is not installed (pip install 'segmint[spark]')"
    java_home = os.environ.get("JAVA_HOME")
    if not shutil.which("java") and not (java_home and (Path(java_home) / "bin" / "java").exists()):
        return "PySpark needs Java 17 and no java is on PATH or in JAVA_HOME (apt-get install openjdk-17-jre-headless)"
    return None


# The data is tiny, so what costs is Spark's overhead per stage and per query: one task slot, one shuffle
# partition, no adaptive re-planning (a union of 40 segments: 46 s with it, 18 s without) and no
# whole-stage code generation (compiling Java for each of ~40 stages of the trait query costs more than
# running them interpreted: 13 s against 9 s). Neither changes what a query means.
SPARK_OPTIONS = {
    "spark.sql.shuffle.partitions": "1",
    "spark.sql.adaptive.enabled": "false",
    "spark.sql.codegen.wholeStage": "false",
    "spark.ui.showConsoleProgress": "false",
}


def connect(engine: str, scratch: Path) -> ibis.BaseBackend:
    if engine == "duckdb":
        con = ibis.duckdb.connect()
        con.raw_sql("SET TimeZone = 'UTC'")
        return con
    if engine == "pyspark":
        reason = pyspark_missing()
        if reason:
            pytest.skip(reason)
        from segmint.adapters.engines import spark_session

        session = spark_session("local[1]", scratch / "warehouse", options=SPARK_OPTIONS)
        return ibis.pyspark.connect(session)
    raise ValueError(engine)


_PARAMS = [
    pytest.param("duckdb", id="duckdb"),
    pytest.param("pyspark", id="pyspark", marks=[pytest.mark.spark, pytest.mark.slow]),
]
assert tuple(p.values[0] for p in _PARAMS) == ENGINES


@pytest.fixture(scope="session", params=_PARAMS)
def con(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """A backend holding the canonical shop, one per engine for the whole session."""
    backend = connect(request.param, tmp_path_factory.mktemp(f"engine-{request.param}"))
    load(backend, shop_tables())
    yield backend
    if request.param == "duckdb":
        backend.disconnect()


@pytest.fixture(scope="session")
def shop_bound(con: ibis.BaseBackend) -> dict[str, ir.Table]:
    """The shop's tables on the engine, as trait and rule code takes them."""
    return {name: con.table(name) for name in (*CANONICAL, "predictions")}


@pytest.fixture(scope="session")
def traits_at_as_of(con: ibis.BaseBackend, shop_bound: dict[str, ir.Table]) -> ir.Table:
    """The trait table at AS_OF, stored on the engine as a run stores it (segments read it)."""
    expr = trait_table(shop_bound, AS_OF, default_catalog(CATEGORIES))
    return con.create_table("engine_suite_traits", expr, overwrite=True)


# ---- known gaps -----------------------------------------------------------------------------------


def _keys(item: pytest.Item, engine: str) -> set[str]:
    callspec = getattr(item, "callspec", None)
    features = {str(m.args[0]) for m in item.iter_markers("engine_feature")}
    return keys_of(getattr(item, "originalname", item.name), callspec and callspec.id, engine, features)


@pytest.hookimpl(tryfirst=True)  # before -k / -m deselect anything: every parameter is still here
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    matched: set[tuple[str, str]] = set()
    collected: set[tuple[str, str]] = set()  # (engine, test name) of every engine case collected
    for item in items:
        if HERE not in Path(item.path).parents:
            continue
        callspec = getattr(item, "callspec", None)
        engine = callspec.params.get("con") if callspec is not None else None
        if engine is None:
            continue
        collected.add((engine, getattr(item, "originalname", item.name)))
        for what, gap in gaps_for(engine, _keys(item, engine)):
            matched.add((engine, what))
            reason = f"known gap ({engine}, {what}): {gap.reason}"
            if gap.skip:
                item.add_marker(pytest.mark.skip(reason=reason))
            else:
                item.add_marker(pytest.mark.xfail(reason=reason, strict=True, raises=gap.raises))
    # A gap naming a case that does not exist (renamed, or a parameter that changed) would linger unseen:
    # when its test was collected whole (not picked by node id), it must have matched.
    picked = any("::" in str(arg) for arg in config.args)
    stale = [
        (engine, what)
        for engine, what in KNOWN_GAPS
        if (engine, what.split("[", 1)[0]) in collected and (engine, what) not in matched and not picked
    ]
    if stale:
        raise pytest.UsageError(f"tests/engines/known_gaps.py: gaps that match no collected case: {stale}")
