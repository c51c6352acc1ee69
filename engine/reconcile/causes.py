"""The probable cause of each break, found through the lineage from credits up to payments.

Causes, from the most to the least fundamental (:data:`RANK`):

* ``data``: a participant one side lacks entirely, or a transaction one side never credited;
* ``timing``: a transaction counted in different periods by the two sides;
* ``crediting``: the same transaction credited to other participants or with other shares;
* ``rate``: the same measure (and credits) on both sides, a different incentive or payment;
* ``rounding``: both sides have the line and differ by at most the rounding unit (a payment:
  the unit times its number of components).

Credit breaks are classified first; a participant-period inherits the most fundamental cause of
its credit breaks, and its measure, incentive and payment breaks take that cause (after the
``data`` and ``rounding`` tests on their own row). A measure break without a credit break is
``crediting`` (the credits behind it differ though the vendor did not export them); an
incentive break whose measures and credits agree is ``rate``; a payment break whose credits
and measures agree takes its components' cause, else ``rate`` (adjustments, caps or draws).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import polars as pl

if TYPE_CHECKING:
    from engine.reconcile.compare import Tolerance

RANK = {"rounding": 0, "rate": 1, "crediting": 2, "timing": 3, "data": 4}
"""Causes by how fundamental they are: a participant-period takes its highest."""
_NAME = {v: k for k, v in RANK.items()}
_PP = ["participant_id", "period"]
_SHOWN = 5


def money_text(cents: pl.Expr) -> pl.Expr:
    """Cents as a decimal text, exactly (no float).

    Example:
        >>> pl.select(money_text(pl.lit(-1205))).item(), pl.select(money_text(pl.lit(7))).item()
        ('-12.05', '0.07')
    """
    sign = pl.when(cents < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    whole = (cents.abs() // 100).cast(pl.Utf8)
    frac = (cents.abs() % 100).cast(pl.Utf8).str.zfill(2)
    return pl.concat_str([sign, whole, pl.lit("."), frac])


def _people(
    grains: dict[str, pl.DataFrame], names: tuple[str, ...], wanted: pl.DataFrame, flag: str
) -> pl.DataFrame:
    parts = [grains[g].select("participant_id").join(wanted, on="participant_id", how="semi")
             for g in names]  # fmt: skip
    return pl.concat(parts).unique().with_columns(pl.lit(True).alias(flag))


def _tx_periods(credit: pl.DataFrame, wanted: pl.DataFrame, name: str) -> pl.DataFrame:
    return (
        credit.join(wanted, on="transaction_id", how="semi")
        .group_by("transaction_id")
        .agg(pl.col("period").unique().sort().str.join(", ").alias(name))
    )


def _cause(rank: pl.Expr) -> pl.Expr:
    return rank.replace_strict(_NAME, default=None, return_dtype=pl.Utf8)


def _credit(
    rows: pl.DataFrame, ours: pl.DataFrame, theirs: pl.DataFrame, unit: int
) -> pl.DataFrame:
    wanted = rows.select("transaction_id").unique()
    rows = rows.join(_tx_periods(ours, wanted, "tx_ours"), on="transaction_id", how="left").join(
        _tx_periods(theirs, wanted, "tx_theirs"), on="transaction_id", how="left"
    )
    tx = pl.col("transaction_id")
    both = pl.col("ours_cents").is_not_null() & pl.col("theirs_cents").is_not_null()
    pairs = [
        (pl.col("missing_person"), pl.lit(RANK["data"]), pl.col("person_detail")),
        (
            pl.col("tx_theirs").is_null(),
            pl.lit(RANK["data"]),
            pl.format("transaction {} missing from theirs", tx),
        ),
        (
            pl.col("tx_ours").is_null(),
            pl.lit(RANK["data"]),
            pl.format("transaction {} missing from ours", tx),
        ),
        (
            both & (pl.col("difference_cents").abs() <= unit),
            pl.lit(RANK["rounding"]),
            pl.lit("difference within the rounding unit"),
        ),
        (
            pl.col("tx_ours") != pl.col("tx_theirs"),
            pl.lit(RANK["timing"]),
            pl.format("{} counted in {} by ours, {} by theirs", tx, "tx_ours", "tx_theirs"),
        ),
    ]
    other = (
        RANK["crediting"],
        pl.format(
            "{} credited {} by ours, {} by theirs",
            tx,
            money_text(pl.col("ours_cents").fill_null(0)),
            money_text(pl.col("theirs_cents").fill_null(0)),
        ),
    )
    return _apply(rows, pairs, other).drop("tx_ours", "tx_theirs")


def _apply(
    rows: pl.DataFrame, pairs: list[tuple[pl.Expr, pl.Expr, pl.Expr]], other: tuple[int, pl.Expr]
) -> pl.DataFrame:
    rank: Any = pl
    detail: Any = pl
    for cond, r, d in pairs:
        rank = rank.when(cond).then(r)
        detail = detail.when(cond).then(d)
    return rows.with_columns(
        rank.otherwise(pl.lit(other[0])).cast(pl.Int32).alias("rank"),
        detail.otherwise(other[1]).alias("detail"),
    )


def _pp_credit(credit: pl.DataFrame) -> pl.DataFrame:
    label = pl.format("{} ({})", "transaction_id", _cause(pl.col("rank")))
    found = credit.filter(pl.col("rank") > RANK["rounding"]).sort("transaction_id")
    return found.group_by(_PP).agg(
        pl.col("rank").max().alias("pp_rank"),
        pl.format(
            "credits differ: {}{}",
            label.head(_SHOWN).str.join(", "),
            pl.when(pl.len() > _SHOWN)
            .then(pl.format(" and {} more", pl.len() - _SHOWN))
            .otherwise(pl.lit("")),
        ).alias("pp_detail"),
    )


def attach_causes(
    rows: pl.DataFrame,
    ours: dict[str, pl.DataFrame],
    theirs: dict[str, pl.DataFrame],
    grains: tuple[str, ...],
    tol: Tolerance,
) -> pl.DataFrame:
    """Add ``cause`` and ``detail`` to every break.

    Args:
        rows: the breaks of every grain (:func:`engine.reconcile.compare.compare_grain`,
            matches left out).
        ours: our grain frames.
        theirs: the vendor's grain frames.
        grains: the grains compared.
        tol: the rounding unit is read from it.

    Returns:
        The breaks, in no particular order, with ``cause`` and ``detail``.
    """
    unit = tol.rounding_unit_cents
    if not grains:
        return rows.with_columns(
            pl.lit(None, pl.Utf8).alias("cause"), pl.lit(None, pl.Utf8).alias("detail")
        )
    work = rows
    who = work.select("participant_id").unique()
    work = (
        work.join(_people(ours, grains, who, "p_ours"), on="participant_id", how="left")
        .join(_people(theirs, grains, who, "p_theirs"), on="participant_id", how="left")
        .with_columns(
            (pl.col("p_ours").is_null() | pl.col("p_theirs").is_null()).alias("missing_person"),
            pl.when(pl.col("p_theirs").is_null())
            .then(pl.format("participant {} missing from theirs", "participant_id"))
            .otherwise(pl.format("participant {} missing from ours", "participant_id"))
            .alias("person_detail"),
        )
    )
    done: list[pl.DataFrame] = []
    grain = pl.col("grain")
    pp = pl.DataFrame(schema={"participant_id": pl.Utf8, "period": pl.Utf8, "pp_rank": pl.Int32,
                              "pp_detail": pl.Utf8})  # fmt: skip
    if "credit" in grains:
        credit = _credit(work.filter(grain == "credit"), ours["credit"], theirs["credit"], unit)
        done.append(credit)
        pp = _pp_credit(credit)
    upper = work.filter(grain != "credit").join(pp, on=_PP, how="left")
    incentive_keys = (
        pl.concat([f["incentive"].select(*_PP, "component") for f in (ours, theirs)]).unique()
        if "incentive" in grains
        else pl.DataFrame(schema={"participant_id": pl.Utf8, "period": pl.Utf8})
    )
    n_lines = (
        incentive_keys.join(work.filter(grain == "payment").select(_PP), on=_PP, how="semi")
        .group_by(_PP)
        .agg(pl.len().cast(pl.Int64).alias("n_lines"))
    )
    measure_pp = (
        upper.filter(grain == "measure")
        .filter(~((pl.col("difference_cents").abs() <= unit) & _both()))
        .select(_PP)
        .unique()
        .with_columns(pl.lit(True).alias("measure_break"))
    )
    upper = (
        upper.join(n_lines, on=_PP, how="left")
        .join(measure_pp, on=_PP, how="left")
        .with_columns(pl.col("measure_break").fill_null(False), pl.col("n_lines").fill_null(1))
    )
    person = (pl.col("missing_person"), pl.lit(RANK["data"]), pl.col("person_detail"))
    from_pp = (pl.col("pp_rank").is_not_null(), pl.col("pp_rank"), pl.col("pp_detail"))
    rounding = pl.lit("difference within the rounding unit")
    one_sided = pl.lit("a line one side lacks")
    measured = (
        pl.col("measure_break"),
        pl.lit(RANK["crediting"]),
        pl.lit("measures differ (credits not compared or equal)"),
    )
    small = _both() & (pl.col("difference_cents").abs() <= unit)
    measure = _apply(
        upper.filter(grain == "measure"),
        [person, (small, pl.lit(RANK["rounding"]), rounding), from_pp,
         (~_both(), pl.lit(RANK["data"]), one_sided)],
        (RANK["crediting"], pl.lit("measure differs; the credits were not compared")),
    )  # fmt: skip
    incentive = _apply(
        upper.filter(grain == "incentive"),
        [person, (small, pl.lit(RANK["rounding"]), rounding), from_pp, measured,
         (~_both(), pl.lit(RANK["data"]), one_sided)],
        (RANK["rate"], pl.lit("same measures and credits, different incentive")),
    )  # fmt: skip
    comp = incentive.group_by(_PP).agg(pl.col("rank").max().alias("comp_rank"))
    pay_small = _both() & (pl.col("difference_cents").abs() <= unit * pl.col("n_lines"))
    payment = _apply(
        upper.filter(grain == "payment").join(comp, on=_PP, how="left"),
        [person, (pay_small, pl.lit(RANK["rounding"]), rounding), from_pp, measured,
         (pl.col("comp_rank").is_not_null(), pl.col("comp_rank"),
          pl.lit("components differ (see the incentive breaks)")),
         (~_both(), pl.lit(RANK["data"]), one_sided)],
        (RANK["rate"], pl.lit("components agree; adjustments, caps or draws differ")),
    ).drop("comp_rank")  # fmt: skip
    cols = [*rows.columns, "cause", "detail"]
    return pl.concat(
        [
            f.with_columns(_cause(pl.col("rank")).alias("cause")).select(cols)
            for f in [*done, measure, incentive, payment]
        ]
    )


def _both() -> pl.Expr:
    return pl.col("ours_cents").is_not_null() & pl.col("theirs_cents").is_not_null()
