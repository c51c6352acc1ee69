"""The files are exact: money text, Parquet decimals, and both read identically by the loader."""

from __future__ import annotations

import polars as pl
import pyarrow.parquet as pq
from polars.testing import assert_frame_equal

from engine.contract import TABLES
from engine.loading import load_dataset
from tests.synth.conftest import Company, read_table


def test_csv_money_is_exact_decimal_text(company: Company) -> None:
    tx = pl.read_csv(company.csv / "transactions.csv", infer_schema=False)
    yen = tx.filter(pl.col("currency") == "JPY")["amount"]
    cents = tx.filter(pl.col("currency") != "JPY")["amount"]
    assert yen.len() > 0
    assert yen.str.contains(r"^-?\d+$").all()
    assert cents.str.contains(r"^-?\d+\.\d{2}$").all()
    shares = pl.read_csv(company.csv / "transaction_sellers.csv", infer_schema=False)["share"]
    assert shares.str.contains(r"^0\.\d{1,2}$").all()


def test_parquet_columns_are_typed_exactly(company: Company) -> None:
    schema = pq.read_schema(company.parquet / "transactions" / "part-00000.parquet")
    assert str(schema.field("amount").type) == "decimal128(18, 2)"
    assert str(schema.field("credit_date").type) == "date32[day]"
    assert str(schema.field("transaction_id").type) == "string"
    fx = pq.read_schema(company.parquet / "exchange_rates.parquet")
    assert str(fx.field("rate").type) == "decimal128(18, 10)"


def test_csv_and_parquet_hold_the_same_values(company: Company) -> None:
    for table in TABLES:
        assert_frame_equal(
            read_table(company.csv, table), read_table(company.parquet, table), check_exact=True
        )


def test_the_loader_accepts_every_row(company: Company) -> None:
    for data_dir in (company.parquet, company.csv):
        ds = load_dataset(data_dir)
        assert ds.rejects.height == 0, ds.rejects.head()
        assert ds.tables["transactions"].height == company.tables["transactions"].height
        assert ds.tables["transactions"]["amount_cents"].to_list() == (
            company.tables["transactions"]["amount"].to_list()
        )
