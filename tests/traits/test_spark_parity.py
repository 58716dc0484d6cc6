"""The same trait definitions give the same values on DuckDB and on PySpark, for every trait."""

from __future__ import annotations

import math

import pytest

from segmint.core.traits import default_catalog, trait_table

from .fixture import B, T, arrow_tables

pytestmark = [pytest.mark.slow, pytest.mark.spark]

CATEGORIES = ["Shoes", "Home & Garden"]


@pytest.fixture(scope="module")
def spark_tables():
    pytest.importorskip("pyspark")
    import ibis

    from segmint.adapters.engines import spark_session

    session = spark_session("local[1]", options={"spark.sql.shuffle.partitions": "1"})
    con = ibis.pyspark.connect(session)
    tables = {}
    for name, table in arrow_tables().items():
        frame = session.createDataFrame(table.to_pandas(), schema=_spark_schema(table.schema))
        view = f"traits_parity_{name}"
        frame.createOrReplaceTempView(view)
        tables[name] = con.table(view)
    return tables


def _spark_schema(schema):
    from pyspark.sql import types as st

    mapping = {
        "string": st.StringType(),
        "large_string": st.StringType(),
        "double": st.DoubleType(),
        "int64": st.LongType(),
        "bool": st.BooleanType(),
        "date32[day]": st.DateType(),
        "timestamp[us]": st.TimestampNTZType(),
        "timestamp[ns]": st.TimestampNTZType(),
    }
    fields = []
    for field in schema:
        key = str(field.type)
        spark_type = mapping.get(key) or st.ArrayType(st.StringType())
        fields.append(st.StructField(field.name, spark_type, True))
    return st.StructType(fields)


@pytest.fixture(scope="module")
def duck_tables(tmp_path_factory):
    from segmint.adapters.workspace import Workspace

    from .fixture import load

    ws = Workspace.init(tmp_path_factory.mktemp("parity") / "shop")
    load(ws)
    yield ws.tables()
    ws.close()


def _rows(tables, as_of):
    table = trait_table(tables, as_of, default_catalog(CATEGORIES))
    frame = table.to_pyarrow().to_pylist()
    return {r["customer_id"]: r for r in frame}


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
    return a == b


@pytest.mark.parametrize("as_of", [T, B], ids=["T", "B"])
def test_every_trait_agrees_between_duckdb_and_spark(duck_tables, spark_tables, as_of):
    duck = _rows(duck_tables, as_of)
    spark = _rows(spark_tables, as_of)
    assert sorted(duck) == sorted(spark)
    names = default_catalog(CATEGORIES).names
    diffs = [
        (cid, name, duck[cid][name], spark[cid][name])
        for cid in duck
        for name in names
        if not _same(duck[cid][name], spark[cid][name])
    ]
    assert not diffs
