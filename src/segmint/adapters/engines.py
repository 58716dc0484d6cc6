"""Engines: turn an engine setting into an Ibis connection.

DuckDB (one file, embedded) is the default. PySpark runs in local mode for tests and on a cluster in
production; any other Ibis backend is reached by URL (``postgres://…``, ``clickhouse://…``). Every
engine runs in UTC so naive timestamps mean the same instant everywhere.
"""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis

from segmint.errors import SegmintError

__all__ = ["EngineError", "EngineSpec", "connect", "spark_session"]


class EngineError(SegmintError):
    """An engine cannot be reached or is not installed."""


@dataclass
class EngineSpec:
    kind: str = "duckdb"  # duckdb | pyspark | ibis
    path: str = "segmint.duckdb"  # duckdb: database file, relative to the workspace
    master: str = "local[2]"  # pyspark: master URL
    warehouse: str = "spark-warehouse"  # pyspark: where managed tables live, relative to the workspace
    url: str = ""  # ibis: a backend URL for ibis.connect
    options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> EngineSpec:
        """``duckdb``, ``duckdb:path.db``, ``pyspark``, ``pyspark:local[4]`` or a backend URL."""
        if text == "duckdb" or (text.startswith("duckdb:") and "://" not in text):
            _, _, path = text.partition(":")
            return cls(kind="duckdb", path=path or "segmint.duckdb")
        if text == "pyspark" or text.startswith("pyspark:"):
            _, _, master = text.partition(":")
            return cls(kind="pyspark", master=master or "local[2]")
        if "://" in text:
            return cls(kind="ibis", url=text)
        raise EngineError(
            f"unknown engine {text!r}: use duckdb, pyspark, or a backend URL such as postgres://…"
        )


def connect(spec: EngineSpec, root: Path, read_only: bool = False) -> ibis.BaseBackend:
    if spec.kind == "duckdb":
        path = Path(spec.path)
        if not path.is_absolute():
            path = root / path
        try:
            con = ibis.duckdb.connect(str(path), read_only=read_only)
        except Exception as exc:  # duckdb raises IOException for a locked file
            if "lock" in str(exc).lower():
                raise EngineError(
                    f"the workspace database {path} is in use by another process (for example "
                    "`segmint serve`); stop it or use its HTTP API"
                ) from None
            raise EngineError(f"cannot open {path}: {exc}") from None
        con.raw_sql("SET TimeZone = 'UTC'")
        # DuckDB draws a progress bar on stdout for long queries; it would corrupt CLI and --json output.
        con.raw_sql("SET enable_progress_bar = false")
        return con
    if spec.kind == "pyspark":
        session = spark_session(spec.master, root / spec.warehouse, spec.options, metastore=root / METASTORE)
        return ibis.pyspark.connect(session)
    if spec.kind == "ibis":
        return ibis.connect(spec.url, **spec.options)
    raise EngineError(f"unknown engine kind {spec.kind!r}")


# A workspace's Spark catalog (which tables exist, their schemas and files), kept beside the warehouse.
METASTORE = "spark-metastore"


def spark_session(
    master: str = "local[2]",
    warehouse: Path | None = None,
    options: dict | None = None,
    metastore: Path | None = None,
):
    """A Spark session set up the way Segmint needs it: UTC, ANSI off, small shuffles for local mode.

    ``metastore``: keep the catalog in an embedded Derby database there (Spark's Hive catalog), so the
    tables a command wrote are there for the next command. Spark's default catalog lives in memory and
    is gone with the process, which left a workspace's data in its warehouse folder and its tables
    unknown to the next session. Only the first session of a process is configured: Spark reuses it."""
    # Spark's Python workers must run the interpreter Segmint runs in (a venv has pandas and pyarrow;
    # the system python3 Spark would pick otherwise may not).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise EngineError(
            "the pyspark engine needs PySpark and Java 17: pip install 'segmint[spark]'"
        ) from None
    builder = (
        SparkSession.builder.master(master)
        .appName("segmint")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.ansi.enabled", "false")
        .config("spark.driver.memory", "2g")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.ui.showConsoleProgress", "false")  # it draws on the terminal, under --json too
    )
    if metastore is not None:
        metastore.mkdir(parents=True, exist_ok=True)
        builder = (
            builder.config("spark.sql.catalogImplementation", "hive")
            .config(
                "spark.hadoop.javax.jdo.option.ConnectionURL",
                f"jdbc:derby:;databaseName={metastore / 'db'};create=true",
            )
            # Derby's log goes beside its database, not into the current folder.
            .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={metastore}")
        )
    active = SparkSession.getActiveSession()
    if active is not None and warehouse is not None:
        # Spark gives every later request the process's first session, warehouse and catalog
        # included: a second workspace would silently read and write the first one's tables.
        current = active.conf.get("spark.sql.warehouse.dir", "") or ""
        current = current[len("file:") :] if current.startswith("file:") else current
        if Path(current).resolve() != Path(warehouse).resolve():
            raise EngineError(
                f"this process already runs Spark for another workspace (warehouse {current}); Spark "
                f"keeps one session per process: open {warehouse.parent} in a new process"
            )
    if warehouse is None:
        # Without a workspace, managed tables go to a private temporary folder: Spark's default is
        # ./spark-warehouse, where a leftover from an earlier run makes CREATE TABLE fail.
        warehouse = Path(tempfile.mkdtemp(prefix="segmint-spark-"))
    builder = builder.config("spark.sql.warehouse.dir", str(warehouse))
    for key, value in (options or {}).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()
