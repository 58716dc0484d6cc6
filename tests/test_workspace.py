from __future__ import annotations

import pyarrow as pa
import pytest

from segmint.adapters.workspace import Workspace, WorkspaceError
from segmint.core.schema import CANONICAL, CUSTOMERS


def test_init_creates_folder_config_and_every_canonical_table(tmp_path):
    ws = Workspace.init(tmp_path / "shop")
    assert (tmp_path / "shop" / "segmint.toml").exists()
    assert (tmp_path / "shop" / "segments").is_dir()
    assert (tmp_path / "shop" / "segmint.duckdb").exists()
    tables = set(ws.con.list_tables())
    assert set(CANONICAL) <= tables
    for name, spec in CANONICAL.items():
        assert ws.table(name).schema().names == tuple(spec.columns)
    ws.close()


def test_open_missing_workspace_says_what_to_do(tmp_path):
    with pytest.raises(WorkspaceError, match="segmint init"):
        Workspace.open(tmp_path / "nowhere")


def _stage(ws, **columns):
    batch = pa.record_batch({k: pa.array(v, pa.string()) for k, v in columns.items()})
    return ws.store.stage([batch], batch.schema)


def test_upsert_replaces_by_key_and_keeps_columns_the_import_lacks(workspace):
    workspace.store.upsert(CUSTOMERS, _stage(workspace, customer_id=["a", "b"], email=["a@x", "b@x"]))
    workspace.store.upsert(CUSTOMERS, _stage(workspace, customer_id=["a", "c"], city=["Paris", "Lyon"]))
    rows = workspace.table("customers").select("customer_id", "email", "city").order_by("customer_id")
    got = rows.to_pyarrow().to_pylist()
    assert got == [
        {"customer_id": "a", "email": "a@x", "city": "Paris"},
        {"customer_id": "b", "email": "b@x", "city": None},
        {"customer_id": "c", "email": None, "city": "Lyon"},
    ]


def test_failed_transaction_leaves_data_unchanged(workspace):
    workspace.store.upsert(CUSTOMERS, _stage(workspace, customer_id=["a"]))
    with pytest.raises(RuntimeError), workspace.store.transaction():
        workspace.store.upsert(CUSTOMERS, _stage(workspace, customer_id=["b", "c"]))
        raise RuntimeError("import failed half way")
    assert workspace.count("customers") == 1


def test_reopen_sees_committed_data(tmp_path):
    ws = Workspace.init(tmp_path / "shop")
    ws.store.upsert(CUSTOMERS, _stage(ws, customer_id=["a"]))
    ws.close()
    with Workspace.open(tmp_path / "shop") as again:
        assert again.count("customers") == 1
