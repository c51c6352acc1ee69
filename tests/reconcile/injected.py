"""A vendor's results derived from the sample run, with one injected difference per cause."""

from __future__ import annotations

import polars as pl

Grains = dict[str, pl.DataFrame]


def _add(frame: pl.DataFrame, where: dict[str, str], delta: int) -> pl.DataFrame:
    hit = pl.all_horizontal(pl.col(k) == v for k, v in where.items())
    out = frame.with_columns(
        pl.when(hit).then(pl.col("amount_cents") + delta).otherwise(pl.col("amount_cents"))
    )
    assert frame.filter(hit).height == 1, where
    return out


def _set_key(frame: pl.DataFrame, where: dict[str, str], **new: str) -> pl.DataFrame:
    hit = pl.all_horizontal(pl.col(k) == v for k, v in where.items())
    assert frame.filter(hit).height == 1, where
    return frame.with_columns(
        pl.when(hit).then(pl.lit(v)).otherwise(pl.col(k)).alias(k) for k, v in new.items()
    )


def _drop(frame: pl.DataFrame, where: dict[str, str]) -> pl.DataFrame:
    hit = pl.all_horizontal(pl.col(k) == v for k, v in where.items())
    assert frame.filter(hit).height >= 1, where
    return frame.filter(~hit)


def _pp(p: str, m: str, **more: str) -> dict[str, str]:
    return {"participant_id": p, "period": m, **more}


def inject(ours: Grains) -> Grains:
    """The six injected differences (see EXPECTED)."""
    g = {k: v.clone() for k, v in ours.items()}
    # 1 rounding: a cent more on P014's January commission (and payment)
    g["incentive"] = _add(g["incentive"], _pp("P014", "2026-01", component="commission"), 1)
    g["payment"] = _add(g["payment"], _pp("P014", "2026-01"), 1)
    # 2 crediting: T1002 (7,500.00) credited to P011 instead of P012
    g["credit"] = _set_key(g["credit"], _pp("P012", "2026-01", transaction_id="T1002"),
                           participant_id="P011")  # fmt: skip
    g["measure"] = _add(g["measure"], _pp("P012", "2026-01", measure="revenue"), -750000)
    g["measure"] = _add(g["measure"], _pp("P011", "2026-01", measure="revenue"), 750000)
    for p, d in (("P012", -37500), ("P011", 37500)):
        g["incentive"] = _add(g["incentive"], _pp(p, "2026-01", component="commission"), d)
        g["payment"] = _add(g["payment"], _pp(p, "2026-01"), d)
    # 3 rate: P022's February commission paid at another rate
    g["incentive"] = _add(g["incentive"], _pp("P022", "2026-02", component="commission"), 5000)
    g["payment"] = _add(g["payment"], _pp("P022", "2026-02"), 5000)
    # 4 timing: T1013 (P023, 9,000.00) counted in March instead of February
    g["credit"] = _set_key(g["credit"], _pp("P023", "2026-02", transaction_id="T1013"),
                           period="2026-03")  # fmt: skip
    for m, d in (("2026-02", -1), ("2026-03", 1)):
        g["measure"] = _add(g["measure"], _pp("P023", m, measure="revenue"), d * 900000)
        g["incentive"] = _add(g["incentive"], _pp("P023", m, component="commission"), d * 45000)
        g["payment"] = _add(g["payment"], _pp("P023", m), d * 45000)
    # 5 data: T1023 (P014, March) missing from the vendor
    g["credit"] = _drop(g["credit"], {"transaction_id": "T1023"})
    g["measure"] = _add(g["measure"], _pp("P014", "2026-03", measure="revenue"), -640075)
    g["incentive"] = _add(g["incentive"], _pp("P014", "2026-03", component="commission"), -32004)
    g["payment"] = _add(g["payment"], _pp("P014", "2026-03"), -32004)
    # 6 data: participant P030 missing from the vendor
    g = {k: _drop(v, {"participant_id": "P030"}) for k, v in g.items()}
    return {k: v.sort(v.columns[:-1]) for k, v in g.items()}


_PP3 = ["2026-01", "2026-02", "2026-03"]
EXPECTED: dict[tuple[str, str], str] = {
    ("incentive", "P014 / 2026-01 / commission"): "rounding",
    ("payment", "P014 / 2026-01"): "rounding",
    ("credit", "P012 / 2026-01 / T1002"): "crediting",
    ("credit", "P011 / 2026-01 / T1002"): "crediting",
    ("measure", "P012 / 2026-01 / revenue"): "crediting",
    ("measure", "P011 / 2026-01 / revenue"): "crediting",
    ("incentive", "P012 / 2026-01 / commission"): "crediting",
    ("incentive", "P011 / 2026-01 / commission"): "crediting",
    ("payment", "P012 / 2026-01"): "crediting",
    ("payment", "P011 / 2026-01"): "crediting",
    ("incentive", "P022 / 2026-02 / commission"): "rate",
    ("payment", "P022 / 2026-02"): "rate",
    ("credit", "P023 / 2026-02 / T1013"): "timing",
    ("credit", "P023 / 2026-03 / T1013"): "timing",
    **{("measure", f"P023 / {m} / revenue"): "timing" for m in _PP3[1:]},
    **{("incentive", f"P023 / {m} / commission"): "timing" for m in _PP3[1:]},
    **{("payment", f"P023 / {m}"): "timing" for m in _PP3[1:]},
    ("credit", "P014 / 2026-03 / T1023"): "data",
    ("measure", "P014 / 2026-03 / revenue"): "data",
    ("incentive", "P014 / 2026-03 / commission"): "data",
    ("payment", "P014 / 2026-03"): "data",
    **{("credit", f"P030 / {m} / {t}"): "data"
       for m, t in (("2026-01", "T1007"), ("2026-02", "T1016"), ("2026-03", "T1027"))},
    **{("measure", f"P030 / {m} / overlay_revenue"): "data" for m in _PP3},
    **{("incentive", f"P030 / {m} / overlay-commission"): "data" for m in _PP3},
    **{("payment", f"P030 / {m}"): "data" for m in _PP3},
}  # fmt: skip
