"""Operations: file intake with an archive, a run log in DuckDB, and anomaly flags.

See ``docs/operations.md``. The command line lives in :mod:`engine.ops.commands`.
"""
