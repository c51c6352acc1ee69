"""Operations: file intake with an archive, a run log in DuckDB, anomaly flags, period close.

``intake`` (files in, archived, quarantined), ``db`` (the operations database), ``runlog`` (runs
and steps recorded as they happen), ``anomalies`` (outlying steps), ``progress`` (progress display
and JSON step events), ``close`` and ``prior_period`` (closed periods and the adjustments posted
for them). See ``docs/operations.md``. The command line lives in :mod:`engine.ops.commands`.
"""
