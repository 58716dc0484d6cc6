"""Parquet output: layout, exact canonical schemas, determinism by seed, loading into a workspace."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from segmint.cli.main import main
from segmint.core.synth import arrow_schema
from segmint.demo.generate import GenerateError, generate_shop, generated_end, load_generated

TABLES = ("customers", "products", "orders", "order_lines", "events", "identities", "personas")


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_layout_and_schemas(generated: Path) -> None:
    meta = json.loads((generated / "meta.json").read_text())
    assert meta["seed"] == 3 and meta["customers"] == 1500 and meta["blocks"] == 2
    for name in ("orders", "order_lines", "events"):
        parts = sorted((generated / name).glob("part-*.parquet"))
        assert [p.name for p in parts] == ["part-00000.parquet", "part-00001.parquet"]
    for name in TABLES:
        path = generated / f"{name}.parquet"
        dataset = pq.read_table(path if path.exists() else generated / name)
        assert dataset.schema.remove_metadata().equals(arrow_schema(name)), name
        assert dataset.num_rows == meta["counts"][name], name
    assert meta["counts"]["customers"] == 1500
    assert meta["counts"]["products"] == 2000


def test_same_seed_gives_identical_bytes_whatever_the_workers(tmp_path: Path, generated: Path) -> None:
    again = tmp_path / "again"
    generate_shop(again, 1500, seed=3, workers=2, block_size=800)
    assert _digest(again) == _digest(generated)


def test_other_seed_gives_other_data(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    generate_shop(a, 300, seed=1, workers=1)
    generate_shop(b, 300, seed=2, workers=1)
    assert _digest(a)["customers.parquet"] != _digest(b)["customers.parquet"]
    assert _digest(a)["products.parquet"] != _digest(b)["products.parquet"]


def test_regenerating_into_the_same_folder_replaces_old_parts(tmp_path: Path) -> None:
    out = tmp_path / "shop"
    generate_shop(out, 1200, seed=1, workers=1, block_size=500)
    assert len(list((out / "orders").glob("*.parquet"))) == 3
    generate_shop(out, 400, seed=1, workers=1, block_size=500)
    assert len(list((out / "orders").glob("*.parquet"))) == 1
    assert pq.read_table(out / "customers.parquet").num_rows == 400


def test_generated_end_is_the_period_end(generated: Path, tmp_path: Path) -> None:
    assert generated_end(generated) == datetime(2025, 12, 31, 23, 59, 59)
    out = tmp_path / "short"
    generate_shop(out, 200, seed=0, start="2025-01-01", end="2025-06-30", workers=1)
    assert generated_end(out) == datetime(2025, 6, 30, 23, 59, 59)
    orders = pq.read_table(out / "orders").column("ordered_at").to_pylist()
    assert min(orders) >= datetime(2025, 1, 1) and max(orders) <= datetime(2025, 6, 30, 23, 59, 59)


def test_bad_settings_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(GenerateError, match="at least 1"):
        generate_shop(tmp_path / "x", 0)
    with pytest.raises(GenerateError, match="cannot read '2025-02-30'"):
        generate_shop(tmp_path / "x", 10, start="2025-02-30")
    with pytest.raises(GenerateError, match="too short"):
        generate_shop(tmp_path / "x", 10, start="2025-12-01", end="2025-12-31")
    with pytest.raises(GenerateError, match="not a generated shop"):
        generated_end(tmp_path)


def test_load_generated_loads_every_table_once(workspace, generated: Path) -> None:
    meta = json.loads((generated / "meta.json").read_text())
    loaded = load_generated(workspace, generated)
    assert loaded == {name: meta["counts"][name] for name in TABLES}
    for name in TABLES:
        assert workspace.count(name) == meta["counts"][name], name
    # Loading by key: a second load changes nothing.
    load_generated(workspace, generated)
    for name in TABLES:
        assert workspace.count(name) == meta["counts"][name], name
    spent = workspace.table("orders").total.sum().to_pyarrow().as_py()
    expected = pq.read_table(generated / "orders").column("total").to_numpy().sum()
    assert spent == pytest.approx(expected)


def test_load_refuses_a_folder_without_meta(workspace, tmp_path: Path) -> None:
    with pytest.raises(GenerateError, match="segmint generate"):
        load_generated(workspace, tmp_path)
    assert workspace.count("customers") == 0


def test_cli_generate_json(tmp_path: Path, capsys) -> None:
    out = tmp_path / "cli"
    main(["--json", "generate", "--customers", "250", "--out", str(out), "--seed", "4", "--workers", "1"])
    result = json.loads(capsys.readouterr().out)
    assert result["rows.customers"] == 250
    assert result["end"] == "2025-12-31T23:59:59"
    assert (out / "meta.json").is_file()
    with pytest.raises(SystemExit) as exc:
        main(["--json", "generate", "--customers", "10", "--out", str(out), "--end", "someday"])
    assert exc.value.code == 2
    assert "cannot read 'someday'" in capsys.readouterr().out
