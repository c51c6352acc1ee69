"""The peers of the benchmark implement the same plan as the engine, to the cent.

On a tiny ``icm synth`` company (seconds), the engine (``pipeline.run`` + ``write``, what
``icm run`` publishes), the hand-written DuckDB SQL peer and the hand-written pandas peer pay
every participant, period, plan and line the same earned, adjustment, draw and payable cents.
The data is checked to exercise what the plan is about (splits, returns, JPY pay, caps, plan
caps, draws, negative earnings, every plan), so that agreement is not agreement on zeros.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from benchmarks.peers import duckdb_peer, io_floor, pandas_peer, run
from engine import pipeline
from engine.synth import synthesize

KEYS = ["participant_id", "period", "plan_id", "component"]
MONEY = ["earned_cents", "adjustments_cents", "draw_cents", "payable_cents"]


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Synth data, the engine's published run and both peers' outputs."""
    root = tmp_path_factory.mktemp("peers")
    data = root / "data"
    synthesize(data, "XS", seed=7, transactions=6000, participants=240)
    result = pipeline.run(data, run.PLAN)
    engine = pipeline.write(result, root / "engine")
    duckdb_peer.run(data, root / "duckdb", threads=1)
    payouts = pandas_peer.calculate(data)[2]
    (root / "pandas").mkdir()
    payouts.to_parquet(root / "pandas" / "payouts.parquet", index=False)
    return {"data": data, "engine": engine, "duckdb": root / "duckdb", "pandas": root / "pandas"}


def _lines(directory: Path) -> pl.DataFrame:
    return pl.read_parquet(directory / "payouts.parquet").select(*KEYS, *MONEY, "currency")


def test_the_data_exercises_the_plan(outputs: dict[str, Path]) -> None:
    data, engine = outputs["data"], outputs["engine"]
    tx = pl.read_parquet(data / "transactions.parquet")
    assert tx.filter(pl.col("original_transaction_id").is_not_null()).height > 0  # returns
    assert pl.read_parquet(data / "transaction_sellers.parquet").height > 0  # splits
    pay = _lines(engine)
    adjustments = pl.read_parquet(engine / "adjustments.parquet")["type"].unique().to_list()
    assert {"cap_excess", "plan_cap_excess"} <= set(adjustments)
    assert pay.filter(pl.col("draw_cents") > 0).height > 0
    assert pay.filter(pl.col("earned_cents") < 0).height > 0  # a month of net returns
    assert set(pay["plan_id"]) == {"AE", "SDR", "RENEWAL", "PARTNER", "MANAGER"}
    assert "JPY" in set(pay["currency"])
    assert pay.filter(pl.col("component") == "override", pl.col("earned_cents") > 0).height > 0


@pytest.mark.parametrize("peer", ["duckdb", "pandas"])
def test_peer_pays_every_line_like_the_engine(outputs: dict[str, Path], peer: str) -> None:
    engine, other = _lines(outputs["engine"]), _lines(outputs[peer])
    joined = engine.join(other, on=KEYS, how="full", coalesce=True, suffix="_peer")
    differ = joined.filter(
        pl.any_horizontal([pl.col(c).ne_missing(pl.col(f"{c}_peer")) for c in [*MONEY, "currency"]])
    )
    assert engine.height > 1000
    assert differ.height == 0, f"{peer} differs from the engine:\n{differ.head(10)}"


@pytest.mark.parametrize("peer", ["duckdb", "pandas"])
def test_run_check_agreement_accepts_equal_and_rejects_a_cent(
    outputs: dict[str, Path], peer: str, tmp_path: Path
) -> None:
    work = tmp_path
    (work / "engine").mkdir()
    (work / "engine" / "current").symlink_to(outputs["engine"])
    (work / peer).symlink_to(outputs[peer])
    assert run.check_agreement(work, [peer])[peer] > 0
    changed = _lines(outputs[peer])
    changed = changed.with_columns(
        pl.when(pl.int_range(pl.len()) == changed.height // 2)
        .then(pl.col("payable_cents") + 1)
        .otherwise(pl.col("payable_cents"))
        .alias("payable_cents")
    )
    (work / peer).unlink()
    (work / peer).mkdir()
    changed.write_parquet(work / peer / "payouts.parquet")
    with pytest.raises(SystemExit):
        run.check_agreement(work, [peer])


def test_io_floor_writes_files_the_size_of_the_engine_run(
    outputs: dict[str, Path], tmp_path: Path
) -> None:
    tables = io_floor.read_inputs(outputs["data"])
    assert tables["transactions"].height == 6000
    rows = io_floor.write_like(tables, outputs["engine"], tmp_path)
    engine_files = sorted(p.name for p in outputs["engine"].glob("*.parquet"))
    assert sorted(p.name for p in tmp_path.glob("*.parquet")) == engine_files
    total = 0
    for name in engine_files:
        ours, theirs = pl.read_parquet(tmp_path / name), pl.read_parquet(outputs["engine"] / name)
        assert ours.schema == theirs.schema, name
        assert ours.height == theirs.height, name
        total += theirs.height
    assert rows == total > 6000
