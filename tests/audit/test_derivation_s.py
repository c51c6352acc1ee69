"""Scale S (1,000,000 transactions, 10,000 participants): every payout's explanation adds up.

One synth S company is generated and run once for the module (about 25 s on two quiet cores);
the batch derivation of every payout is checked level by level, a seeded sample of
participants' trees is compared with the batch rows, and a published copy of the run is
explained for a few of them without recomputing.
"""

from __future__ import annotations

import random
from pathlib import Path

import polars as pl
import pytest

from engine.audit.derivation import derivation
from engine.audit.explain import explain
from engine.audit.lineage import build_lineage
from engine.pipeline import RunResult, run, write

from .conftest import SYNTH_RULES
from .test_derivation import _assert_adds_up, _batch_rows, _tree_rows

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def synth_s(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RunResult]:
    from engine.synth import synthesize

    data = tmp_path_factory.mktemp("synth_s")
    synthesize(data, "S", seed=42)
    return data, run(data, SYNTH_RULES)


@pytest.fixture(scope="module")
def batch(synth_s: tuple[Path, RunResult]) -> pl.DataFrame:
    # every level but the credit lines behind measures (one row per line and measure: 7.6M
    # roll-up lines at S); those are compared on the sampled participants below
    return derivation(build_lineage(synth_s[1], credit_lines=False))


def _sample(result: RunResult, seed: int = 5) -> list[str]:
    """Seeded participants: sellers of each plan and managers with small teams."""
    links = result.credits.basis.chains.links
    team = links.group_by("manager_id").len()
    small = set(team.filter(pl.col("len") <= 60)["manager_id"].to_list())
    plans = result.calc.payouts.select("participant_id", "plan_id").unique().sort("*")
    rng = random.Random(seed)
    picked: list[str] = []
    for plan in sorted(set(plans["plan_id"].to_list())):
        people = plans.filter(pl.col("plan_id") == plan)["participant_id"].to_list()
        if plan == "MANAGER":
            people = [p for p in people if p in small]
        picked.extend(rng.sample(people, min(3, len(people))))
    return sorted(set(picked))


def test_every_synth_s_payout_adds_up_level_by_level(
    synth_s: tuple[Path, RunResult], batch: pl.DataFrame
) -> None:
    result = synth_s[1]
    pairs = _assert_adds_up(result, batch)
    assert pairs == result.calc.payouts.select("participant_id", "period").n_unique()
    assert pairs > 100_000
    assert batch.filter(pl.col("kind") == "measure").height > 0


def test_sampled_trees_equal_the_batch_rows(
    synth_s: tuple[Path, RunResult], batch: pl.DataFrame
) -> None:
    result = synth_s[1]
    pids = _sample(result)
    managers = result.calc.payouts.filter(pl.col("plan_id") == "MANAGER")["participant_id"]
    assert set(pids) & set(managers.to_list())
    lin = build_lineage(result, pids)
    assert lin.unreconciled.height == 0
    rows = derivation(lin)
    paid = result.calc.payouts.filter(pl.col("participant_id").is_in(pids))
    pairs = paid.select("participant_id", "period").unique().sort("*").rows()
    assert len(pairs) > len(pids)
    for pid, period in pairs:
        tree = _tree_rows(lin, pid, period)
        assert tree.equals(_batch_rows(rows, pid, period)), (pid, period)
        # the whole-run batch holds the same nodes, measures as values without their lines
        light = tree.filter(~pl.col("id").str.contains("/credit:")).with_columns(
            pl.when(pl.col("id").str.contains("/measure:[^/]*$") & (pl.col("op") == "sum"))
            .then(pl.lit("leaf"))
            .otherwise(pl.col("op"))
            .alias("op")
        )
        assert light.equals(_batch_rows(batch, pid, period)), (pid, period)


def test_a_published_s_run_explains_like_the_run(
    synth_s: tuple[Path, RunResult], tmp_path: Path
) -> None:
    from engine.audit.published import open_run, published_result

    data, result = synth_s
    write(result, tmp_path)
    published = open_run(tmp_path)
    pids = _sample(result, seed=11)[:4]
    lin = build_lineage(result, pids)
    for pid in pids:
        again = build_lineage(published_result(published, data, SYNTH_RULES, [pid]), [pid])
        for period in result.periods[::4]:
            want = explain(lin.select(pid, period), pid, period).to_dict()
            assert explain(again.select(pid, period), pid, period).to_dict() == want
