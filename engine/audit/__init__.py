"""The audit trail: every payout's derivation as data (lineage), explained and stated.

* :mod:`engine.audit.lineage`: the lineage frames, one per level, with parent keys;
* :mod:`engine.audit.explain`: one payout's derivation as a tree whose levels add up;
* :mod:`engine.audit.commands`: ``icm explain`` and ``icm statements``.

See ``docs/audit.md``.
"""
