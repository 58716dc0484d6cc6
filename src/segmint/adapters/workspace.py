"""A workspace is a folder: ``segmint.toml`` (settings), ``segments/`` (segments as code) and the
engine's data (by default the embedded DuckDB file ``segmint.duckdb``)."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import ibis

from segmint.adapters.engines import EngineSpec, connect
from segmint.adapters.migrations import migrate
from segmint.adapters.store import TableStore
from segmint.core.schema import CANONICAL, DERIVED, TableSpec
from segmint.errors import SegmintError

__all__ = ["CONFIG_FILE", "Workspace", "WorkspaceError", "find_root"]

CONFIG_FILE = "segmint.toml"

DEFAULT_CONFIG = """\
# Segmint workspace settings.
[workspace]
name = "{name}"
currency = "USD"

[engine]
# duckdb (embedded, default), pyspark, or ibis (any Ibis backend by URL).
kind = "{kind}"
path = "segmint.duckdb"
# master = "local[2]"          # pyspark
# url = "postgres://user@host/db"  # ibis
"""


class WorkspaceError(SegmintError):
    """A workspace is missing or misconfigured. The message says what to do."""


def find_root(start: str | os.PathLike | None = None) -> Path:
    """The workspace folder: ``start`` if given, else ``$SEGMINT_WORKSPACE``, else the current folder."""
    if start is None:
        start = os.environ.get("SEGMINT_WORKSPACE") or Path.cwd()
    return Path(start).expanduser().resolve()


class Workspace:
    """An open workspace: its settings, its engine connection and its tables."""

    def __init__(self, root: Path, config: dict[str, Any], engine: EngineSpec, read_only: bool = False):
        self.root = root
        self.config = config
        self.engine = engine
        self.read_only = read_only
        self.con: ibis.BaseBackend = connect(engine, root, read_only=read_only)
        self.store = TableStore(self.con)
        if not read_only:
            self.store.ensure(self.table_specs())
            migrate(self.store)

    # -- lifecycle ----------------------------------------------------------------------------------
    @classmethod
    def init(cls, root: str | os.PathLike, engine: str | None = None, name: str | None = None) -> Workspace:
        root = Path(root).expanduser().resolve()
        root.mkdir(parents=True, exist_ok=True)
        (root / "segments").mkdir(exist_ok=True)
        config_path = root / CONFIG_FILE
        spec = EngineSpec.parse(engine) if engine else EngineSpec()
        if not config_path.exists():
            config_path.write_text(DEFAULT_CONFIG.format(name=name or root.name, kind=spec.kind))
        return cls.open(root, engine=engine)

    @classmethod
    def open(
        cls, root: str | os.PathLike | None = None, engine: str | None = None, read_only: bool = False
    ) -> Workspace:
        root = find_root(root)
        config_path = root / CONFIG_FILE
        if not config_path.exists():
            raise WorkspaceError(
                f"{root} is not a Segmint workspace (no {CONFIG_FILE}): run `segmint init {root}` "
                "or pass --workspace DIR"
            )
        try:
            config = tomllib.loads(config_path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise WorkspaceError(f"{config_path}: {exc}") from None
        spec = _engine_spec(config.get("engine", {}))
        if engine:
            override = EngineSpec.parse(engine)
            _refuse_empty_engine(root, spec, override)
            spec = override
        return cls(root, config, spec, read_only=read_only)

    def close(self) -> None:
        disconnect = getattr(self.con, "disconnect", None)
        if disconnect is not None:
            disconnect()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- tables -------------------------------------------------------------------------------------
    def table_specs(self) -> list[TableSpec]:
        # Derived tables of later modules register themselves in DERIVED when imported.
        return [*CANONICAL.values(), *DERIVED.values()]

    def table(self, name: str) -> ibis.Table:
        return self.con.table(name)

    def tables(self) -> Mapping[str, ibis.Table]:
        """The canonical tables, bound to this workspace's engine."""
        return {name: self.con.table(name) for name in CANONICAL}

    def count(self, name: str) -> int:
        return self.store.count(name)

    @property
    def segments_dir(self) -> Path:
        return self.root / "segments"

    def setting(self, section: str, key: str, default: Any = None) -> Any:
        return self.config.get(section, {}).get(key, default)


def _storage(root: Path, spec: EngineSpec) -> tuple[Path | None, bool]:
    """Where an engine keeps this workspace's tables, and whether it holds any (None: not a local
    path, e.g. a backend URL, which is not checked)."""
    if spec.kind == "duckdb":
        path = Path(spec.path) if Path(spec.path).is_absolute() else root / spec.path
        return path, path.is_file() and path.stat().st_size > 0
    if spec.kind == "pyspark":
        warehouse = root / spec.warehouse
        return warehouse, (warehouse / "customers").is_dir()
    return None, True


def _refuse_empty_engine(root: Path, configured: EngineSpec, override: EngineSpec) -> None:
    """``--engine`` naming another engine than the workspace's reads that engine's storage: if it holds
    nothing, every command would answer for an empty shop (a count of 0, not an error). Say so."""
    if override.kind == configured.kind:
        return
    where, held = _storage(root, override)
    if held or where is None:
        return
    home, _ = _storage(root, configured)
    raise WorkspaceError(
        f"this workspace keeps its data in {configured.kind} ({home}); --engine {override.kind} would "
        f"read {where}, which holds no Segmint tables, and see an empty shop. Drop --engine to use the "
        f"workspace's own engine, or use a workspace made for {override.kind} "
        f"(`segmint init DIR --engine {override.kind}`) and load the data into it."
    )


def _engine_spec(section: Mapping[str, Any]) -> EngineSpec:
    known = {"kind", "path", "master", "warehouse", "url"}
    spec = EngineSpec(**{k: v for k, v in section.items() if k in known})
    spec.options = {k: v for k, v in section.items() if k not in known}
    return spec
