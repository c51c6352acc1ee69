"""Adjustments explained: the plan rule behind each kind, and the deals behind a clawback.

Example:
    >>> from engine.rules.plan_schema import Cap
    >>> describe_cap(Cap(multiple_of_target="2"), "component cap")
    'component cap: 2 x target incentive per period, excess lost'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import polars as pl

if TYPE_CHECKING:
    from engine.pipeline import RunResult

__all__ = ["CLAWBACK_SCHEMA", "adjustment_rules", "clawback_deals", "describe_cap"]

CLAWBACK_SCHEMA = {
    "participant_id": pl.Utf8,
    "period": pl.Utf8,
    "plan_id": pl.Utf8,
    "component": pl.Utf8,
    "transaction_id": pl.Utf8,
    "original_transaction_id": pl.Utf8,
    "return_cents": pl.Int64,
    "original_cents": pl.Int64,
    "original_period": pl.Utf8,
    "original_line_e8": pl.Int64,
    "percent": pl.Utf8,
}


def describe_cap(cap: Any, what: str) -> str:
    """A cap or floor rule in words."""
    if getattr(cap, "amount", None) is not None:
        size = f"{cap.amount}"
    else:
        size = f"{cap.multiple_of_target} x target incentive"
    window = "per period" if cap.window == "period" else "year to date"
    excess = getattr(cap, "excess", None)
    tail = f", excess {excess.replace('_', ' ')}" if excess else ""
    return f"{what}: {size} {window}{tail}"


def adjustment_rules(result: RunResult) -> pl.DataFrame:
    """``plan_id, component, type, rule``: the rule text behind each adjustment kind."""
    rows: list[dict[str, str]] = []
    for plan in result.ruleset.plans:
        for comp in plan.components:
            cap = getattr(comp, "cap", None)
            if cap is not None:
                for kind in ("cap_excess", "cap_carry_in"):
                    rows.append(
                        {
                            "plan_id": plan.id,
                            "component": comp.name,
                            "type": kind,
                            "rule": describe_cap(cap, "component cap"),
                        }
                    )
            floor = getattr(comp, "floor", None)
            if floor is not None:
                rows.append(
                    {
                        "plan_id": plan.id,
                        "component": comp.name,
                        "type": "floor",
                        "rule": describe_cap(floor, "component floor"),
                    }
                )
        caps = "; ".join(describe_cap(c, "plan cap") for c in plan.caps)
        floors = "; ".join(describe_cap(f, "plan floor") for f in plan.floors)
        for kind, text in (
            ("plan_cap_excess", caps),
            ("plan_cap_carry_in", caps),
            ("plan_floor", floors),
        ):
            if text:
                rows.append({"plan_id": plan.id, "component": "(plan)", "type": kind, "rule": text})
        if plan.guarantee is not None:
            rows.append(
                {
                    "plan_id": plan.id,
                    "component": "(plan)",
                    "type": "guarantee",
                    "rule": f"guarantee {plan.guarantee.model_dump(exclude_none=True)}",
                }
            )
        if plan.clawback is not None:
            cb = plan.clawback
            text = (
                f"clawback: a return within {cb.window_days} days of the original deal reverses "
                f"{cb.percent * 100:.4g}% of the deal's commission"
            )
            comps = cb.components or [c.name for c in plan.components]
            rows.extend(
                {"plan_id": plan.id, "component": c, "type": "clawback", "rule": text}
                for c in comps
            )
    schema = {"plan_id": pl.Utf8, "component": pl.Utf8, "type": pl.Utf8, "rule": pl.Utf8}
    return pl.DataFrame(rows, schema=schema).unique(
        ["plan_id", "component", "type"], keep="first", maintain_order=True
    )


def clawback_deals(result: RunResult, adjustments: pl.DataFrame) -> pl.DataFrame:
    """The returns behind each clawback adjustment, with their original deal's line earnings.

    One row per (clawback adjustment, return credit): the return's credited amount, the
    original's credited amount and period, and what the original line earned
    (``original_line_e8``, from ``incentive_lines``). The clawback reverses
    ``|return| / original x original_line x percent`` (capped at what the deal paid).
    """
    claws = adjustments.filter(pl.col("type") == "clawback").select(
        "participant_id", "period", "plan_id", "component"
    )
    if claws.height == 0:
        return pl.DataFrame(schema=CLAWBACK_SCHEMA)
    tx = result.dataset.tables["transactions"]
    if "original_transaction_id" not in tx.columns:
        return pl.DataFrame(schema=CLAWBACK_SCHEMA)
    level0 = result.credits.credits.filter(pl.col("level") == 0).join(
        claws.select("participant_id").unique(), on="participant_id", how="semi"
    )
    returns = level0.join(
        tx.select("transaction_id", "original_transaction_id").filter(
            pl.col("original_transaction_id").is_not_null()
        ),
        on="transaction_id",
    ).filter(pl.col("amount_cents") < 0)
    originals = level0.select(
        "participant_id",
        pl.col("transaction_id").alias("original_transaction_id"),
        pl.col("amount_cents").alias("original_cents"),
    ).unique(["participant_id", "original_transaction_id"], keep="first")
    lines = result.calc.incentive_lines.select(
        "participant_id",
        "plan_id",
        "component",
        pl.col("transaction_id").alias("original_transaction_id"),
        pl.col("period").alias("original_period"),
        pl.col("line_e8").alias("original_line_e8"),
    )
    percent = {p.id: str(p.clawback.percent) for p in result.ruleset.plans if p.clawback}
    out = (
        claws.join(
            returns.select(
                "participant_id",
                "period",
                "transaction_id",
                "original_transaction_id",
                pl.col("amount_cents").alias("return_cents"),
            ),
            on=["participant_id", "period"],
        )
        .join(originals, on=["participant_id", "original_transaction_id"], how="left")
        .join(
            lines,
            on=["participant_id", "plan_id", "component", "original_transaction_id"],
            how="left",
        )
        .with_columns(
            pl.col("plan_id")
            .replace_strict(percent, default=None, return_dtype=pl.Utf8)
            .alias("percent")
        )
    )
    return out.select(list(CLAWBACK_SCHEMA)).sort(
        "participant_id", "period", "plan_id", "component", "transaction_id"
    )
