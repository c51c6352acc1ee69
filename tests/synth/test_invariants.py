"""The generated company is valid by the data contract, checked directly with Polars."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from engine.contract import TABLES
from engine.money import PPM
from tests.synth.conftest import PARTICIPANTS, TRANSACTIONS, Company

YEAR_START, YEAR_END = dt.date(2026, 1, 1), dt.date(2026, 12, 31)
FAR = dt.date(9999, 12, 31)
DATED = ["hierarchy", "territory_owners", "plan_assignments", "exchange_rates"]


def test_row_counts(company: Company) -> None:
    t = company.tables
    assert t["participants"].height == PARTICIPANTS
    assert t["transactions"].height == TRANSACTIONS
    assert t["calendar"]["period"].to_list() == [f"2026-{m:02d}" for m in range(1, 13)]


@pytest.mark.parametrize("table", list(TABLES))
def test_keys_are_unique(company: Company, table: str) -> None:
    spec = TABLES[table]
    key = [*spec.key, "valid_from"] if spec.effective_dated else list(spec.key)
    frame = company.tables[table]
    assert frame.height > 0
    assert frame.select(key).is_duplicated().sum() == 0


@pytest.mark.parametrize("table", list(TABLES))
def test_required_values_present(company: Company, table: str) -> None:
    frame = company.tables[table]
    for column in TABLES[table].columns:
        if not column.nullable:
            assert frame[column.name].null_count() == 0, column.name


@pytest.mark.parametrize("table", DATED)
def test_effective_dated_rows_do_not_overlap(company: Company, table: str) -> None:
    key = list(TABLES[table].key)
    rows = company.tables[table].sort([*key, "valid_from"])
    assert rows.filter(pl.col("valid_to") < pl.col("valid_from")).height == 0
    prev_end = pl.col("valid_to").fill_null(FAR).shift(1).over(key)
    assert rows.filter(prev_end >= pl.col("valid_from")).height == 0


def _references(company: Company) -> list[tuple[str, str, str, str]]:
    return [
        (t.name, ref.columns[0], ref.target, ref.target_columns[0])
        for t in TABLES.values()
        for ref in t.references
    ]


def test_references_resolve(company: Company) -> None:
    for table, column, target, target_column in _references(company):
        values = company.tables[table].select(pl.col(column).drop_nulls().unique())
        known = company.tables[target].select(pl.col(target_column).alias(column))
        missing = values.join(known, on=column, how="anti")
        assert missing.height == 0, (table, column, missing.head())


def _days() -> pl.DataFrame:
    return pl.DataFrame({"day": pl.date_range(YEAR_START, YEAR_END, eager=True)})


def test_every_territory_has_owners_summing_to_one_every_day(company: Company) -> None:
    owners = company.tables["territory_owners"]
    territories = company.tables["territories"].select("territory_id")
    active = (
        territories.join(_days(), how="cross")
        .join(owners, on="territory_id")
        .filter(
            (pl.col("valid_from") <= pl.col("day"))
            & (pl.col("day") <= pl.col("valid_to").fill_null(FAR))
        )
        .group_by("territory_id", "day")
        .agg(pl.col("share").sum())
    )
    assert active.height == territories.height * _days().height  # no day without an owner
    assert active.filter(pl.col("share") != PPM).height == 0


def test_about_ten_percent_of_territories_move_and_some_are_split(company: Company) -> None:
    owners = company.tables["territory_owners"]
    moved = owners.filter(pl.col("valid_to").is_not_null())["territory_id"].n_unique()
    split = owners.filter(pl.col("share") < PPM)["territory_id"].n_unique()
    n = company.tables["territories"].height
    assert 0.07 < moved / n < 0.13
    assert 0.01 < split / n < 0.08
    moves = owners.filter(pl.col("valid_to").is_not_null())["valid_to"]
    assert moves.min() >= YEAR_START
    assert moves.max() < YEAR_END


def test_split_shares_sum_to_one(company: Company) -> None:
    sellers = company.tables["transaction_sellers"]
    sums = sellers.group_by("transaction_id").agg(pl.col("share").sum(), pl.len())
    assert sums.filter(pl.col("share") != PPM).height == 0
    assert set(sums["len"].unique().to_list()) == {2, 3}


def test_each_transaction_has_exactly_one_route(company: Company) -> None:
    tx = company.tables["transactions"]
    split_ids = company.tables["transaction_sellers"].select("transaction_id").unique()
    routed = tx.join(
        split_ids.with_columns(pl.lit(1).alias("split")), on="transaction_id", how="left"
    )
    routes = (
        pl.col("territory_id").is_not_null().cast(pl.Int8)
        + pl.col("seller_id").is_not_null().cast(pl.Int8)
        + pl.col("split").is_not_null().cast(pl.Int8)
    )
    assert routed.filter(routes != 1).height == 0


def test_about_twenty_percent_of_deals_are_split(company: Company) -> None:
    tx = company.tables["transactions"]
    deals = tx.filter(~pl.col("deal_type").is_in(["meeting", "return"]))
    split = company.tables["transaction_sellers"]["transaction_id"].n_unique()
    returned_splits = (
        tx.filter(pl.col("deal_type") == "return")
        .join(company.tables["transaction_sellers"], on="transaction_id")["transaction_id"]
        .n_unique()
    )
    assert 0.17 < (split - returned_splits) / deals.height < 0.23


def test_returns_reverse_at_most_the_original_within_the_window(company: Company) -> None:
    tx = company.tables["transactions"]
    returns = tx.filter(pl.col("original_transaction_id").is_not_null())
    assert returns.height == round(TRANSACTIONS * 0.02)
    assert (returns["deal_type"] == "return").all()
    originals = tx.select(
        pl.col("transaction_id").alias("original_transaction_id"),
        pl.col("amount").alias("orig_amount"),
        pl.col("credit_date").alias("orig_date"),
        pl.col("currency").alias("orig_currency"),
        pl.col("original_transaction_id").alias("orig_is_return"),
    )
    joined = returns.join(originals, on="original_transaction_id", how="inner")
    assert joined.height == returns.height
    assert joined["original_transaction_id"].is_unique().all()  # returned at most once
    assert (joined["orig_is_return"].is_null()).all()
    assert (joined["amount"] < 0).all()
    assert (joined["orig_amount"] > 0).all()
    assert (-joined["amount"] <= joined["orig_amount"]).all()
    lag = (joined["credit_date"] - joined["orig_date"]).dt.total_days()
    assert lag.min() >= 1
    assert lag.max() <= 90
    assert (joined["currency"] == joined["orig_currency"]).all()
    assert (joined["transaction_id"] > joined["original_transaction_id"]).all()


def test_amounts_are_positive_sales_zero_meetings_and_whole_yen(company: Company) -> None:
    tx = company.tables["transactions"]
    sales = tx.filter(~pl.col("deal_type").is_in(["meeting", "return"]))
    assert (sales["amount"] >= 100).all()
    assert (tx.filter(pl.col("deal_type") == "meeting")["amount"] == 0).all()
    assert (tx.filter(pl.col("currency") == "JPY")["amount"] % 100 == 0).all()
    assert tx["credit_date"].min() >= YEAR_START
    assert tx["credit_date"].max() <= YEAR_END
    assert tx["credit_date"].dt.month().n_unique() == 12


def _employment(company: Company) -> pl.DataFrame:
    return company.tables["participants"].select(
        "participant_id", "role", "hire_date", pl.col("termination_date").fill_null(FAR)
    )


def test_named_sellers_are_employed_on_the_credit_date(company: Company) -> None:
    tx = company.tables["transactions"].filter(pl.col("deal_type") != "return")
    named = tx.select("transaction_id", "credit_date", pl.col("seller_id").alias("participant_id"))
    split = tx.select("transaction_id", "credit_date").join(
        company.tables["transaction_sellers"], on="transaction_id"
    )
    people = pl.concat([named.drop_nulls("participant_id"), split.drop("share")])
    joined = people.join(_employment(company), on="participant_id")
    assert joined.height == people.height
    bad = joined.filter(
        (pl.col("credit_date") < pl.col("hire_date"))
        | (pl.col("credit_date") > pl.col("termination_date"))
    )
    assert bad.height == 0


def test_dated_rows_lie_within_employment(company: Company) -> None:
    for table in ("hierarchy", "territory_owners", "plan_assignments"):
        joined = company.tables[table].join(_employment(company), on="participant_id")
        bad = joined.filter(
            (pl.col("valid_from") < pl.col("hire_date"))
            | (pl.col("valid_to").fill_null(FAR) > pl.col("termination_date"))
        )
        assert bad.height == 0, table


def _managers_by_day(company: Company) -> pl.DataFrame:
    h = company.tables["hierarchy"]
    days = pl.concat(
        [h.select(pl.col("valid_from").alias("day")), pl.DataFrame({"day": [YEAR_START]})]
    )
    days = days.filter(pl.col("day") >= YEAR_START).unique()
    return (
        days.join(h, how="cross")
        .filter(
            (pl.col("valid_from") <= pl.col("day"))
            & (pl.col("day") <= pl.col("valid_to").fill_null(FAR))
        )
        .select("day", "participant_id", "manager_id")
    )


def test_hierarchy_has_no_cycle_and_is_five_levels_deep(company: Company) -> None:
    edges = _managers_by_day(company)
    assert edges.select("day", "participant_id").is_duplicated().sum() == 0
    assert edges.filter(pl.col("participant_id") == pl.col("manager_id")).height == 0
    step = edges.rename({"participant_id": "manager_id", "manager_id": "next"})
    walk = edges.select("day", "participant_id", pl.col("manager_id").alias("at"))
    depth = walk.with_columns(pl.lit(0).alias("depth"))
    for _ in range(12):  # deeper than any tree: a cycle would never end
        walk = walk.join(step, left_on=["day", "at"], right_on=["day", "manager_id"]).select(
            "day", "participant_id", pl.col("next").alias("at")
        )
        depth = depth.join(
            walk.select("day", "participant_id").with_columns(pl.lit(1).alias("more")),
            on=["day", "participant_id"],
            how="left",
        ).select("day", "participant_id", "at", pl.col("depth") + pl.col("more").fill_null(0))
        if walk.height == 0:
            break
    assert walk.height == 0
    sellers = _employment(company).filter(pl.col("role").is_in(["AE", "SDR"]))
    deepest = depth.join(sellers, on="participant_id")["depth"]
    assert deepest.max() == 4  # 5 managers above a seller (depth counts steps past the first)


def test_roles_currencies_and_plans_are_plausible(company: Company) -> None:
    people = company.tables["participants"]
    share = people["role"].value_counts(normalize=True)
    sellers = share.filter(pl.col("role").is_in(["AE", "SDR"]))["proportion"].sum()
    assert 0.65 < sellers < 0.9  # ~70% at this small size (fan-out 4), ~80% at M
    usd = (people["pay_currency"] == "USD").mean()
    assert usd is not None
    assert 0.55 < usd < 0.9
    assert set(people["pay_currency"].unique()) == {"USD", "EUR", "GBP", "JPY"}
    hired = people.filter(pl.col("hire_date") >= YEAR_START).height
    left = people["termination_date"].drop_nulls().len()
    assert hired > 0
    assert left > 0
    plans = set(company.tables["plan_assignments"]["plan_id"].unique())
    assert plans == {"AE", "SDR", "MANAGER", "PARTNER", "RENEWAL"}
    assert company.tables["plan_assignments"].filter(pl.col("target_incentive") <= 0).height == 0


def test_quotas_cover_each_assigned_month(company: Company) -> None:
    plans = company.tables["plan_assignments"]
    quotas = company.tables["quotas"]
    assert set(quotas["measure"].unique()) == {"revenue", "meetings"}
    assert quotas.filter(pl.col("quota") <= 0).height == 0
    months = plans.select(
        "participant_id",
        "plan_id",
        pl.date_ranges(
            pl.col("valid_from").dt.month_start(),
            pl.col("valid_to").fill_null(YEAR_END),
            interval="1mo",
        ).alias("month"),
    ).explode("month")
    expected = months.select(
        "participant_id",
        pl.col("month").dt.strftime("%Y-%m").alias("period"),
        pl.when(pl.col("plan_id") == "SDR")
        .then(pl.lit("meetings"))
        .otherwise(pl.lit("revenue"))
        .alias("measure"),
    )
    key = ["participant_id", "period", "measure"]
    assert expected.sort(key).equals(quotas.select(key).sort(key))


def test_exchange_rates_cover_every_pair_every_month(company: Company) -> None:
    fx = company.tables["exchange_rates"]
    assert fx.height == 12 * 12
    assert fx.filter(pl.col("rate") <= 0).height == 0
    usd_eur = fx.filter((pl.col("from_currency") == "EUR") & (pl.col("to_currency") == "USD"))
    assert usd_eur["valid_from"].dt.day().unique().to_list() == [1]
    assert usd_eur["rate"].is_between(9_000_000_000, 13_000_000_000).all()
